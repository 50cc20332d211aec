"""The survey policy's edges, worked out by hand (found by mutation testing, issue 21): the
allowed hours are [opens, closes) in local time, the retry gaps and their end, who may not be
called, the per-minute budget and the satisfaction share. Defaults: 09:00-20:00 Asia/Shanghai,
retries after 30 min then 2 h, 3 attempts, 30 days per caller, 6 calls a minute."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from hotline.surveys.policy import (
    SurveyPolicy,
    after_failure,
    is_allowed,
    refusal,
    satisfaction,
    start_budget,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
POLICY = SurveyPolicy()


def local(day: int, hour: int, minute: int = 0, second: int = 0, micro: int = 0) -> datetime:
    """A December 2026 Hangzhou time, given to the policy in UTC as the store keeps it."""
    return datetime(2026, 12, day, hour, minute, second, micro, tzinfo=SHANGHAI).astimezone(UTC)


@pytest.mark.parametrize(
    ("when", "allowed"),
    [
        (local(7, 8, 59, 59, 999999), False),
        (local(7, 9), True),  # the opening instant is in
        (local(7, 19, 59, 59, 999999), True),
        (local(7, 20), False),  # the closing instant is out
    ],
)
def test_the_allowed_hours_are_local_and_hold_the_opening_not_the_closing(
    when: datetime, allowed: bool
) -> None:
    assert is_allowed(when, POLICY, SHANGHAI) is allowed


def test_retries_wait_30_min_then_2_h_and_stop_after_the_third_attempt() -> None:
    now = local(7, 10)
    assert after_failure(now, 1, POLICY) == local(7, 10, 30)
    assert after_failure(now, 2, POLICY) == local(7, 12)
    assert after_failure(now, 3, POLICY) is None
    # more attempts allowed than gaps listed: the last gap repeats
    five = SurveyPolicy(max_attempts=5)
    assert [after_failure(now, n, five) for n in (3, 4, 5)] == [local(7, 12), local(7, 12), None]


@pytest.mark.parametrize(
    ("number", "do_not_call", "last", "why"),
    [
        ("13900000000", False, None, None),
        ("123", False, None, None),  # 3 digits: the shortest callable
        ("1" * 20, False, None, None),  # 20 digits: the longest
        ("12", False, None, "no callable number"),
        ("1" * 21, False, None, "no callable number"),
        ("", False, None, "no callable number"),
        ("1390000000x", False, None, "no callable number"),
        ("１３９００００００００", False, None, "no callable number"),  # full-width digits
        ("13900000000", True, None, "do-not-call list"),
        ("13900000000", False, timedelta(days=30), None),  # exactly 30 days ago: again
        ("13900000000", False, timedelta(days=30) - timedelta(seconds=1), "surveyed recently"),
    ],
)
def test_who_may_not_be_called(
    number: str, do_not_call: bool, last: timedelta | None, why: str | None
) -> None:
    now = local(7, 10)
    surveyed = None if last is None else now - last
    assert refusal(number, do_not_call, surveyed, now, POLICY) == why


def test_the_per_minute_budget_is_what_is_left_and_never_negative() -> None:
    assert [start_budget(n, POLICY) for n in (0, 4, 6, 9)] == [6, 2, 0, 0]


def test_satisfaction_is_the_satisfied_share_of_the_rated() -> None:
    assert satisfaction([]) is None
    # 2 of 3 satisfied (very satisfied counts)
    assert satisfaction(["very_satisfied", "satisfied", "dissatisfied"]) == 2 / 3
    assert satisfaction(["dissatisfied"]) == 0.0
