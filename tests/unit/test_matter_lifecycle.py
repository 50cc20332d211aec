"""The matter's pure rules: transitions, due times in working hours, overdue alerts. Every
expected time below is worked out by hand from the calendar written here (Hangzhou time,
Mon-Fri 08:30-12:00 and 13:30-17:00, 2026-12-09 a holiday, Sat 2026-12-12 worked)."""

from __future__ import annotations

import time as time_module
from collections.abc import Iterator
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from hotline.matters.lifecycle import (
    Alert,
    DuePolicy,
    DueRule,
    Overdue,
    TransitionError,
    alerts_due,
    check_close,
    due_at,
    next_opening,
    next_status,
)
from routing.calendar import Calendar, parse_span

ZONE = ZoneInfo("Asia/Shanghai")
CAL = Calendar(
    (parse_span("mon-fri 08:30-12:00"), parse_span("mon-fri 13:30-17:00")),
    holidays=frozenset({date(2026, 12, 9)}),  # a Wednesday off
    workdays=frozenset({date(2026, 12, 12)}),  # a Saturday worked
)
POLICY = DuePolicy(
    rules={
        "consultation": DueRule(working_days=0),
        "complaint": DueRule(working_days=5),
        "message": DueRule(working_hours=4),
    },
    escalate_after_hours=8,
)


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=ZONE)


def test_the_happy_path_through_a_hand_over() -> None:
    status = "open"
    for action, want in [
        ("take", "in_progress"),
        ("hand_over", "handed_over"),
        ("note", "handed_over"),
        ("reply", "answered"),
        ("close", "closed"),
        ("reopen", "reopened"),
        ("take", "in_progress"),
    ]:
        status = next_status(status, action)
        assert status == want, action


def test_a_matter_waiting_for_a_department_cannot_close_and_the_error_says_when_it_can() -> None:
    with pytest.raises(TransitionError, match="cannot close a matter that is handed_over"):
        next_status("handed_over", "close")
    with pytest.raises(TransitionError, match="cannot reply"):
        next_status("in_progress", "reply")


def test_a_close_needs_the_citizen_told_by_callback_or_a_written_reason() -> None:
    check_close("answered", "callback", "")
    check_close("in_progress", "reason", "told in the same call")
    with pytest.raises(TransitionError, match="after the citizen was told"):
        check_close("answered", "reason", "  ")
    with pytest.raises(TransitionError, match="told must be one of"):
        check_close("answered", "nobody", "x")


@pytest.mark.parametrize(
    ("category", "opened", "due"),
    [
        # same working day: opened Mon 10:00 -> Mon 17:00
        ("consultation", "2026-12-07T10:00", "2026-12-07T17:00"),
        # opened Mon 18:00 (after hours): the next working day, Tue 17:00
        ("consultation", "2026-12-07T18:00", "2026-12-08T17:00"),
        # opened Tue 17:30: Wed is a holiday, so Thu 17:00
        ("consultation", "2026-12-08T17:30", "2026-12-10T17:00"),
        # 5 working days from Mon 10:00: Tue, Thu, Fri, Sat (worked), Mon 14th -> 17:00
        ("complaint", "2026-12-07T10:00", "2026-12-14T17:00"),
        # 4 working hours from Mon 10:00: 2 h to 12:00, 2 h from 13:30 -> 15:30
        ("message", "2026-12-07T10:00", "2026-12-07T15:30"),
        # 4 working hours from Tue 16:00: 1 h to 17:00, Wed off, Thu 08:30 + 3 h -> 11:30
        ("message", "2026-12-08T16:00", "2026-12-10T11:30"),
        # an unlisted category takes the default (5 working days): same as the complaint
        ("petition", "2026-12-07T10:00", "2026-12-14T17:00"),
    ],
)
def test_due_times_count_working_time_of_the_calendar(category: str, opened: str, due: str) -> None:
    assert due_at(POLICY, CAL, ZONE, category, local(opened)) == local(due)


def test_due_time_of_an_instant_given_in_utc_is_the_same() -> None:
    opened = local("2026-12-07T10:00").astimezone(ZoneInfo("UTC"))
    assert due_at(POLICY, CAL, ZONE, "message", opened) == local("2026-12-07T15:30")


