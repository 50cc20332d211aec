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

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

# The survey flow's ratings, best first; the first two count as satisfied.
RATINGS = ("very_satisfied", "satisfied", "dissatisfied")
SATISFIED = frozenset(RATINGS[:2])


@dataclass(frozen=True)
class SurveyPolicy:
    enabled: bool = True
    flow: str = "survey"  # the survey flow's name (a flow in dialplans/flows/ like any other)
    opens: time = time(9, 0)  # allowed local hours for survey calls
    closes: time = time(20, 0)
    delay: timedelta = timedelta(minutes=5)  # after the call ended, before a survey call
    retry_after: tuple[timedelta, ...] = (timedelta(minutes=30), timedelta(hours=2))
    max_attempts: int = 3  # survey calls placed for one call, at most
    per_caller: timedelta = timedelta(days=30)  # at most one survey per caller in this time
    per_minute: int = 6  # survey calls started in any minute, at most
    ring_seconds: int = 30


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
