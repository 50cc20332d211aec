"""The matters service on a real SQLite database at the newest revision: raising a matter
(owner by first inquiry or routing policy, due time), the hand-over to a department and its
reply, closing only after the citizen was told, callbacks for a slot and their outcome, lists
by caller/owner/scope, and overdue alerts with a controlled clock. Expected values are worked
out by hand from the directory and calendar written here."""

from __future__ import annotations

import asyncio
import wave
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from hotline.matters.departments import Department
from hotline.matters.ivr_callbacks import IvrCallbacks
from hotline.matters.lifecycle import DuePolicy, DueRule
from hotline.matters.service import MatterError, MatterService, NewMatter, Scope
from hotline.matters.tickets import TicketDesk
from hotline.store.db import open_engine, session_factory
from hotline.store.models import Callback, MatterEvent, Ticket
from ivr.runtime import MessageSaved, SlotAsked
from routing.calendar import Calendar, parse_span
from routing.directory import Agent, Directory, Office, Post, Seat

ZONE = ZoneInfo("Asia/Shanghai")
CALLER = "13900002222"
OTHER = "13900003333"


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=ZONE)


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


DIRECTORY = Directory(
    offices={
        "city": Office("city", "市中心", "city"),
        "xihu": Office("xihu", "西湖区", "district"),
        "binjiang": Office("binjiang", "滨江区", "district"),
    },
    seats={s: Seat(s, o) for s, o in [("s1001", "city"), ("s2001", "xihu"), ("s2002", "xihu")]},
    agents={
        "1001": Agent("1001", "王芳", "s1001", "city"),
        "2001": Agent("2001", "陈静", "s2001", "xihu"),
        "2002": Agent("2002", "刘洋", "s2002", "xihu"),
    },
    posts={"pension-xihu": Post("pension-xihu", "pension", "xihu", "2001", "2002")},
    calendar=Calendar(
        (parse_span("mon-fri 08:30-12:00"), parse_span("mon-fri 13:30-17:00")),
        holidays=frozenset({date(2026, 12, 9)}),
    ),
)
DEPARTMENTS = {
    "social-insurance-xihu": Department("social-insurance-xihu", "西湖区社保中心", district="xihu")
}
POLICY = DuePolicy(
    rules={"consultation": DueRule(), "complaint": DueRule(working_days=5)},
    escalate_after_hours=8,
)


@pytest.fixture
def clock() -> Clock:
    return Clock(local("2026-12-07T10:00"))  # a Monday


@pytest.fixture
def sessions(tmp_path: Path) -> sessionmaker[Session]:
    return session_factory(open_engine(f"sqlite:///{tmp_path / 'h.db'}"))


@pytest.fixture
def service(sessions: sessionmaker[Session], clock: Clock) -> MatterService:
    return MatterService(sessions, DIRECTORY, DEPARTMENTS, POLICY, now=clock)


def complaint(service: MatterService, district: str = "xihu") -> str:
    new = NewMatter(
        CALLER,
        business="pension",
        district=district,
        category="complaint",
        channel="complaint",
        linkedid="call-1",
    )
    return service.create(new, "ivr").number


def test_an_ivr_complaint_gets_the_districts_post_a_as_owner_a_number_and_a_due_time(
    service: MatterService,
) -> None:
    number = complaint(service)
    detail = service.get(number)
    m = detail.matter
    assert number == "2612070001"  # the local day and the first row's id
    assert (m.owner, m.status, m.channel) == ("2001", "open", "complaint")
    # 5 working days from Mon 10:00, Wed 9th off: Tue, Thu, Fri, Mon 14th, Tue 15th
    assert m.due_at == local("2026-12-15T17:00")
    assert detail.calls == ["call-1"]
    assert [(e.actor, e.kind, e.detail) for e in detail.events] == [
        ("ivr", "created", "complaint, owner 2001")
    ]
    assert m.caller_masked == "139****2222"


def test_a_district_without_a_post_for_the_business_leaves_it_to_the_pool(
    service: MatterService,
) -> None:
    number = complaint(service, district="binjiang")
    assert service.get(number).matter.owner is None