def test_overdue_alerts_the_owner_at_the_due_time_then_the_supervisor_8_working_hours_later() -> (
    None
):
    due = local("2026-12-07T15:30")
    fresh = Overdue("A1", due, owner_alerted=False, supervisor_alerted=False)
    assert alerts_due([fresh], local("2026-12-07T15:29"), CAL, ZONE, POLICY) == []
    assert alerts_due([fresh], local("2026-12-07T15:30"), CAL, ZONE, POLICY) == [
        Alert("A1", "owner")
    ]
    # 8 working hours after Mon 15:30: 1.5 h (to 17:00), Tue 3.5 h + 3 h -> Tue 16:30
    told = Overdue("A1", due, owner_alerted=True, supervisor_alerted=False)
    assert alerts_due([told], local("2026-12-08T16:29"), CAL, ZONE, POLICY) == []
    assert alerts_due([told], local("2026-12-08T16:30"), CAL, ZONE, POLICY) == [
        Alert("A1", "supervisor")
    ]
    done = Overdue("A1", due, owner_alerted=True, supervisor_alerted=True)
    assert alerts_due([done], local("2026-12-20T10:00"), CAL, ZONE, POLICY) == []


def test_a_late_department_reply_alerts_by_the_same_rule_and_says_it_is_a_hand_over() -> None:
    due = local("2026-12-11T10:00")  # Friday
    late = Overdue("A2", due, owner_alerted=False, supervisor_alerted=False, kind="handover")
    assert alerts_due([late], local("2026-12-11T10:00"), CAL, ZONE, POLICY) == [
        Alert("A2", "owner", "handover")
    ]
    # 8 working hours after Fri 10:00: Fri 2 h + 3.5 h, Sat 12-12 is worked: 08:30 + 2.5 h
    chased = Overdue("A2", due, owner_alerted=True, supervisor_alerted=False, kind="handover")
    assert alerts_due([chased], local("2026-12-12T10:59"), CAL, ZONE, POLICY) == []
    assert alerts_due([chased], local("2026-12-12T11:00"), CAL, ZONE, POLICY) == [
        Alert("A2", "supervisor", "handover")
    ]


# --- the rest of the rule, each figure worked out by hand from the calendars here ----------

NIGHTS = Calendar((parse_span("mon-fri 20:00-24:00"),))  # a night desk, up to midnight
EVENINGS = Calendar(  # three spans a day: the day ends at the last one's close
    (
        parse_span("mon-fri 08:30-12:00"),
        parse_span("mon-fri 13:30-17:00"),
        parse_span("mon-fri 18:00-20:00"),
    )
)
# Monday is short; an adjusted working Saturday (12-12) is worked like a Monday
SHORT_MONDAYS = Calendar(
    (parse_span("mon 09:00-12:00"), parse_span("tue-fri 09:00-17:00")),
    workdays=frozenset({date(2026, 12, 12)}),
)
CLOSED = Calendar(())  # no working hours at all: a configuration error
HOURS = DuePolicy(rules={"message": DueRule(working_hours=2), "report": DueRule(working_hours=1)})


