"""The ticket desk: a voice message left in the IVR becomes a numbered ticket.

The number is said back to the caller, so it is digits only: the date and a daily counter
from the database (e.g. 2611270004). A message shorter than a second is not a ticket.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from hotline.store.db import write
from hotline.store.models import Ticket
from ivr.runtime import MessageSaved
from recordings.wav import NotAWav, wav_info

log = logging.getLogger("hotline.tickets")

MIN_SECONDS = 1.0


class TicketDesk:
    def __init__(self, sessions: sessionmaker[Session], recordings: Path) -> None:
        self.sessions = sessions
        self.recordings = recordings

    async def open_ticket(self, message: MessageSaved) -> str | None:
        return await asyncio.to_thread(self._open, message)

    def _open(self, message: MessageSaved) -> str | None:
        path = self.recordings / f"{message.file}.wav"
        try:
            seconds = wav_info(path).seconds
        except (OSError, NotAWav) as exc:
            log.warning(
                "event=message.unreadable call=%s file=%s reason=%r",
                message.call_id,
                path,
                str(exc),
            )
            return None
        if seconds < MIN_SECONDS:
            return None
        now = datetime.now(UTC)
        with write(self.sessions) as session:
            ticket = Ticket(
                linkedid=message.call_id,
                caller_number=message.caller,
                category=message.category,
                recording=path.name,
                seconds=seconds,
                created_at=now,
            )
            session.add(ticket)
            session.flush()
            ticket.number = f"{now:%y%m%d}{ticket.id:04d}"
            return ticket.number
