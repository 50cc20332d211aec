"""Matter figures for supervisors' KPIs and `hotline report matters`. Pure: plain facts in,
figures out. Definitions (README, section Matters):

    opened              matters created in the period
    closed              matters closed in the period
    closed_on_time      of those closed, closed at or before their due time
    on_time_rate        closed_on_time / closed (%, one decimal; None when nothing closed)
    first_contact       of those closed, closed before the call that raised them ended
                        (first-contact resolution: settled in the first call)
    first_contact_rate  first_contact / closed (%)
    average_close_hours mean of (closed - created) over those closed, in hours (one decimal)
    overdue             matters opened in the period still open and past due at `now`

Grouped by business and by district, with the whole scope as the total.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class MatterFacts:
    number: str
    business: str
    district: str
    created_at: datetime
    due_at: datetime
    closed_at: datetime | None
    is_open: bool
    first_call_ended: datetime | None  # when the call that raised it ended (None: no call)


@dataclass
class MatterFigures:
    opened: int = 0
    closed: int = 0
    closed_on_time: int = 0
    first_contact: int = 0
    overdue: int = 0
    close_seconds: list[float] = field(default_factory=list)

    def as_json(self) -> dict[str, float | int | None]:
        return {
            "opened": self.opened,
            "closed": self.closed,
            "closed_on_time": self.closed_on_time,
            "on_time_rate": _percent(self.closed_on_time, self.closed),
            "first_contact": self.first_contact,
            "first_contact_rate": _percent(self.first_contact, self.closed),
            "average_close_hours": (
                round(sum(self.close_seconds) / len(self.close_seconds) / 3600, 1)
                if self.close_seconds
                else None
            ),
            "overdue": self.overdue,
        }


def _percent(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


@dataclass
class MatterReport:
    total: MatterFigures = field(default_factory=MatterFigures)
    businesses: dict[str, MatterFigures] = field(default_factory=dict)
    districts: dict[str, MatterFigures] = field(default_factory=dict)

    def as_json(self) -> dict[str, object]:
        return {
            "total": self.total.as_json(),
            "businesses": {k: v.as_json() for k, v in sorted(self.businesses.items())},
            "districts": {k: v.as_json() for k, v in sorted(self.districts.items())},
        }


def matter_report(
    matters: Iterable[MatterFacts], since: datetime, until: datetime, now: datetime
) -> MatterReport:
    """The figures of matters opened or closed in [since, until)."""
    report = MatterReport()
    for m in matters:
        groups = [
            report.total,
            report.businesses.setdefault(m.business or "-", MatterFigures()),
            report.districts.setdefault(m.district or "city", MatterFigures()),
        ]
        opened = since <= m.created_at < until
        closed = m.closed_at is not None and since <= m.closed_at < until
        for g in groups:
            if opened:
                g.opened += 1
                if m.is_open and now >= m.due_at:
                    g.overdue += 1
            if closed and m.closed_at is not None:
                g.closed += 1
                g.closed_on_time += m.closed_at <= m.due_at
                g.first_contact += (
                    m.first_call_ended is not None and m.closed_at <= m.first_call_ended
                )
                g.close_seconds.append((m.closed_at - m.created_at).total_seconds())
    return report
