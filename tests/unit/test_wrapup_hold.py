"""The wrap-up hold survives a controller restart (issue 18): a code owed is stored when the
agent's leg is answered under `[routing] wrap_up_required` (wrap_up_owed, revision 0008) and
cleared when the agent enters a code; a controller that starts holds exactly the agents who owe
one (routing/wrapup.held_at_start), never for a call answered before the rule was on."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from hotline.controller.app import Controller
from hotline.settings import load_settings
from hotline.store import wrapup_owed
from hotline.store.db import open_engine, session_factory, write
from hotline.store.models import Call, Leg, WrapUp, WrapUpOwed
from hotline.supervisor.desk_store import save_wrap_up
from routing.presence import State
from routing.wrapup import WrapUpPolicy, held_at_start
from tests.conftest import write_config

NOW = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)  # 11:00 in Hangzhou, a Monday
MIN = timedelta(minutes=1)
AGENTS = frozenset({"1001", "1002", "2001", "2002"})


def test_a_started_controller_holds_exactly_the_agents_who_owe_a_code() -> None:
    owed = [
        ("1001", "A1", NOW - 30 * MIN),
        ("1001", "A2", NOW - 10 * MIN),  # 1001 owes two (a call put straight through): the later
        ("2002", "D1", NOW - MIN),
        ("9999", "E1", NOW - MIN),  # not in the seat directory (any more)
    ]
    assert held_at_start(owed, AGENTS, required=True) == {"1001": "A2", "2002": "D1"}
    assert held_at_start(reversed(owed), AGENTS, required=True) == {"1001": "A2", "2002": "D1"}
    assert held_at_start(owed, AGENTS, required=False) == {}
    assert held_at_start([], AGENTS, required=True) == {}


def sessions_at(tmp_path: Path) -> sessionmaker[Session]:
    return session_factory(open_engine(f"sqlite:///{tmp_path / 'h.db'}"))


def answered_call(sessions: sessionmaker[Session], linkedid: str, agent: str, at: datetime) -> None:
    with write(sessions) as s:
        s.add(Call(linkedid=linkedid, caller_number="13800000001", started_at=at - MIN))
        s.add(
            Leg(
                uniqueid=f"U{linkedid}",
                linkedid=linkedid,
                channel=f"PJSIP/agent{agent}-00000001",
                endpoint=f"agent{agent}",
                agent_id=agent,
                ring_at=at - MIN / 2,
                answered_at=at,
                ended_at=at + 2 * MIN,
            )
        )


def owed_rows(sessions: sessionmaker[Session]) -> set[tuple[str, str]]:
    with sessions() as s:
        return {(a, b) for a, b in s.execute(select(WrapUpOwed.agent_id, WrapUpOwed.linkedid))}


def test_the_code_owed_is_stored_once_and_cleared_by_the_agents_code(tmp_path: Path) -> None:
    sessions = sessions_at(tmp_path)
    answered_call(sessions, "L1", "1001", NOW - 20 * MIN)
    answered_call(sessions, "L2", "1002", NOW - 20 * MIN)
    for _ in range(2):  # two controllers follow the same call: one row
        with write(sessions) as s:
            wrapup_owed.owe("L1", "1001", NOW - 20 * MIN)(s)
    with write(sessions) as s:
        wrapup_owed.owe("L2", "1002", NOW - 20 * MIN)(s)
    assert sorted(wrapup_owed.owed(sessions)) == [
        ("1001", "L1", NOW - 20 * MIN),
        ("1002", "L2", NOW - 20 * MIN),
    ]
    save_wrap_up(sessions, WrapUpPolicy(required=True), "1001", "L1", "answered", "", NOW)
    assert owed_rows(sessions) == {("1002", "L2")}  # 1001's code settles only 1001's
    # a write that waited in the queue past the agent's code owes nothing
    with write(sessions) as s:
        wrapup_owed.owe("L1", "1001", NOW - 20 * MIN)(s)
    assert owed_rows(sessions) == {("1002", "L2")}
    assert wrapup_owed.forgive(sessions) == 1
    assert owed_rows(sessions) == set()


def seed(sessions: sessionmaker[Session], now: datetime) -> None:
    """1001 owes L1's code; 1002 answered L2 before codes were required (a leg without a code,
    and nothing owed: the case that held agents wrongly when the hold was rebuilt from legs);
    2002 answered L4 under the rule and entered its code."""
    answered_call(sessions, "L1", "1001", now - 20 * MIN)
    answered_call(sessions, "L2", "1002", now - 20 * MIN)
    answered_call(sessions, "L4", "2002", now - 20 * MIN)
    with write(sessions) as s:
        wrapup_owed.owe("L1", "1001", now - 20 * MIN)(s)
        wrapup_owed.owe("L4", "2002", now - 20 * MIN)(s)
    save_wrap_up(sessions, WrapUpPolicy(), "2002", "L4", "answered", "", now - 15 * MIN)


def states(controller: Controller, now: datetime) -> dict[str, State]:
    presence = controller.presence
    presence.expire(now + timedelta(hours=1))  # any timed wrap-up is long over
    return {a: presence.snapshot()[a].state for a in sorted(AGENTS)}


def test_a_restarted_controller_holds_the_agent_who_owes_a_code_until_it_is_entered(
    tmp_path: Path,
) -> None:
    required = write_config(tmp_path, extra="[routing]\nwrap_up_required = true")
    controller = Controller(load_settings(required))
    now = datetime.now(UTC)  # the controller reads the wall clock
    seed(controller.sessions, now)
    asyncio.run(controller.hold_owed_wrap_ups())
    assert states(controller, now) == {
        "1001": State.WRAP_UP,
        "1002": State.AVAILABLE,
        "2001": State.AVAILABLE,
        "2002": State.AVAILABLE,
    }
    controller.presence.wrapped_up("1001", now + timedelta(hours=1))
    assert controller.presence.snapshot()["1001"].state is State.AVAILABLE


def test_a_controller_started_without_the_rule_holds_nobody_and_forgives_what_was_owed(
    tmp_path: Path,
) -> None:
    timed = Controller(load_settings(write_config(tmp_path)))
    now = datetime.now(UTC)
    seed(timed.sessions, now)
    asyncio.run(timed.hold_owed_wrap_ups())
    assert set(states(timed, now).values()) == {State.AVAILABLE}
    assert owed_rows(timed.sessions) == set()  # switching the rule on later holds no one
    with timed.sessions() as s:
        assert len(s.scalars(select(WrapUp)).all()) == 1  # the codes entered stay
