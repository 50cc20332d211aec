"""The IVR's after-hours "call me back": the flow's callback node books the first hour of the
next working interval through the matters service, and hears the slot said back
("tue 08:30-09:30", said as hours) and the matter's number."""

from __future__ import annotations

import asyncio
import logging
from zoneinfo import ZoneInfo

from hotline.matters.ownership import attributable
from hotline.matters.service import MatterError, MatterService
from ivr.runtime import SlotAsked
from routing.calendar import DAYS

log = logging.getLogger("hotline.matters")


class IvrCallbacks:
    def __init__(self, matters: MatterService) -> None:
        self.matters = matters

    async def book_slot(self, asked: SlotAsked) -> dict[str, str] | None:
        if not attributable(asked.caller):  # withheld: no number to call back
            return None
        return await asyncio.to_thread(self._book, asked)

    def _book(self, asked: SlotAsked) -> dict[str, str] | None:
        try:
            matter, start, end = self.matters.book_after_hours(
                asked.caller, asked.business, asked.district, asked.call_id
            )
        except (MatterError, ValueError) as exc:
            log.warning("event=callback.slot-refused call=%s reason=%r", asked.call_id, str(exc))
            return None
        zone = ZoneInfo(self.matters.directory.timezone)
        first, last = start.astimezone(zone), end.astimezone(zone)
        slot = f"{DAYS[first.weekday()]} {first:%H:%M}-{last:%H:%M}"
        log.info("event=callback.slot-booked call=%s matter=%s", asked.call_id, matter.number)
        return {"callback_slot": slot, "ticket": matter.number}
