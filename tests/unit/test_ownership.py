"""First-inquiry responsibility on a real SQLite database: the agent who FIRST answered the
caller's matter of the same business owns it; nobody owns an anonymous caller's matter; the
window and the rule are the configured ones. Each call below is written out by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from hotline.controller.routing_desk import RoutingDesk
from hotline.matters.ownership import Owner, matter_owner
from hotline.store.db import open_engine, session_factory, write
from hotline.store.models import Call, Leg, Matter, RouteDecision
from routing.directory import Agent, Directory, Office, Seat
from routing.presence import Presence
from routing.settings import OwnershipRule

NOW = datetime(2026, 12, 7, 4, 0, tzinfo=UTC)  # 12:00 in Hangzhou
CALLER = "13900001111"


def add_call(
    sessions: sessionmaker[Session],
    linkedid: str,
    caller: str,
    business: str,
    agent: str,
    ago: timedelta,
) -> None:
    at = NOW - ago
    with write(sessions) as session:
        session.add(
            Call(linkedid=linkedid, caller_number=caller, started_at=at, outcome="answered")
        )
        session.add(
            Leg(
                uniqueid=f"{linkedid}.1",
                linkedid=linkedid,
                channel=f"PJSIP/agent{agent}-1",
                endpoint=f"agent{agent}",
                agent_id=agent,
                ring_at=at,
                answered_at=at + timedelta(seconds=3),
                dial_status="ANSWER",
            )
        )
        session.add(
            RouteDecision(
                linkedid=linkedid, decided_at=at, business=business, chain="...", answered_by=agent
            )
        )


@pytest.fixture
def sessions(tmp_path: Path) -> sessionmaker[Session]:
    made = session_factory(open_engine(f"sqlite:///{tmp_path / 'h.db'}"))
    # the caller's history: pension first answered by 1002 six days ago, then by 1001 two
    # days ago; medical answered by 2001 yesterday; a withheld caller answered by 1001
    add_call(made, "c1", CALLER, "pension", "1002", timedelta(days=6))
    add_call(made, "c2", CALLER, "pension", "1001", timedelta(days=2))
    add_call(made, "c3", CALLER, "medical", "2001", timedelta(days=1))
    add_call(made, "c4", "anonymous", "pension", "1001", timedelta(hours=1))
    add_call(made, "c5", "", "pension", "1001", timedelta(hours=1))
    return made


def owner(
    sessions: sessionmaker[Session], caller: str, business: str, rule: OwnershipRule
) -> Owner | None:
    with sessions() as session:
        return matter_owner(session, caller, business, NOW, rule)


def test_the_owner_is_whoever_first_answered_the_matter_not_the_latest(
    sessions: sessionmaker[Session],
) -> None:
    found = owner(sessions, CALLER, "pension", OwnershipRule())
    assert found is not None and found.agent_id == "1002"  # c1, not c2
    answered = found.answered_at.replace(tzinfo=found.answered_at.tzinfo or UTC)
    assert answered == NOW - timedelta(days=6) + timedelta(seconds=3)


def test_the_owner_is_asked_first_only_for_the_same_business(
    sessions: sessionmaker[Session],
) -> None:
    medical = owner(sessions, CALLER, "medical", OwnershipRule())
    assert medical is not None and medical.agent_id == "2001"
    assert owner(sessions, CALLER, "employment", OwnershipRule()) is None


@pytest.mark.parametrize("caller", ["anonymous", "", "unknown", "Restricted", "王芳"])
def test_anonymous_and_withheld_callers_own_nothing(
    sessions: sessionmaker[Session], caller: str
) -> None:
    assert owner(sessions, caller, "pension", OwnershipRule()) is None


def test_the_window_and_the_rule_are_configurable(sessions: sessionmaker[Session]) -> None:
    # 3 days: c1 (6 days ago) is settled, c2 (2 days ago) is the first answer inside the window
    found = owner(sessions, CALLER, "pension", OwnershipRule(days=3))
    assert found is not None and found.agent_id == "1001"
    latest = owner(sessions, CALLER, "pension", OwnershipRule(rule="last"))
    assert latest is not None and latest.agent_id == "1001"
    assert owner(sessions, CALLER, "pension", OwnershipRule(rule="off")) is None
    assert owner(sessions, CALLER, "pension", OwnershipRule(days=0)) is None


def test_the_desk_writes_why_the_owner_is_asked_in_the_local_calendar_day(
    sessions: sessionmaker[Session],
) -> None:
    offices = {"city": Office("city", "市中心", "city")}
    agents = {"1002": Agent("1002", "李强", "s1002", "city", ("pension",))}
    d = Directory(offices, {"s1002": Seat("s1002", "city")}, agents)
    desk = RoutingDesk(d, Presence(d), sessions, now=lambda: NOW)
    found = desk.owner_of(CALLER, "pension")
    assert found is not None
    # answered 2026-12-01 04:00:03 UTC: 12:00 on the 1st in Hangzhou
    assert desk.owner_note(found) == "first answered 2026-12-01, pension"


def add_matter(
    sessions: sessionmaker[Session], number: str, business: str, owner: str, status: str = "open"
) -> None:
    with write(sessions) as session:
        session.add(
            Matter(
                number=number,
                caller_number=CALLER,
                business=business,
                owner=owner,
                status=status,
                created_at=NOW - timedelta(days=30),
                due_at=NOW,
                updated_at=NOW,
            )
        )


def test_an_open_matter_keys_the_first_inquiry_over_the_calls_however_old(
    sessions: sessionmaker[Session],
) -> None:
    # the calls say 1002 owns pension; the caller's open pension matter (30 days old, outside
    # the 7-day window of the calls) belongs to 2002, a closed one to 2001
    add_matter(sessions, "2611070001", "pension", "2001", status="closed")
    add_matter(sessions, "2611070002", "pension", "2002")
    found = owner(sessions, CALLER, "pension", OwnershipRule())
    assert found is not None
    assert (found.agent_id, found.matter) == ("2002", "2611070002")
    # asking about a business without a matter of its own: still the newest open matter's owner
    other = owner(sessions, CALLER, "employment", OwnershipRule())
    assert other is not None and (other.agent_id, other.business) == ("2002", "pension")
    # "off" turns first inquiry off altogether
    assert owner(sessions, CALLER, "pension", OwnershipRule(rule="off")) is None


def test_the_desk_names_the_matter_when_the_owner_comes_from_one(
    sessions: sessionmaker[Session],
) -> None:
    add_matter(sessions, "2611070002", "pension", "2002")
    d = Directory({"city": Office("city", "市中心", "city")})
    desk = RoutingDesk(d, Presence(d), sessions, now=lambda: NOW)
    found = desk.owner_of(CALLER, "pension")
    assert found is not None
    # opened 2026-11-07 04:00 UTC: 12:00 in Hangzhou
    assert desk.owner_note(found) == "owner of matter 2611070002 opened 2026-11-07, pension"