@pytest.fixture
def server_far_east(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The server's own zone (UTC+14) six hours east of the calendar's: its date turns at
    18:00 in Hangzhou, so a rule that took the server's date would start a day late."""
    monkeypatch.setenv("TZ", "Pacific/Kiritimati")
    time_module.tzset()
    yield
    monkeypatch.undo()
    time_module.tzset()


@pytest.mark.parametrize(
    ("calendar", "category", "opened", "due"),
    [
        # 1 working hour from Mon 10:00: Mon 11:00 (an hours rule even at 1 hour)
        (CAL, "report", "2026-12-07T10:00", "2026-12-07T11:00"),
        # 2 working hours from Mon 15:00 fill the afternoon exactly: Mon 17:00, not Tue 08:30
        (CAL, "message", "2026-12-07T15:00", "2026-12-07T17:00"),
        # 2 working hours from Mon 23:00 at the night desk: 1 h to midnight, Tue 20:00 + 1 h
        (NIGHTS, "message", "2026-12-07T23:00", "2026-12-08T21:00"),
        # 0 working days from Mon 21:00 at the night desk: Mon 24:00, i.e. Tue 00:00
        (NIGHTS, "consultation", "2026-12-07T21:00", "2026-12-08T00:00"),
        # 0 working days from Mon 10:00 with an evening span: Mon 20:00, its last close
        (EVENINGS, "consultation", "2026-12-07T10:00", "2026-12-07T20:00"),
        # opened at the very instant the office closes (Mon 17:00): the next working day
        (CAL, "consultation", "2026-12-07T17:00", "2026-12-08T17:00"),
        # 0 working days from the worked Saturday 10:00: Monday's hours, so Sat 12:00
        (SHORT_MONDAYS, "consultation", "2026-12-12T10:00", "2026-12-12T12:00"),
    ],
)
def test_due_times_at_the_edges_of_the_working_day(
    calendar: Calendar, category: str, opened: str, due: str
) -> None:
    policy = DuePolicy(rules={**POLICY.rules, **HOURS.rules})
    assert due_at(policy, calendar, ZONE, category, local(opened)) == local(due)


@pytest.mark.usefixtures("server_far_east")
def test_due_times_follow_the_calendars_zone_not_the_servers() -> None:
    """Mon 23:30 in Hangzhou is already Tue 05:30 on the server. Hours: 0.5 h to midnight,
    then Tue 20:00 + 1.5 h. Days: Monday's own close, Mon 24:00. Mon 19:00 (Tue 01:00 on
    the server): the night desk next opens at Mon 20:00."""
    opened = local("2026-12-07T23:30")
    policy = DuePolicy(rules={**POLICY.rules, "message": DueRule(working_hours=2)})
    assert due_at(policy, NIGHTS, ZONE, "message", opened) == local("2026-12-08T21:30")
    assert due_at(policy, NIGHTS, ZONE, "consultation", opened) == local("2026-12-08T00:00")
    assert next_opening(NIGHTS, ZONE, opened) == local("2026-12-08T20:00")
    assert next_opening(NIGHTS, ZONE, local("2026-12-07T19:00")) == local("2026-12-07T20:00")


@pytest.mark.parametrize(
    ("after", "opens"),
    [
        ("2026-12-07T10:00", "2026-12-07T13:30"),  # in the morning: the afternoon's start
        ("2026-12-07T13:30", "2026-12-08T08:30"),  # at 13:30 exactly: later than that
        ("2026-12-07T18:00", "2026-12-08T08:30"),  # Monday evening: Tuesday morning
        ("2026-12-08T17:30", "2026-12-10T08:30"),  # Wednesday is a holiday: Thursday
        ("2026-12-11T18:00", "2026-12-12T08:30"),  # Friday evening: the worked Saturday
    ],
)
def test_an_after_hours_callback_opens_at_the_next_working_interval(after: str, opens: str) -> None:
    assert next_opening(CAL, ZONE, local(after)) == local(opens)


def test_a_calendar_with_no_working_hours_is_one_clear_error() -> None:
    message = "^the calendar has no working hours within a year$"
    opened = local("2026-12-07T10:00")
    with pytest.raises(ValueError, match=message):
        due_at(HOURS, CLOSED, ZONE, "message", opened)
    with pytest.raises(ValueError, match=message):
        due_at(POLICY, CLOSED, ZONE, "complaint", opened)
    with pytest.raises(ValueError, match=message):
        next_opening(CLOSED, ZONE, opened)


def test_a_matter_not_yet_due_does_not_hide_the_next_ones_alert() -> None:
    later = Overdue("A3", local("2026-12-08T10:00"), False, False)
    due = Overdue("A4", local("2026-12-07T10:00"), False, False)
    assert alerts_due([later, due], local("2026-12-07T11:00"), CAL, ZONE, POLICY) == [
        Alert("A4", "owner")
    ]


def test_the_transition_errors_as_the_user_reads_them() -> None:
    with pytest.raises(TransitionError) as caught:
        next_status("open", "fly")
    assert str(caught.value) == (
        "unknown action 'fly'; known: take, note, update_summary, assign, hand_over, reply, "
        "book_callback, callback_outcome, notice, close, reopen"
    )
    with pytest.raises(TransitionError) as caught:
        next_status("handed_over", "close")
    assert str(caught.value) == (
        "cannot close a matter that is handed_over (only when open, in_progress, answered, "
        "reopened)"
    )
    with pytest.raises(TransitionError) as caught:
        check_close("answered", "nobody", "x")
    assert str(caught.value) == "told must be one of callback, reason, not 'nobody'"
    with pytest.raises(TransitionError) as caught:
        check_close("answered", "reason", "  ")
    assert str(caught.value) == (
        "a matter closes only after the citizen was told: give the reason (how they were "
        "told, or why they need not be), or close it by a callback that reached them"
    )
