"""Live monitoring: listen (silent), whisper (only the agent hears), barge (three-way), by an
AMI Originate of ChanSpy to the supervisor's own phone.

Three steps kept apart: `may_monitor` applies the rule (pure), `chanspy_action` builds the
one AMI action from checked values only (pure), `MonitorDesk` performs it, follows the
session through AMI events (OriginateResponse, ChanSpyStart, ChanSpyStop, Hangup) and writes
every session, refused ones included, to the audit table.

During a session the supervisor switches mode from the phone with DTMF (ChanSpy's `d`
option: 4 listen, 5 whisper, 6 barge) or from the page (the session is ended and another
originated in the new mode, each written to the audit).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import re
import secrets
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any, ClassVar

from sqlalchemy.orm import Session, sessionmaker

from hotline.store.db import write
from hotline.store.models import MonitorSession
from hotline.supervisor.auth import PHONE, User
from hotline.supervisor.scope import scope_of

log = logging.getLogger("hotline.supervisor.monitor")

MODES = {"listen": "qdE", "whisper": "qdEw", "barge": "qdEB"}
# an agent's channel as Asterisk names it, e.g. PJSIP/agent1001-0000000a
SPIED_CHANNEL = re.compile(r"^PJSIP/[A-Za-z0-9_.-]{1,64}-[0-9a-f]{8}$")


class MonitorError(Exception):
    """A monitoring request is refused (one line, shown to the supervisor)."""


def may_monitor(user: User, agent_office: str, roles: tuple[str, ...]) -> str | None:
    """None when `user` may monitor an agent of `agent_office`, else why not."""
    if user.role not in roles:
        return f"role {user.role} may not monitor calls"
    if not scope_of(user).covers(agent_office):
        return f"a {user.district} supervisor may only monitor agents of {user.district}"
    if not user.phone:
        return "no phone is set for this user (hotline users add --phone)"
    return None


def chanspy_action(
    phone: str, spied: str, mode: str, action_id: str, number: str
) -> dict[str, str]:
    """The Originate headers; every value is checked against a strict pattern first, so
    nothing a caller or a browser sent can add options, targets or AMI headers. The
    supervisor's phone shows the hotline's `number` ([dialplan] number) and the mode."""
    if not re.fullmatch(r"[0-9]{1,20}", number):
        raise MonitorError("the hotline's number must be digits ([dialplan] number)")
    if not PHONE.match(phone):
        raise MonitorError(f"phone {phone!r} is not a dial string hotline accepts")
    if not SPIED_CHANNEL.match(spied):
        raise MonitorError("the call has no agent channel to monitor")
    if mode not in MODES:
        raise MonitorError(f"mode {mode!r}: expected listen, whisper or barge")
    if not re.fullmatch(r"[A-Za-z0-9-]{1,64}", action_id):
        raise MonitorError("bad action id")
    return {
        "Channel": phone,
        # the supervisor's channel gets the session's own id as its uniqueid: ChanSpyStart/
        # Stop (SpyerUniqueid) and Hangup (Uniqueid) then name the session they belong to
        "ChannelId": action_id,
        "Application": "ChanSpy",
        "Data": f"{spied},{MODES[mode]}",
        "CallerID": f'"{number} {mode}" <{number}>',
        "Timeout": "30000",
        "Async": "true",
        "ActionID": action_id,
    }


@dataclass
class Live:
    id: int  # the audit row
    user: str
    mode: str
    linkedid: str
    spied: str
    action_id: str  # also the uniqueid of the supervisor's channel (Originate ChannelId)
    spyer: str = ""  # the supervisor's channel, once Asterisk names it
    active: bool = False  # ChanSpy is running


SendAction = Callable[..., Awaitable[Any]]


class MonitorDesk:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        send: SendAction,
        roles: tuple[str, ...],
        on_change: Callable[[], None] = lambda: None,
        *,
        number: str,  # the hotline's number, shown on the supervisor's phone
    ) -> None:
        self.sessions = sessions
        self.send = send
        self.roles = roles
        self.number = number
        self.on_change = on_change
        self.live: dict[int, Live] = {}
        self._ids = itertools.count(1)

    def _audit(self, row: MonitorSession) -> int:
        with write(self.sessions) as s:
            s.add(row)
            s.flush()
            return row.id

    def _update(self, row_id: int, **values: object) -> None:
        with write(self.sessions) as s:
            row = s.get(MonitorSession, row_id)
            if row is not None:
                for key, value in values.items():
                    setattr(row, key, value)

    async def start(
        self,
        user: User,
        mode: str,
        linkedid: str,
        agent_id: str | None,
        agent_office: str,
        spied: str,
    ) -> Live:
        now = datetime.now(UTC)
        action_id = f"spy-{secrets.token_hex(8)}"
        row = MonitorSession(
            username=user.username,
            mode=mode if mode in MODES else "?",
            linkedid=linkedid[:64],
            agent_id=agent_id,
            spied_channel=spied[:120],
            phone=user.phone,
            action_id=action_id,
            requested_at=now,
        )
        refusal = may_monitor(user, agent_office, self.roles)
        try:
            if refusal is not None:
                raise MonitorError(refusal)
            headers = chanspy_action(user.phone, spied, mode, action_id, self.number)
        except MonitorError as exc:
            row.result = f"refused: {exc}"[:200]
            await asyncio.to_thread(self._audit, row)
            log.warning("event=monitor.refused user=%s reason=%r", user.username, str(exc))
            raise
        row_id = await asyncio.to_thread(self._audit, row)
        live = Live(row_id, user.username, mode, linkedid, spied, action_id)
        self.live[row_id] = live
        try:
            reply = await self.send("Originate", **{k: v for k, v in headers.items()})
        except Exception as exc:
            self.live.pop(row_id, None)
            await asyncio.to_thread(self._update, row_id, result=f"failed: {exc}"[:200])
            raise MonitorError(f"Asterisk did not take the request: {exc}") from None
        if not _success(reply):
            self.live.pop(row_id, None)
            await asyncio.to_thread(self._update, row_id, result="failed: originate refused")
            raise MonitorError("Asterisk refused the originate")
        log.info(
            "event=monitor.requested id=%d user=%s mode=%s call=%s",
            row_id,
            user.username,
            mode,
            linkedid,
        )
        self.on_change()
        return live

    async def end(self, user: User, session_id: int) -> None:
        live = self.live.get(session_id)
        if live is None:
            raise MonitorError("no such monitoring session")
        if live.user != user.username and not user.is_admin:
            raise MonitorError("this session belongs to another supervisor")
        # by name once known, else by the uniqueid we gave it (Hangup takes either): a phone
        # still ringing is stopped too, and only this session's phone is ever hung up
        await self.send("Hangup", Channel=live.spyer or live.action_id)

    def sessions_of(self, username: str) -> list[dict[str, object]]:
        return [
            {
                "id": s.id,
                "mode": s.mode,
                "linkedid": s.linkedid,
                "active": s.active,
                "ringing": not s.spyer,
            }
            for s in self.live.values()
            if s.user == username
        ]

    # --- events from Asterisk ---------------------------------------------------------------

    def on_event(self, event: Mapping[str, str]) -> None:
        handler = self._handlers.get(event.get("Event", ""))
        if handler is not None:
            handler(self, event)

    def _originated(self, event: Mapping[str, str]) -> None:
        live = next((s for s in self.live.values() if s.action_id == event.get("ActionID")), None)
        if live is None:
            return
        if event.get("Response") != "Success":
            self.live.pop(live.id, None)
            self._later(live.id, result=f"no answer: {event.get('Reason', '?')}")
            return
        live.spyer = live.spyer or event.get("Channel", "")
        self.on_change()

    def _own(self, uniqueid: str | None) -> Live | None:
        """The session whose supervisor channel has this uniqueid: matched on the channel we
        originated, never guessed from the spied call (two supervisors may spy on one)."""
        if not uniqueid:
            return None
        return next((s for s in self.live.values() if s.action_id == uniqueid), None)

    def _spy_started(self, event: Mapping[str, str]) -> None:
        spyee = event.get("SpyeeChannel", "")
        live = self._own(event.get("SpyerUniqueid"))
        if live is None:
            return
        live.active = True
        live.spyer = event.get("SpyerChannel", "") or live.spyer
        self._later(live.id, started_at=datetime.now(UTC), result="active")
        log.info("event=monitor.started id=%d spyer=%s spyee=%s", live.id, live.spyer, spyee)
        self.on_change()

    def _spy_ended(self, event: Mapping[str, str]) -> None:
        uniqueid = event.get("SpyerUniqueid") or event.get("Uniqueid")
        live = self._own(uniqueid)
        if live is None:
            return
        self.live.pop(live.id, None)
        self._later(live.id, ended_at=datetime.now(UTC), result="ended")
        log.info("event=monitor.ended id=%d", live.id)
        self.on_change()

    def _later(self, row_id: int, **values: object) -> None:
        """AMI callbacks must not block: the audit update runs off the loop, in one worker
        thread so that updates land in the order the events came (active, then ended)."""
        loop = asyncio.get_running_loop()
        task = loop.run_in_executor(_AUDIT_WRITER, partial(self._update, row_id, **values))
        _background.add(task)
        task.add_done_callback(_background.discard)

    _handlers: ClassVar[dict[str, Callable[[MonitorDesk, Mapping[str, str]], None]]] = {
        "OriginateResponse": _originated,
        "ChanSpyStart": _spy_started,
        "ChanSpyStop": _spy_ended,
        "Hangup": _spy_ended,
    }
    events: ClassVar[frozenset[str]] = frozenset(_handlers)  # the AMI events it reads


_AUDIT_WRITER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="monitor-audit")
_background: set[asyncio.Future[None]] = set()


async def audit_written() -> None:
    """Wait for the audit updates queued so far."""
    await asyncio.gather(*_background)


def _success(reply: Any) -> bool:
    first = reply[0] if isinstance(reply, list) and reply else reply
    getter = getattr(first, "get", None)
    return bool(getter and getter("Response") == "Success")
