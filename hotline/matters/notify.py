"""One-time notification (一次性告知) sent to the citizen: a catalogue notice, by SMS, stored
with the matter. Blocking; run in a worker thread from async code.

The row is written before the sender is asked (the outbox), with an idempotency key made of
what is sent and why (the matter or call, the notice, the language, the number), so asking
twice for the same notice about the same matter sends it once; a failed one may be asked
again and is retried under the same key. Logs and the matter's history name the notice and
the masked number, never the number or the text.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from hotline.matters.notices import Catalogue
from hotline.matters.service import MatterError, MatterService
from hotline.matters.sms import SendFailed, Sms, SmsSender
from hotline.store.db import write
from hotline.store.models import Matter, NoticeSent
from ivr.masking import mask_number
from ivr.runtime import NoticeAsked

log = logging.getLogger("hotline.notices")


@dataclass(frozen=True)
class Sent:
    id: int
    notice: str
    status: str  # sent | failed
    sender: str
    attempts: int
    error: str
    again: bool  # this key was already sent: nothing was sent now


def idempotency_key(about: str, notice: str, language: str, number: str) -> str:
    raw = "\x1f".join((about, notice, language, number)).encode()
    return hashlib.sha256(raw).hexdigest()[:40]


class NoticeDesk:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        catalogue: Catalogue,
        sender: SmsSender,
        matters: MatterService,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.sessions = sessions
        self.catalogue = catalogue
        self.sender = sender
        self.matters = matters
        self.now = now

    def send(
        self,
        notice_id: str,
        actor: str,
        *,
        matter: str | None = None,
        number: str | None = None,
        language: str = "zh-CN",
        call: str = "",
    ) -> Sent:
        """Send `notice_id` to `number` (default: the matter's caller), stored with the matter
        when one is named (else with the call it was asked in)."""
        notice = self.catalogue.notices.get(notice_id)
        if notice is None:
            raise MatterError(f"no notice {notice_id!r} in the catalogue (hotline notices check)")
        _title, text = notice.in_language(language)
        matter_id = None
        if matter is not None:
            with self.sessions() as session:
                row = session.scalars(select(Matter).where(Matter.number == matter)).first()
                if row is None:
                    raise MatterError(f"no matter numbered {matter!r}")
                matter_id, number = row.id, number or row.caller_number
        to = (number or "").lstrip("+")
        if not to.isdigit() or not 5 <= len(to) <= 20:
            raise MatterError("a notice goes to a phone number (digits): none is known here")
        key = idempotency_key(matter or call, notice_id, language, to)
        row_id, already = self._outbox(
            matter_id, call or None, notice_id, language, to, text, key, actor
        )
        if already is not None:
            return already
        try:
            self.sender.send(Sms(to, text, key))
            status, error = "sent", ""
        except SendFailed as exc:
            status, error = "failed", str(exc)
        return self._settle(row_id, status, error, actor, matter_id, notice_id, language, to)

    async def from_ivr(self, asked: NoticeAsked) -> bool:
        """The IVR's notify node: the notice to the caller's number, stored with their open
        matter about the notice's business if they have one (else with the call). True when
        it was sent (now or before)."""
        return await asyncio.to_thread(self._from_ivr, asked)

    def _from_ivr(self, asked: NoticeAsked) -> bool:
        notice = self.catalogue.notices.get(asked.notice)
        if notice is None:
            log.error("event=notice.unknown call=%s notice=%s", asked.call_id, asked.notice)
            return False
        open_ = [m for m in self.matters.for_caller(asked.caller) if m.business == notice.business]
        try:
            sent = self.send(
                asked.notice,
                "ivr",
                matter=open_[0].number if open_ else None,
                number=asked.caller,
                language=asked.language,
                call=asked.call_id,
            )
        except MatterError as exc:  # no number to send to (withheld, anonymous)
            log.warning("event=notice.refused call=%s reason=%r", asked.call_id, str(exc))
            return False
        return sent.status == "sent"

    def _outbox(
        self,
        matter_id: int | None,
        linkedid: str | None,
        notice_id: str,
        language: str,
        to: str,
        text: str,
        key: str,
        actor: str,
    ) -> tuple[int, Sent | None]:
        """The outbox row for this key (new, or a failed one tried again); a Sent when the key
        was already delivered."""
        with write(self.sessions) as session:
            row = session.scalars(select(NoticeSent).where(NoticeSent.key == key)).first()
            if row is not None and row.status == "sent":
                return row.id, Sent(
                    row.id, row.notice, row.status, row.sender, row.attempts, row.error, True
                )
            if row is None:
                row = NoticeSent(
                    matter_id=matter_id,
                    linkedid=linkedid,
                    notice=notice_id,
                    language=language,
                    number=to,
                    text=text,
                    key=key,
                    created_at=self.now(),
                    created_by=actor,
                    status="pending",
                    attempts=0,
                    sender=self.sender.name,
                    error="",
                )
                session.add(row)
                session.flush()
            row.attempts += 1
            return row.id, None

    def _settle(
        self,
        row_id: int,
        status: str,
        error: str,
        actor: str,
        matter_id: int | None,
        notice_id: str,
        language: str,
        to: str,
    ) -> Sent:
        with write(self.sessions) as session:
            row = session.get(NoticeSent, row_id)
            assert row is not None  # written above, never deleted
            row.status, row.error = status, error
            row.sent_at = self.now() if status == "sent" else None
            if matter_id is not None:
                matter = session.get(Matter, matter_id)
                if matter is not None:
                    detail = f"{notice_id} ({language}) to {mask_number(to)} by {row.sender}"
                    self.matters.record(session, matter, actor, "notice", f"{detail}: {status}")
            sent = Sent(row.id, row.notice, row.status, row.sender, row.attempts, row.error, False)
        log.info(
            "event=notice.%s id=%d notice=%s sender=%s to=%s%s",
            status,
            row_id,
            notice_id,
            sent.sender,
            mask_number(to),
            f" reason={error!r}" if error else "",
        )
        return sent
