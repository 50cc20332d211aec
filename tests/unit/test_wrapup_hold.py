"""The wrap-up hold survives a controller restart: who owes a code is rebuilt from the legs
and codes in the store (routing/wrapup.owed_wrap_ups, hotline/controller/wrapup_hold.py)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from hotline.controller.app import Controller
from hotline.controller.wrapup_hold import owed_at_start
from hotline.settings import load_directory, load_settings
from hotline.store.db import open_engine, session_factory
from hotline.store.models import Call, Leg, WrapUp
from routing.presence import State
from routing.wrapup import AnsweredLeg, owed_wrap_ups
from tests.conftest import REPO, write_config

NOW = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)  # 11:00 in Hangzhou, a Monday
MIN = timedelta(minutes=1)
AGENTS = frozenset({"1001", "1002", "2001", "2002"})


def test_an_agent_owes_the_code_of_the_last_call_they_answered_and_only_that() -> None:
    legs = [
        AnsweredLeg("1001", "A1", NOW - 30 * MIN),
        AnsweredLeg("1001", "A2", NOW - 10 * MIN),  # 1001's last: no code -> owes A2
        AnsweredLeg("1002", "B1", NOW - 40 * MIN),  # no code, but not 1002's last
        AnsweredLeg("1002", "B2", NOW - 5 * MIN),  # coded -> owes nothing
        AnsweredLeg("2001", "C1", NOW - 13 * 60 * MIN),  # before the 12 h look-back
        AnsweredLeg("2002", "D1", NOW - MIN),  # coded by another agent only (a transfer)
        AnsweredLeg("9999", "E1", NOW - MIN),  # not in the directory (any more)
    ]
    coded = {("A1", "1001"), ("B2", "1002"), ("D1", "2001")}
    assert owed_wrap_ups(legs, coded, AGENTS, NOW) == {"1001": "A2", "2002": "D1"}
    assert owed_wrap_ups([], coded, AGENTS, NOW) == {}


def leg(
    linkedid: str, agent: str, answered: datetime | None, ended: datetime | None, now: datetime
) -> Leg:
    return Leg(
        uniqueid=f"U{linkedid}{agent}",
        linkedid=linkedid,
        channel=f"PJSIP/agent{agent}-00000001",
        endpoint=f"agent{agent}",
        agent_id=agent,
        ring_at=now - 60 * MIN,
        answered_at=answered,
        ended_at=ended,
    )


def seed(sessions: sessionmaker[Session], now: datetime) -> None:
    with sessions() as s, s.begin():
        for linkedid in ("L1", "L2", "L3", "L4"):
            s.add(Call(linkedid=linkedid, caller_number="13800000001", started_at=now - 60 * MIN))
        s.add_all(
            [
                leg("L1", "1001", now - 20 * MIN, now - 15 * MIN, now),  # ended, no code: owes
                leg("L2", "1002", now - 20 * MIN, now - 15 * MIN, now),  # ended, coded: free
                leg("L3", "2001", None, now - 15 * MIN, now),  # rang, never answered: free
                leg("L4", "2002", now - 3 * MIN, None, now),  # still talking: owes it after
            ]
        )
        s.add(WrapUp(linkedid="L2", agent_id="1002", code="answered", at=now - 14 * MIN))


def test_the_store_says_who_owed_a_code_when_the_controller_stopped(tmp_path: Path) -> None:
    sessions = session_factory(open_engine(f"sqlite:///{tmp_path / 'h.db'}"))
    seed(sessions, NOW)
    agents = frozenset(load_directory(REPO / "config" / "seats.toml").agents)
    assert owed_at_start(sessions, agents, NOW) == {"1001": "L1", "2002": "L4"}


def test_a_restarted_controller_holds_those_agents_in_wrap_up_until_their_code(
    tmp_path: Path,
) -> None:
    required = write_config(tmp_path, extra="[routing]\nwrap_up_required = true")
    controller = Controller(load_settings(required))
    now = datetime.now(UTC)  # the controller reads the wall clock
    seed(controller.sessions, now)
    asyncio.run(controller.hold_owed_wrap_ups())
    presence = controller.presence
    presence.expire(now + timedelta(hours=1))  # the timed wrap-up is long over
    states = {a: presence.snapshot()[a].state for a in ("1001", "1002", "2001", "2002")}
    assert states == {
        "1001": State.WRAP_UP,
        "1002": State.AVAILABLE,
        "2001": State.AVAILABLE,
        "2002": State.WRAP_UP,
    }
    presence.wrapped_up("1001", now + timedelta(hours=1))
    assert presence.snapshot()["1001"].state is State.AVAILABLE
    # without wrap_up_required nobody is held, whatever the store says
    timed = Controller(load_settings(write_config(tmp_path / "timed")))
    seed(timed.sessions, now)
    asyncio.run(timed.hold_owed_wrap_ups())
    timed.presence.expire(now + timedelta(hours=1))
    assert timed.presence.snapshot()["1001"].state is State.AVAILABLE
