"""KPI reports from the store: loads calls, legs, decisions and survey ratings, hands them to
`kpi.compute`, and writes CSV."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload, sessionmaker

from routing.directory import Directory
from store.models import Call, RouteDecision, Survey

from .kpi import CallRow, DecisionRow, LegRow, Report, compute


def _utc(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def load_rows(
    session: Session, since: datetime, until: datetime
) -> tuple[list[CallRow], list[DecisionRow]]:
    query = (
        select(Call)
        .where(Call.started_at >= since, Call.started_at < until)
        .options(selectinload(Call.legs))
    )
    calls = [
        CallRow(
            linkedid=c.linkedid,
            caller_number=c.caller_number,
            started_at=_utc(c.started_at),
            ended_at=_utc(c.ended_at) if c.ended_at else None,
            legs=tuple(
                LegRow(
                    agent_id=leg.agent_id,
                    ring_at=_utc(leg.ring_at),
                    answered_at=_utc(leg.answered_at) if leg.answered_at else None,
                    ended_at=_utc(leg.ended_at) if leg.ended_at else None,
                )
                for leg in c.legs
            ),
        )
        for c in session.scalars(query)
    ]
    ids = {c.linkedid for c in calls}
    decisions = [
        DecisionRow(d.linkedid, _utc(d.decided_at), d.post, d.answered_by)
        for d in session.scalars(
            select(RouteDecision).where(
                RouteDecision.decided_at >= since - timedelta(hours=1),
                RouteDecision.decided_at < until + timedelta(hours=1),
            )
        )
        if d.linkedid in ids
    ]
    return calls, decisions


def report(
    sessions: sessionmaker[Session], directory: Directory, since: datetime, until: datetime
) -> Report:
    with sessions() as session:
        calls, decisions = load_rows(session, since, until)
        ids = {c.linkedid for c in calls}
        # by time, not by an IN list of every call (SQLite caps bound parameters); a survey
        # call may come days after the call it rates
        ratings = {
            linkedid: rating
            for linkedid, rating in session.execute(
                select(Survey.linkedid, Survey.rating).where(Survey.rated_at >= since)
            )
            if linkedid in ids
        }
    return compute(
        calls,
        decisions,
        {p.id: p.a for p in directory.posts.values()},
        {p.id: p.district for p in directory.posts.values()},
        directory.district_of_number,
        since,
        until,
        ratings,
    )


CSV_FIELDS = (
    "calls",
    "asked",
    "answered",
    "answered_15s",
    "abandoned",
    "answer_rate_15s",
    "connection_rate",
    "abandonment",
    "average_wait",
    "average_talk",
    "ab_decisions",
    "ab_fallbacks",
    "ab_fallback_rate",
    "responded",
    "satisfied",
    "satisfaction_rate",
    "response_rate",
)


def to_csv(rep: Report) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["scope", "id", *CSV_FIELDS])
    rows = [("total", "city+districts", rep.total)]
    rows += [("district", k, v) for k, v in sorted(rep.districts.items())]
    rows += [("agent", k, v) for k, v in sorted(rep.agents.items())]
    for scope, key, figures in rows:
        data = figures.as_json()
        writer.writerow([scope, key, *("" if data[f] is None else data[f] for f in CSV_FIELDS)])
    return out.getvalue()
