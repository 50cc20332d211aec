"""When a post-call satisfaction survey may be placed: pure decisions, no I/O.

A caller who spoke with an agent is asked once. If the in-call survey did not happen, a
survey call is queued: due `delay` after the call ended, started only inside the allowed
local hours (checked when it starts, so a changed window applies to queued jobs), retried a
bounded number of times with spaced gaps, never to a do-not-call number and never more
often than once per `per_caller` for one caller. After an outage the overdue surveys are not
fired as a flood: at most `per_minute` survey calls start in any minute, oldest due first
(the declared catch-up policy).
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hotline.tomltables import Table, setting, settings_type

# The survey flow's ratings, best first; the first two count as satisfied.
RATINGS = ("very_satisfied", "satisfied", "dissatisfied")
SATISFIED = frozenset(RATINGS[:2])


@settings_type
class SurveyPolicy:
    """[surveys]; `hours = "09:00-20:00"` holds `opens` and `closes`."""

    enabled: bool = setting(default=True)
    # the survey flow's name (a flow in dialplans/flows/ like any other)
    flow: str = setting(default="survey")
    # allowed local hours for survey calls
    opens: time = setting(
        default=time(9, 0),
        key="hours",
        read=lambda t, key: _hours(t, key)[0],
        dump=lambda p: _dump_hours(p),
    )
    closes: time = setting(
        default=time(20, 0), key="hours", read=lambda t, key: _hours(t, key)[1], dump=lambda p: {}
    )
    # after the call ended, before a survey call
    delay: timedelta = setting(
        default=timedelta(minutes=5),
        key="delay_seconds",
        read=lambda t, key: timedelta(seconds=t.integer(key, lo=0, hi=7 * 86400)),
        dump=lambda p: {"delay_seconds": int(p.delay.total_seconds())},
    )
    retry_after: tuple[timedelta, ...] = setting(
        default=(timedelta(minutes=30), timedelta(hours=2)),
        key="retry_after_minutes",
        read=lambda t, key: _minutes(t, key),
        dump=lambda p: {
            "retry_after_minutes": [int(d.total_seconds() // 60) for d in p.retry_after]
        },
    )
    # survey calls placed for one call, at most
    max_attempts: int = setting(default=3, lo=1, hi=10)
    # at most one survey per caller in this time
    per_caller: timedelta = setting(
        default=timedelta(days=30),
        key="per_caller_days",
        read=lambda t, key: timedelta(days=t.number(key)),
        dump=lambda p: {"per_caller_days": p.per_caller / timedelta(days=1)},
    )
    # survey calls started in any minute, at most
    per_minute: int = setting(default=6, lo=1, hi=1000)
    ring_seconds: int = setting(default=30, lo=5, hi=120)


def _hours(t: Table, key: str) -> tuple[time, time]:
    hours = t.text(key, expected="'HH:MM-HH:MM'")
    try:
        opens, closes = (
            time.max if part == "24:00" else time.fromisoformat(part) for part in hours.split("-")
        )
    except ValueError:
        raise t.error(key, "'HH:MM-HH:MM', e.g. '09:00-20:00'", hours) from None
    if not opens < closes:
        raise t.error(key, "an opening before the closing, e.g. '09:00-20:00'", hours)
    return opens, closes


def _dump_hours(policy: SurveyPolicy) -> dict[str, Any]:
    closes = "24:00" if policy.closes == time.max else f"{policy.closes:%H:%M}"
    return {"hours": f"{policy.opens:%H:%M}-{closes}"}


def _minutes(t: Table, key: str) -> tuple[timedelta, ...]:
    raw = t.data[key]
    if (
        not isinstance(raw, list)
        or not raw
        or not all(isinstance(m, int) and not isinstance(m, bool) and m > 0 for m in raw)
    ):
        raise t.error(key, "positive minutes, e.g. [30, 120]", raw)
    return tuple(timedelta(minutes=m) for m in raw)


def is_allowed(at: datetime, policy: SurveyPolicy, zone: ZoneInfo) -> bool:
    local = at.astimezone(zone).time()
    return policy.opens <= local < policy.closes


def after_failure(now: datetime, attempts: int, policy: SurveyPolicy) -> datetime | None:
    """When the next survey call may go after `attempts` unanswered ones (the allowed hours
    still apply then); None: give up."""
    if attempts >= policy.max_attempts:
        return None
    return now + policy.retry_after[min(attempts, len(policy.retry_after)) - 1]


def refusal(
    number: str,
    do_not_call: bool,
    last_surveyed: datetime | None,
    now: datetime,
    policy: SurveyPolicy,
) -> str | None:
    """Why no survey call may go to this caller, or None when one may."""
    if not (number.isascii() and number.isdigit()) or not 3 <= len(number) <= 20:
        return "no callable number"
    if do_not_call:
        return "do-not-call list"
    if last_surveyed is not None and now - last_surveyed < policy.per_caller:
        return "surveyed recently"
    return None


def start_budget(started_last_minute: int, policy: SurveyPolicy) -> int:
    """How many survey calls may start now under the per-minute cap."""
    return max(0, policy.per_minute - started_last_minute)


def satisfaction(ratings: list[str]) -> float | None:
    """(very satisfied + satisfied) / rated; None when nothing was rated."""
    if not ratings:
        return None
    return sum(r in SATISFIED for r in ratings) / len(ratings)
