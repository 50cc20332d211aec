"""A matter's life, as pure rules: its statuses, which action may move it where, when it is
due (in working hours of the office calendar) and when an overdue matter alerts whom. No I/O:
the service (hotline/matters/service.py) reads and writes the rows and asks here.

    open ──take──> in_progress ──hand_over──> handed_over ──reply──> answered ──close──> closed
      │                 │                                                       │
      └─────────────────┴──────────── close (the citizen was told) ─────────────┘
    closed ──reopen──> reopened (then as in_progress)

A matter closes only after the citizen has been told: a callback that reached them, or a
reason recorded by a person (e.g. "told in the same call", "citizen withdrew"). A matter
waiting for a department's reply (handed_over) cannot close: the reply comes first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from routing.calendar import Calendar

STATUSES = ("open", "in_progress", "handed_over", "answered", "closed", "reopened")
OPEN_STATUSES = frozenset(s for s in STATUSES if s != "closed")
# how the matter reached us (the list); `phone`: raised by an agent in a call
CHANNELS = ("phone", "ivr_message", "complaint", "report", "petition", "manual")
# what the citizen needs, for the due-time policy ([matters.due] in hotline.toml)
CATEGORIES = ("consultation", "message", "complaint", "report", "petition")
# how the citizen was told before a close
TOLD = ("callback", "reason")

# action -> the statuses it may start from, and the status it leads to (None: unchanged)
TRANSITIONS: dict[str, tuple[frozenset[str], str | None]] = {
    "take": (frozenset({"open", "reopened"}), "in_progress"),
    "note": (frozenset(STATUSES), None),
    "update_summary": (OPEN_STATUSES, None),  # what the citizen needs, restated in work
    "assign": (OPEN_STATUSES, None),
    "hand_over": (frozenset({"open", "in_progress", "reopened", "answered"}), "handed_over"),
    "reply": (frozenset({"handed_over"}), "answered"),
    "book_callback": (OPEN_STATUSES, None),
    "callback_outcome": (frozenset(STATUSES), None),
    "notice": (frozenset(STATUSES), None),
    "close": (frozenset({"open", "in_progress", "answered", "reopened"}), "closed"),
    "reopen": (frozenset({"closed"}), "reopened"),
}


class TransitionError(ValueError):
    """An action the matter's status does not allow (one line for the user)."""


def next_status(status: str, action: str) -> str:
    """The status after `action`, or TransitionError naming what is allowed."""
    if action not in TRANSITIONS:
        raise TransitionError(f"unknown action {action!r}; known: {', '.join(TRANSITIONS)}")
    allowed, after = TRANSITIONS[action]
    if status not in allowed:
        starts = ", ".join(s for s in STATUSES if s in allowed)
        raise TransitionError(f"cannot {action} a matter that is {status} (only when {starts})")
    return after or status


def check_close(status: str, told: str, reason: str) -> None:
    """A close needs the citizen told: by a callback that reached them, or a written reason."""
    next_status(status, "close")
    if told not in TOLD:
        raise TransitionError(f"told must be one of {', '.join(TOLD)}, not {told!r}")
    if told == "reason" and not reason.strip():
        raise TransitionError(
            "a matter closes only after the citizen was told: give the reason (how they were "
            "told, or why they need not be), or close it by a callback that reached them"
        )


# --- due times in working hours ---------------------------------------------------------


@dataclass(frozen=True)
class DueRule:
    """How long a category of matter may take, in the office calendar's working time.

    `working_hours` > 0: that many working hours after it opened. Otherwise the end of the
    `working_days`-th working day after the day it opened (0: the same working day; a matter
    opened after hours or on a day off counts from the next working day)."""

    working_days: int = 0
    working_hours: int = 0


@dataclass(frozen=True)
class DuePolicy:
    rules: dict[str, DueRule] = field(default_factory=dict)  # category -> rule
    default: DueRule = DueRule(working_days=5)
    # past its due time by this many working hours, an overdue matter alerts the district's
    # supervisor too (before that, only its owner)
    escalate_after_hours: int = 8

    def rule(self, category: str) -> DueRule:
        return self.rules.get(category, self.default)


SEARCH_DAYS = 400  # a calendar with no working day in a year is a configuration error


