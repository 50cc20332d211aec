"""A callback booked about a matter for a slot is placed once, from the slot's start, by the
same dispatcher as the line's callbacks, rings the matter's owner first, and its answer closes
the matter (the citizen was told). Clock controlled; Asterisk is a scripted AMI."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from hotline.controller.callbacks import CallbackDispatcher
from hotline.controller.routing_desk import RoutingDesk
from hotline.matters.service import MatterService, NewMatter
from hotline.pbx.dialplan import CALLBACK_EVENT
from hotline.settings import load_settings
from hotline.store.db import open_engine, session_factory
from routing.presence import Presence
from routing.queueing import QueuePolicy
from tests.conftest import REPO

SETTINGS = load_settings(REPO / "config" / "hotline.toml")
ZONE = ZoneInfo("Asia/Shanghai")
CALLER = "057187001234"


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at.astimezone(UTC)  # as the controller's clock: stored times are UTC


class Ami:
    logged_in = True

    def __init__(self) -> None:
        self.originated: list[dict[str, Any]] = []

    async def action(self, name: str, **headers: Any) -> Any:
        self.originated.append(headers)
        return [{"Event": "OriginateResponse", "Response": "Success", "Uniqueid": "1800.1"}]


def test_a_slot_callback_rings_the_owner_once_at_its_time_and_its_answer_closes_the_matter(
    tmp_path: Path,
) -> None:
    clock = Clock(datetime(2026, 11, 23, 10, 0, tzinfo=ZONE))  # a Monday
    sessions = session_factory(open_engine(f"sqlite:///{tmp_path / 'h.db'}"))
    m = SETTINGS.matters
    matters = MatterService(sessions, SETTINGS.directory, m.departments, m.due, now=clock)
    # a Xihu caller's complaint about pensions: pension-xihu's A, agent 2001, owns it
    matter = matters.create(
        NewMatter(CALLER, "pension", "xihu", "complaint", "complaint", linkedid="1795.1"), "ivr"
    )
    assert matter.owner == "2001"
    matters.take(matter.number, "2001")
    slot = datetime(2026, 11, 23, 14, 0, tzinfo=ZONE)
    callback_id = matters.book_callback(matter.number, "2001", slot)
    desk = RoutingDesk(
        SETTINGS.directory,
        Presence(SETTINGS.directory),
        sessions=sessions,
        now=clock,
        queue=QueuePolicy(enabled=False),
    )
    ami = Ami()
    dispatcher = CallbackDispatcher(
        desk,
        ami,
        sessions,
        '"12333" <12333>',
        on_outcome=matters.callback_outcome,  # type: ignore[arg-type]
    )

    async def main() -> None:
        clock.at = slot - timedelta(seconds=1)
        await dispatcher.tick()
        assert ami.originated == []  # not before its slot
        clock.at = slot
        await dispatcher.tick()
        assert len(ami.originated) == 1
        assert ami.originated[0]["Channel"] == "PJSIP/agent2001"  # the owner first
        dispatcher.on_result(
            {
                "Event": "UserEvent",
                "UserEvent": CALLBACK_EVENT,
                "Id": str(callback_id),
                "Status": "ANSWER",
                "Talk": "40",
                "Linkedid": "1800.1",
            }
        )
        while dispatcher.tasks:
            await asyncio.sleep(0.02)
        clock.at = slot + timedelta(minutes=10)
        await dispatcher.tick()
        assert len(ami.originated) == 1  # placed once

    asyncio.run(main())
    detail = matters.get(matter.number)
    assert (detail.matter.status, detail.matter.told) == ("closed", "callback")
    assert [e.kind for e in detail.events][-3:] == ["callback_booked", "callback", "closed"]
