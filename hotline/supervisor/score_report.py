"""Scores rolled up per agent per calendar month, for the monthly assessment: on the dashboard
(`/api/scores/monthly?month=YYYY-MM`) and as `hotline report scores --month YYYY-MM`.

Definitions (one function, `roll_up`, computes them for both; it does no I/O):
- a call belongs to the month in which it *started*, in the seat directory's timezone (the
  assessment is of the month's work, whenever the scoring was done);
- the scores counted are the *current* ones: a score that was amended is replaced by its
  amendment (the newest row of each chain); each scorer's current score of a call counts once;
- calls scored: distinct calls with a current score; average: the mean total of the current
  scores; vetoes: current scores zeroed by the one-vote veto;
- lowest item: the sheet item with the lowest average share of its weight (points / weight)
  over the current scores, e.g. `tone 62 %`: what to coach first. Ties go to the item first on
  the sheet.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from hotline.store.models import Call, Score
from hotline.supervisor.scoring import Sheet
from routing.directory import Directory

MONTH = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass(frozen=True)
class ScoredCall:
    agent_id: str
    linkedid: str
    total: float
    vetoed: bool
    points: Mapping[str, float]  # item id -> points given


@dataclass(frozen=True)
class AgentMonth:
    agent_id: str
    calls_scored: int
    scores: int
    average: float
    vetoes: int
    lowest_item: str
    lowest_item_share: float | None  # percent of the item's weight, on average

    def as_json(self) -> dict[str, object]:
        return {
            "agent_id": self.agent_id,
            "calls_scored": self.calls_scored,
            "scores": self.scores,
            "average": self.average,
            "vetoes": self.vetoes,
            "lowest_item": self.lowest_item,
            "lowest_item_share": self.lowest_item_share,
        }


FIELDS = (
    "agent_id",
    "calls_scored",
    "scores",
    "average",
    "vetoes",
    "lowest_item",
    "lowest_item_share",
)


def roll_up(scored: Iterable[ScoredCall], weights: Mapping[str, float]) -> list[AgentMonth]:
    """Per agent, sorted by agent id. `weights`: the sheet's item id -> weight, in sheet
    order. Pure."""
    by_agent: dict[str, list[ScoredCall]] = {}
    for row in scored:
        by_agent.setdefault(row.agent_id, []).append(row)
    out = []
    for agent_id, rows in sorted(by_agent.items()):
        shares: dict[str, list[float]] = {}
        for row in rows:
            for item, weight in weights.items():
                if item in row.points and weight > 0:
                    shares.setdefault(item, []).append(row.points[item] / weight)
        averages = {item: sum(v) / len(v) for item, v in shares.items()}
        lowest = min(averages, key=lambda item: averages[item], default="")
        out.append(
            AgentMonth(
                agent_id=agent_id,
                calls_scored=len({r.linkedid for r in rows}),
                scores=len(rows),
                average=round(sum(r.total for r in rows) / len(rows), 2),
                vetoes=sum(1 for r in rows if r.vetoed),
                lowest_item=lowest,
                lowest_item_share=round(100 * averages[lowest], 1) if lowest else None,
            )
        )
    return out


def parse_month(text: str) -> date:
    """'2026-12' -> the month's first day; ValueError in one line otherwise."""
    found = MONTH.match(text.strip())
    if found is None or not 1 <= int(found.group(2)) <= 12:
        raise ValueError(f"month {text!r}: expected YYYY-MM, e.g. 2026-12")
    return date(int(found.group(1)), int(found.group(2)), 1)


def month_label(month: date) -> str:
    return f"{month:%Y-%m}"


def _bounds(month: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    after = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    return (
        datetime(month.year, month.month, 1, tzinfo=zone).astimezone(UTC),
        datetime(after.year, after.month, 1, tzinfo=zone).astimezone(UTC),
    )


def load(sessions: sessionmaker[Session], directory: Directory, month: date) -> list[ScoredCall]:
    """The current scores of the calls that started in `month`."""
    since, until = _bounds(month, ZoneInfo(directory.timezone))
    with sessions() as s:
        rows = s.scalars(
            select(Score)
            .join(Call, Call.linkedid == Score.linkedid)
            .where(Call.started_at >= since, Call.started_at < until)
        ).all()
    replaced = {r.amends for r in rows if r.amends is not None}
    return [
        ScoredCall(r.agent_id, r.linkedid, r.total, r.vetoed, _points(r.items))
        for r in rows
        if r.id not in replaced
    ]


def _points(items: str) -> dict[str, float]:
    try:
        points = json.loads(items).get("points", {})
    except (ValueError, AttributeError):
        return {}
    return {str(k): float(v) for k, v in points.items() if isinstance(v, int | float)}


def monthly(
    sessions: sessionmaker[Session], sheet: Sheet, directory: Directory, month: date
) -> list[AgentMonth]:
    return roll_up(load(sessions, directory, month), {i.id: i.weight for i in sheet.items})


def to_csv(rows: Iterable[AgentMonth]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(FIELDS)
    for row in rows:
        data = row.as_json()
        writer.writerow(["" if data[f] is None else data[f] for f in FIELDS])
    return out.getvalue()


def to_text(month: date, rows: list[AgentMonth]) -> list[str]:
    if not rows:
        return [f"{month_label(month)}: no scored calls"]
    lines = [
        f"{month_label(month)}  agent  calls  scores  average  vetoes  lowest item",
    ]
    for r in rows:
        lowest = f"{r.lowest_item} {r.lowest_item_share:g} %" if r.lowest_item else "-"
        lines.append(
            f"{'':9}{r.agent_id:<6} {r.calls_scored:>5} {r.scores:>7} {r.average:>8.2f} "
            f"{r.vetoes:>7}  {lowest}"
        )
    return lines