def test_the_agent_who_took_the_call_owns_it_and_only_an_audited_assignment_changes_that(
    service: MatterService,
) -> None:
    new = NewMatter(CALLER, business="pension", district="xihu", owner="1001")
    number = service.create(new, "1001").number
    assert service.get(number).matter.owner == "1001"
    with pytest.raises(MatterError, match="needs a reason"):
        service.assign(number, "admin", "2002", " ")
    with pytest.raises(MatterError, match="not an agent"):
        service.assign(number, "admin", "9999", "x")
    service.assign(number, "admin", "2002", "1001 moved to the city desk")
    detail = service.get(number)
    assert detail.matter.owner == "2002"
    assert detail.events[-1].detail == "1001 -> 2002: 1001 moved to the city desk"


def test_hand_over_reply_and_close_only_after_the_citizen_was_told(
    service: MatterService, clock: Clock
) -> None:
    number = complaint(service)
    service.take(number, "2001")
    with pytest.raises(MatterError, match="unknown department 'nope'"):
        service.hand_over(number, "2001", "nope", "?")
    handover = service.hand_over(number, "2001", "social-insurance-xihu", "转移接续进度？")
    assert handover.due_at == local("2026-12-15T17:00")  # the complaint rule from now
    with pytest.raises(MatterError, match="cannot close a matter that is handed_over"):
        service.close(number, "2001", "reason", "told")
    clock.at = local("2026-12-08T09:00")
    assert service.to_tell("2001") == []
    service.reply(number, "dept-xihu", "已于12月8日办结")
    assert [m.number for m in service.to_tell("2001")] == [number]  # the owner's reminder
    detail = service.get(number)
    assert detail.matter.status == "answered"
    assert detail.handovers[0].reply == "已于12月8日办结"
    assert detail.handovers[0].replied_at == local("2026-12-08T09:00")
    with pytest.raises(MatterError, match="after the citizen was told"):
        service.close(number, "2001", "reason", "")
    closed = service.close(number, "2001", "reason", "phoned the citizen from the desk")
    assert service.to_tell("2001") == []
    assert (closed.status, closed.told) == ("closed", "reason")
    assert closed.closed_at == local("2026-12-08T09:00")
    kinds = [e.kind for e in service.get(number).events]
    assert kinds == ["created", "taken", "handed_over", "replied", "closed"]


def test_a_callback_for_a_slot_is_a_pending_callback_from_the_slot_and_closes_on_answer(
    service: MatterService, sessions: sessionmaker[Session]
) -> None:
    number = complaint(service)
    service.take(number, "2001")
    with pytest.raises(MatterError, match="inside the office hours"):
        service.book_callback(number, "2001", local("2026-12-07T12:30"))
    with pytest.raises(MatterError, match="in the past"):
        service.book_callback(number, "2001", local("2026-12-07T09:00"))
    slot = local("2026-12-08T14:00")
    callback_id = service.book_callback(number, "2001", slot, slot + timedelta(minutes=30))
    with sessions() as session:
        row = session.get(Callback, callback_id)
        assert row is not None
        assert (row.status, row.number, row.agent_id, row.post) == (
            "pending",
            CALLER,
            "2001",
            "pension-xihu",
        )
        assert row.next_attempt_at.replace(tzinfo=UTC) == slot
    service.callback_outcome(callback_id, "NOANSWER")
    assert service.get(number).matter.status == "in_progress"
    service.callback_outcome(callback_id, "ANSWER")
    detail = service.get(number)
    assert (detail.matter.status, detail.matter.told) == ("closed", "callback")
    assert detail.callbacks == [callback_id]
    assert [e.detail for e in detail.events if e.kind == "callback"] == [
        f"#{callback_id} NOANSWER",
        f"#{callback_id} ANSWER",
    ]


