"""The ticket desk: a voice message, complaint or report left in the IVR becomes a matter on
the spot, owned by routing policy (the district's post A for the business the caller last
asked about, else the pool) with a due time; the ticket number the caller hears is the
matter's number. The ticket row stays beside it: the recordings catalogue keeps a call's
recording as long as its tickets' categories say.

A message shorter than a second is neither.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from hotline.matters.service import MatterService, NewMatter
from hotline.store.db import write
from hotline.store.models import Ticket
from ivr.runtime import MessageSaved
from recordings.wav import NotAWav, wav_info

log = logging.getLogger("hotline.tickets")

MIN_SECONDS = 1.0
# the IVR's message kinds -> the matter's channel (its category keeps the IVR's word)
CHANNEL_OF = {"message": "ivr_message", "complaint": "complaint", "report": "report"}


class TicketDesk:
    def __init__(
        self, sessions: sessionmaker[Session], recordings: Path, matters: MatterService
    ) -> None:
        self.sessions = sessions
        self.recordings = recordings
        self.matters = matters

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
        category = message.category if message.category in CHANNEL_OF else "message"
        new = NewMatter(
            caller_number=message.caller,
            business=message.business,
            district=message.district,
            category=category,
            channel=CHANNEL_OF[category],
            summary=f"IVR {category}: recording {path.name} ({seconds:.0f} s)",
            linkedid=message.call_id,
        )
        with write(self.sessions) as session:
            matter = self.matters.create_in(session, new, "ivr")
            session.add(
                Ticket(
                    number=matter.number,
                    linkedid=message.call_id,
                    caller_number=message.caller,
                    category=message.category,
                    recording=path.name,
                    seconds=seconds,
                    created_at=matter.created_at,
                )
            )
            log.info(
                "event=matter.created number=%s call=%s owner=%s",
                matter.number,
                message.call_id,
                matter.owner or "pool",
            )
            return matter.number
