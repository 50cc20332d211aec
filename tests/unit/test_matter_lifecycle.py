"""The matter's pure rules: transitions, due times in working hours, overdue alerts. Every
expected time below is worked out by hand from the calendar written here (Hangzhou time,
Mon-Fri 08:30-12:00 and 13:30-17:00, 2026-12-09 a holiday, Sat 2026-12-12 worked)."""

from __future__ import annotations

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