def test_lists_by_caller_owner_and_district_scope(service: MatterService) -> None:
    a = complaint(service)
    b = complaint(service, district="binjiang")
    c = service.create(NewMatter(OTHER, "pension", "xihu"), "ivr").number
    service.close(c, "2001", "reason", "answered in the call")
    assert [m.number for m in service.for_caller(CALLER)] == [b, a]
    assert service.for_caller("") == []
    assert [m.number for m in service.for_owner("2001")] == [a]
    assert [m.number for m in service.for_owner("2001", open_only=False)] == [c, a]
    assert [m.number for m in service.search(Scope("xihu"))] == [c, a]
    assert [m.number for m in service.search(Scope("xihu"), status="closed")] == [c]


def test_overdue_alerts_go_once_to_the_owner_then_to_the_district_supervisor(
    service: MatterService, clock: Clock, sessions: sessionmaker[Session]
) -> None:
    number = service.create(NewMatter(CALLER, "pension", "xihu"), "ivr").number  # due Mon 17:00
    clock.at = local("2026-12-07T16:59")
    assert service.raise_alerts() == []
    clock.at = local("2026-12-07T17:00")
    assert [(a.to, m.number) for a, m in service.raise_alerts()] == [("owner", number)]
    assert service.raise_alerts() == []  # once
    assert [m.number for m in service.search(overdue=True)] == [number]
    # 8 working hours after Mon 17:00: all of Tue (7 h), Wed is a holiday, Thu 08:30 + 1 h
    clock.at = local("2026-12-10T09:29")
    assert service.raise_alerts() == []
    clock.at = local("2026-12-10T09:30")
    assert [(a.to, m.district) for a, m in service.raise_alerts()] == [("supervisor", "xihu")]
    assert service.raise_alerts() == []
    with sessions() as session:
        kinds = session.scalars(select(MatterEvent.kind).order_by(MatterEvent.id)).all()
    assert kinds == ["created", "alert_owner", "alert_supervisor"]


def test_an_after_hours_callback_request_is_a_matter_and_a_callback_at_the_next_opening(
    service: MatterService, clock: Clock, sessions: sessionmaker[Session]
) -> None:
    clock.at = local("2026-12-08T18:30")  # Tuesday evening; Wednesday the 9th is a holiday
    matter, start, end = service.book_after_hours(CALLER, "pension", "xihu", "call-9")
    assert (start, end) == (local("2026-12-10T08:30"), local("2026-12-10T09:30"))
    assert (matter.owner, matter.channel, matter.first_linkedid) == (
        "2001",
        "ivr_message",
        "call-9",
    )
    (callback_id,) = service.get(matter.number).callbacks
    with sessions() as session:
        row = session.get(Callback, callback_id)
        assert row is not None and row.next_attempt_at.replace(tzinfo=UTC) == start
        assert row.slot_end is not None and row.slot_end.replace(tzinfo=UTC) == end


def test_the_ivr_gets_the_slot_to_say_and_a_withheld_caller_gets_none(
    service: MatterService, clock: Clock
) -> None:
    clock.at = local("2026-12-08T18:30")
    desk = IvrCallbacks(service)
    booked = asyncio.run(desk.book_slot(SlotAsked("call-9", CALLER, "pension", "xihu")))
    assert booked is not None and booked["callback_slot"] == "thu 08:30-09:30"
    assert booked["ticket"] == service.for_caller(CALLER)[0].number
    assert asyncio.run(desk.book_slot(SlotAsked("call-10", "anonymous", "pension", ""))) is None


