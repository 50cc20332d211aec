"""Overdue matters and late department replies, on the clock: each tick raises the alerts due
now (the owner's at the due time, the district supervisor's past the second limit), each once,
and hands them to whoever shows them (the log line here; `notify`: the supervisors' board, by
the composition root). Blocking work runs in a
worker thread; the controller's leader runs the tick."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from hotline.matters.lifecycle import Alert
from hotline.matters.service import MatterService, MatterView

log = logging.getLogger("hotline.matters")


class OverdueAlerts:
    def __init__(
        self,
        matters: MatterService,
        notify: Callable[[Alert, MatterView], None] | None = None,
    ) -> None:
        self.matters = matters
        self.notify = notify

    async def tick(self) -> None:
        for alert, matter in await asyncio.to_thread(self.matters.raise_alerts):
            log.warning(
                "event=matter.%s number=%s to=%s owner=%s district=%s due=%s",
                "overdue" if alert.kind == "overdue" else "handover-late",
                matter.number,
                alert.to,
                matter.owner or "pool",
                matter.district or "city",
                matter.due_at.isoformat(timespec="minutes"),
            )
            if self.notify is not None:
                self.notify(alert, matter)
