"""Report periods as a supervisor names them: a calendar day, week (Monday to Sunday) or month,
or a from/to range of days, in the calendar's time zone. Pure.

A period is a half-open span of instants [since, until): local midnight of its first day to
local midnight after its last, so a day across a clock change is still one local day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo


class PeriodError(ValueError):
    """A period that cannot be read (one line, naming the option and the fix)."""


@dataclass(frozen=True)
class Period:
    first: date
    last: date  # inclusive

    def span(self, zone: tzinfo) -> tuple[datetime, datetime]:
        since = datetime.combine(self.first, time(), zone)
        until = datetime.combine(self.last + timedelta(days=1), time(), zone)
        return since, until

    @property
    def label(self) -> str:
        return str(self.first) if self.first == self.last else f"{self.first}..{self.last}"


def day(on: date) -> Period:
    return Period(on, on)


def week(on: date) -> Period:
    """The week (Monday to Sunday) that holds `on`."""
    monday = on - timedelta(days=on.weekday())
    return Period(monday, monday + timedelta(days=6))


def month(year: int, number: int) -> Period:
    first = date(year, number, 1)
    following = date(year + number // 12, number % 12 + 1, 1)
    return Period(first, following - timedelta(days=1))


def between(first: date, last: date) -> Period:
    if last < first:
        raise PeriodError(f"--to {last} is before --from {first}: give the earlier day first")
    return Period(first, last)


def parse_day(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise PeriodError(f"{option} {text!r}: expected a day as YYYY-MM-DD") from None


def parse_month(text: str, option: str = "--month") -> Period:
    try:
        first = datetime.strptime(text, "%Y-%m").date()
    except ValueError:
        raise PeriodError(f"{option} {text!r}: expected a month as YYYY-MM") from None
    return month(first.year, first.month)


def named(kind: str, on: date) -> Period:
    """The calendar day, week or month that holds `on`."""
    if kind == "day":
        return day(on)
    if kind == "week":
        return week(on)
    if kind == "month":
        return month(on.year, on.month)
    raise PeriodError(f"period {kind!r}: expected day, week or month")
