"""Secure pause: the call's recording is muted while a caller keys a secret (a PIN), and,
if configured, while the IVR reads an ID number back; each muted span is kept for the
recording's catalogue entry (`muted: [[12.3, 19.8, "pin"]]`).

The recording itself is Asterisk's MixMonitor (started by the dialplan at answer); hotline
only drives it, with the AMI action `MixMonitorMute` on the caller's channel:

    keying a secret   Direction=read   what the caller sends: in-band DTMF tones are audio,
                                      and would otherwise stay in the caller and mixed tracks
    read-back of ID   Direction=both   the IVR says the number too

The recording goes on (silence is written for the muted side), so it still covers the whole
call and its length checks hold. A mute that Asterisk does not confirm is logged and the call
goes on: the caller is served either way, and no span is listed that was not muted. A caller
who hangs up while keying leaves a span that ends there (the channel is gone: no unmute).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from hotline.store.models import MutedSpan

log = logging.getLogger("hotline.recordings")

KEYED_KINDS = frozenset({"pin", "secret"})  # muted while keyed
READBACK_KINDS = frozenset({"id", "phone"})  # muted while read back, when configured

SendAction = Callable[..., Awaitable[Any]]
Submit = Callable[[str, Callable[[Session], None]], None]


@dataclass(frozen=True)
class PausePolicy:
    enabled: bool = True
    readback: bool = False  # also while an ID (or phone number) is read back

    def direction(self, kind: str, readback: bool) -> str | None:
        """The MixMonitorMute direction for a sensitive step, or None: not muted."""
        if not self.enabled or not kind:
            return None
        if readback:
            return "both" if self.readback and kind in READBACK_KINDS | KEYED_KINDS else None
        return "read" if kind in KEYED_KINDS else None


class AmiRecordingPause:
    """Mutes through the AMI of the Asterisk box the call is on; keeps each span (the flow
    runtime's `ivr.ports.RecordingPause`)."""

    def __init__(
        self,
        policy: PausePolicy,
        send: Mapping[str, SendAction],
        submit: Submit,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.policy = policy
        self.send = send  # site -> AmiClient.action
        self.submit = submit  # the write-behind store
        self.now = now

    def direction(self, kind: str, readback: bool) -> str | None:
        return self.policy.direction(kind, readback)

    async def _mute(self, site: str, channel: str, direction: str, on: bool) -> bool:
        send = self.send.get(site)
        if send is None or not channel:
            return False
        try:
            reply = await send(
                "MixMonitorMute", Channel=channel, Direction=direction, State="1" if on else "0"
            )
        except Exception as exc:  # AMI away or slow: the caller is served all the same
            log.warning("event=recording.pause-failed on=%s reason=%r", on, str(exc))
            return False
        first = reply[0] if isinstance(reply, list) and reply else reply
        ok = bool(getattr(first, "get", None) and first.get("Response") == "Success")
        if not ok:
            log.warning("event=recording.pause-refused on=%s", on)
        return ok

    @contextlib.asynccontextmanager
    async def span(
        self, call_id: str, site: str, channel: str, kind: str, direction: str
    ) -> AsyncIterator[None]:
        muted = await self._mute(site, channel, direction, True)
        started = self.now()  # Asterisk confirmed: from here the recording is silent
        try:
            yield
        except BaseException:  # the caller hung up while keying: nothing left to unmute
            if muted:
                self._keep(call_id, started, self.now(), kind)
            raise
        ended = self.now()  # before the unmute is sent: silent up to here at least
        if muted:
            if not await self._mute(site, channel, direction, False):
                # the rest of the call may stay silent; the span listed is the sure part
                log.warning("event=recording.left-muted call=%s", call_id)
            self._keep(call_id, started, ended, kind)

    def _keep(self, call_id: str, started: datetime, ended: datetime, kind: str) -> None:
        row = MutedSpan(linkedid=call_id, started_at=started, ended_at=ended, kind=kind)

        def job(session: Session) -> None:
            session.add(row)

        self.submit("recording_mute", job)
        log.info("event=recording.paused call=%s kind=%s", call_id, kind)
