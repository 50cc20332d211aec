"""Office hours and the holiday calendar: is an office open at a given moment? Pure.

Hours are written like "mon-fri 08:30-12:00" ("24:00" ends at midnight); holidays close
whole days; adjusted working days (调休: a weekend day worked in exchange for a holiday) open
a day with the hours of a normal weekday.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SPAN = re.compile(
    r"^(mon|tue|wed|thu|fri|sat|sun)(?:-(mon|tue|wed|thu|fri|sat|sun))? "
    r"(\d\d):(\d\d)-(\d\d):(\d\d)$"
)


@dataclass(frozen=True)
class Span:
    days: frozenset[int]  # 0 = Monday
    start: time
    end: time


@dataclass(frozen=True)
class Calendar:
    spans: tuple[Span, ...] = ()
    holidays: frozenset[date] = field(default_factory=frozenset)
    workdays: frozenset[date] = field(default_factory=frozenset)  # adjusted working days

    def hours_text(self) -> str:
        """The hours as written in the seat directory, spans joined by ';' (what the IVR's
        `say ... as: hours` reads): "mon-fri 08:30-12:00;mon-fri 13:30-17:00"."""
        return ";".join(span_text(span) for span in self.spans)

    def is_open(self, at: datetime) -> bool:
        day = at.date()
        if day in self.holidays:
            return False
        weekday = 0 if day in self.workdays else at.weekday()  # worked like a Monday
        now = at.time()
        return any(weekday in s.days and s.start <= now < s.end for s in self.spans)


def span_text(span: Span) -> str:
    """A span written back the way `parse_span` reads it."""
    days = sorted(span.days)
    wraps = days != list(range(days[0], days[-1] + 1))  # e.g. sat-mon: {5, 6, 0}
    first = next(d for d in days if not wraps or (d - 1) % 7 not in span.days)
    last = (first + len(days) - 1) % 7
    named = DAYS[first] if first == last else f"{DAYS[first]}-{DAYS[last]}"
    end = "24:00" if span.end == time.max else span.end.strftime("%H:%M")
    return f"{named} {span.start.strftime('%H:%M')}-{end}"


def parse_span(text: str) -> Span:
    """'mon-fri 08:30-12:00' -> Span; ValueError with the expected form otherwise."""
    match = _SPAN.match(text.strip().lower())
    if not match:
        raise ValueError(f"expected 'mon-fri 08:30-12:00', got {text!r}")
    first, last, h1, m1, h2, m2 = match.groups()
    a, b = DAYS.index(first), DAYS.index(last or first)
    days = frozenset(range(a, b + 1)) if a <= b else frozenset([*range(a, 7), *range(0, b + 1)])
    try:
        start = time(int(h1), int(m1))
        end = time.max if (h2, m2) == ("24", "00") else time(int(h2), int(m2))
    except ValueError:
        raise ValueError(f"not a time of day in {text!r}") from None
    if start >= end:
        raise ValueError(f"the span ends before it starts: {text!r}")
    return Span(days, start, end)
