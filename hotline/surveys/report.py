"""Satisfaction figures: pure arithmetic over the calls an agent answered.

Satisfaction rate = (very satisfied + satisfied) / rated, always shown with the response
rate = rated / calls an agent answered, so a high rate from few answers is visible as such.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from hotline.surveys.policy import RATINGS, satisfaction

GROUPINGS = ("agent", "post", "district", "day")


@dataclass(frozen=True)
class AnsweredCall:
    linkedid: str
    started_at: datetime
    agent: str
    post: str
    district: str
    rating: str | None  # None: not rated


@dataclass(frozen=True)
class ReportRow:
    key: str
    answered: int
    rated: int
    counts: tuple[int, ...]  # per rating, in RATINGS order
    satisfaction: float | None
    response: float | None


def summarize(calls: Iterable[AnsweredCall], by: str, zone: ZoneInfo) -> list[ReportRow]:
    """One row per agent/post/district/day, sorted by key, then the total ('all')."""
    if by not in GROUPINGS:
        raise ValueError(f"group by one of {', '.join(GROUPINGS)}, not {by!r}")
    groups: dict[str, list[AnsweredCall]] = {}
    every: list[AnsweredCall] = []
    for call in calls:
        if by == "day":
            key = call.started_at.astimezone(zone).date().isoformat()
        else:
            key = getattr(call, by) or "-"
        groups.setdefault(key, []).append(call)
        every.append(call)
    rows = [_row(key, members) for key, members in sorted(groups.items())]
    return [*rows, _row("all", every)]


def _row(key: str, calls: list[AnsweredCall]) -> ReportRow:
    ratings = [c.rating for c in calls if c.rating is not None]
    return ReportRow(
        key=key,
        answered=len(calls),
        rated=len(ratings),
        counts=tuple(ratings.count(r) for r in RATINGS),
        satisfaction=satisfaction(ratings),
        response=len(ratings) / len(calls) if calls else None,
    )


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


HEADERS = (
    "answered",
    "rated",
    "very satisfied",
    "satisfied",
    "dissatisfied",
    "satisfaction",
    "response",
)


def as_text(rows: list[ReportRow], by: str) -> str:
    table = [(by, *HEADERS)] + [
        (
            r.key,
            str(r.answered),
            str(r.rated),
            *(str(n) for n in r.counts),
            _percent(r.satisfaction),
            _percent(r.response),
        )
        for r in rows
    ]
    widths = [max(len(line[i]) for line in table) for i in range(len(table[0]))]
    return "\n".join(
        "  ".join(
            cell.ljust(w) if i == 0 else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(line, widths, strict=True))
        )
        for line in table
    )


def as_csv(rows: list[ReportRow], by: str) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([by, "answered", "rated", *RATINGS, "satisfaction_rate", "response_rate"])
    for r in rows:
        writer.writerow(
            [
                r.key,
                r.answered,
                r.rated,
                *r.counts,
                "" if r.satisfaction is None else f"{r.satisfaction:.4f}",
                "" if r.response is None else f"{r.response:.4f}",
            ]
        )
    return out.getvalue()