def working_intervals(calendar: Calendar, day: date) -> list[tuple[time, time]]:
    """The day's working hours, in order (empty on a holiday or a day off)."""
    if day in calendar.holidays:
        return []
    weekday = 0 if day in calendar.workdays else day.weekday()
    spans = sorted((s.start, s.end) for s in calendar.spans if weekday in s.days)
    return spans


def _local(day: date, at: time, zone: ZoneInfo) -> datetime:
    if at == time.max:  # "24:00": midnight at the day's end
        return datetime.combine(day + timedelta(days=1), time(0), zone)
    return datetime.combine(day, at, zone)


def add_working_time(
    calendar: Calendar, zone: ZoneInfo, start: datetime, amount: timedelta
) -> datetime:
    """`start` plus `amount` of working time: only hours inside the calendar's spans count."""
    left = amount
    local = start.astimezone(zone)
    day = local.date()
    for _ in range(SEARCH_DAYS):
        for begin, end in working_intervals(calendar, day):
            lo, hi = _local(day, begin, zone), _local(day, end, zone)
            lo = max(lo, local)
            if hi <= lo:
                continue
            if hi - lo >= left:
                return lo + left
            left -= hi - lo
        day += timedelta(days=1)
    raise ValueError("the calendar has no working hours within a year")


def end_of_working_day(calendar: Calendar, zone: ZoneInfo, start: datetime, days: int) -> datetime:
    """The end of the `days`-th working day after `start`'s (0: its own, if it is still
    working time then; else the next working day counts as the first)."""
    local = start.astimezone(zone)
    day = local.date()
    counted = -1
    for _ in range(SEARCH_DAYS):
        spans = working_intervals(calendar, day)
        if spans:
            closes = _local(day, spans[-1][1], zone)
            if closes > local or counted >= 0:
                counted += 1
                if counted == days:
                    return closes
        day += timedelta(days=1)
    raise ValueError("the calendar has no working hours within a year")


def next_opening(calendar: Calendar, zone: ZoneInfo, after: datetime) -> datetime:
    """The start of the next working interval later than `after` (an after-hours callback's
    slot opens there)."""
    local = after.astimezone(zone)
    day = local.date()
    for _ in range(SEARCH_DAYS):
        for begin, _end in working_intervals(calendar, day):
            start = _local(day, begin, zone)
            if start > local:
                return start
        day += timedelta(days=1)
    raise ValueError("the calendar has no working hours within a year")


def due_at(
    policy: DuePolicy, calendar: Calendar, zone: ZoneInfo, category: str, opened: datetime
) -> datetime:
    rule = policy.rule(category)
    if rule.working_hours > 0:
        return add_working_time(calendar, zone, opened, timedelta(hours=rule.working_hours))
    return end_of_working_day(calendar, zone, opened, rule.working_days)


# --- overdue alerts ---------------------------------------------------------------------

# what is late: the matter itself (past its due time) or a department's reply to a hand-over
# (past the hand-over's due time: the owner chases the department)
ALERT_KINDS = ("overdue", "handover")


@dataclass(frozen=True)
class Overdue:
    """What is known of something late for the alert rule: an open matter (`kind` overdue,
    due at its due time) or an unanswered hand-over (`kind` handover, due at the hand-over's
    due time)."""

    number: str
    due_at: datetime
    owner_alerted: bool
    supervisor_alerted: bool
    kind: str = "overdue"


@dataclass(frozen=True)
class Alert:
    number: str
    to: str  # owner | supervisor
    kind: str = "overdue"  # overdue | handover


def alerts_due(
    matters: list[Overdue], now: datetime, calendar: Calendar, zone: ZoneInfo, policy: DuePolicy
) -> list[Alert]:
    """The alerts to raise now, each once: the owner's when it is past its due time, the
    district supervisor's when it is past it by `escalate_after_hours` working hours. The same
    rule for a matter and for a department's reply to a hand-over."""
    out: list[Alert] = []
    for m in matters:
        if now < m.due_at:
            continue
        if not m.owner_alerted:
            out.append(Alert(m.number, "owner", m.kind))
        escalate = add_working_time(
            calendar, zone, m.due_at, timedelta(hours=policy.escalate_after_hours)
        )
        if not m.supervisor_alerted and now >= escalate:
            out.append(Alert(m.number, "supervisor", m.kind))
    return out