def test_an_ivr_message_becomes_a_matter_whose_number_is_the_tickets_and_closes_it_too(
    service: MatterService, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    with wave.open(str(tmp_path / "msg-1795.7-1.wav"), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\x00\x00" * 8000 * 2)  # two seconds
    desk = TicketDesk(sessions, tmp_path, service)
    saved = MessageSaved("1795.7", CALLER, "complaint", "msg-1795.7-1", "pension", "xihu")
    number = asyncio.run(desk.open_ticket(saved))
    assert number is not None
    m = service.get(number).matter
    assert (m.owner, m.channel, m.category, m.first_linkedid) == (
        "2001",
        "complaint",
        "complaint",
        "1795.7",
    )
    with sessions() as session:
        (ticket,) = session.scalars(select(Ticket)).all()
        assert (ticket.number, ticket.status, ticket.category) == (number, "open", "complaint")
    service.close(number, "2001", "reason", "phoned back")
    with sessions() as session:
        assert session.scalars(select(Ticket.status)).one() == "closed"


def test_a_department_reply_past_the_hand_overs_due_time_alerts_the_owner_then_the_supervisor(
    service: MatterService, clock: Clock, sessions: sessionmaker[Session]
) -> None:
    number = complaint(service)  # the complaint itself is due Tue 2026-12-15 17:00
    service.hand_over(number, "2001", "social-insurance-xihu", "进度？", local("2026-12-08T12:00"))
    clock.at = local("2026-12-08T11:59")
    assert service.raise_alerts() == []
    clock.at = local("2026-12-08T12:00")
    assert [(a.kind, a.to, m.owner) for a, m in service.raise_alerts()] == [
        ("handover", "owner", "2001")
    ]
    assert service.raise_alerts() == []  # once
    # 8 working hours after Tue 12:00: Tue 13:30-17:00 (3.5 h), Wed a holiday, Thu 08:30-12:00
    # (3.5 h, 7 in all), then 1 h from 13:30 -> Thu 14:30
    clock.at = local("2026-12-10T14:29")
    assert service.raise_alerts() == []
    clock.at = local("2026-12-10T14:30")
    assert [(a.kind, a.to, m.district) for a, m in service.raise_alerts()] == [
        ("handover", "supervisor", "xihu")
    ]
    assert service.raise_alerts() == []
    with sessions() as session:
        rows = session.execute(
            select(MatterEvent.kind, MatterEvent.detail).order_by(MatterEvent.id)
        ).all()
    assert [tuple(r) for r in rows][2:] == [
        ("alert_handover_owner", "social-insurance-xihu has not replied: owner 2001"),
        ("alert_handover_supervisor", "social-insurance-xihu has not replied: supervisor of xihu"),
    ]


def test_a_reply_in_time_raises_no_hand_over_alert(service: MatterService, clock: Clock) -> None:
    number = complaint(service)
    service.hand_over(number, "2001", "social-insurance-xihu", "进度？", local("2026-12-08T12:00"))
    clock.at = local("2026-12-08T11:00")
    service.reply(number, "dept-xihu", "已办结")
    clock.at = local("2026-12-14T09:00")  # long after the hand-over's due, before the matter's
    assert service.raise_alerts() == []


def test_a_pool_matter_is_taken_without_a_reason_and_a_closed_ones_summary_stays(
    service: MatterService,
) -> None:
    pool = service.create(NewMatter(OTHER, category="consultation", summary="how to"), "t")
    assert pool.owner is None  # no business, no post: the pool's
    with pytest.raises(MatterError, match="not in the seat directory"):
        service.take_over(pool.number, "agent:9999", "9999")
    taken = service.take_over(pool.number, "agent:1001", "1001")
    assert (taken.owner, taken.status) == ("1001", "in_progress")
    with pytest.raises(MatterError, match="yours and in_progress already"):
        service.take_over(pool.number, "agent:1001", "1001")
    # another owner's matter needs the reason; an in-progress one only changes hands
    with pytest.raises(MatterError, match="needs a reason"):
        service.take_over(pool.number, "agent:2001", "2001", " ")
    moved = service.take_over(pool.number, "agent:2001", "2001", "1001 is on leave")
    assert (moved.owner, moved.status) == ("2001", "in_progress")
    service.update_summary(pool.number, "agent:2001", "how to transfer a pension")
    service.update_summary(pool.number, "agent:2001", "how to transfer a pension")  # the same
    service.close(pool.number, "agent:2001", "reason", "told in the call")
    with pytest.raises(MatterError, match="cannot update_summary a matter that is closed"):
        service.update_summary(pool.number, "agent:2001", "anything")
    events = [(e.kind, e.detail) for e in service.get(pool.number).events]
    assert events == [
        ("created", "phone, owner: the pool"),
        ("assigned", "the pool -> 1001: taken from the pool"),
        ("taken", ""),
        ("assigned", "1001 -> 2001: 1001 is on leave"),
        ("summary", "how to transfer a pension (was: how to)"),
        ("closed", "told by reason: told in the call"),
    ]
