"""KPI reports from the store: loads calls, legs, decisions, survey ratings and callbacks, hands
them to `kpi.compute`, and writes CSV. `kpi_report` is the one entry point: the dashboard's
/api/kpi and `hotline report kpi` both call it."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload, sessionmaker

from hotline.store.models import Call, Callback, RouteDecision, Survey, SurveyJob
from hotline.supervisor.kpi import (
    FIELDS,
    CallbackRow,
    CallRow,
    DecisionRow,
    LegRow,
    Places,
    Report,
    compute,
    rows,
)
from routing.directory import Directory


def _utc(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _maybe(at: datetime | None) -> datetime | None:
    return _utc(at) if at is not None else None


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
            ended_at=_maybe(c.ended_at),
            legs=tuple(
                LegRow(
                    agent_id=leg.agent_id,
                    ring_at=_utc(leg.ring_at),
                    answered_at=_maybe(leg.answered_at),
                    ended_at=_maybe(leg.ended_at),
                )
                for leg in c.legs
            ),
            outcome=c.outcome,
            asked_at=_maybe(c.asked_at),
            ivr_end=c.ivr_end,
            kind=c.kind,
        )
        for c in session.scalars(query)
    ]
    ids = {c.linkedid for c in calls}
    decisions = [
        DecisionRow(
            d.linkedid,
            _utc(d.decided_at),
            d.post,
            d.answered_by,
            d.reached_a,
            d.answered_role,
        )
        for d in session.scalars(
            select(RouteDecision).where(
                RouteDecision.decided_at >= since - timedelta(hours=1),
                RouteDecision.decided_at < until + timedelta(hours=1),
            )
        )
        if d.linkedid in ids
    ]
    return calls, decisions


def kpi_report(
    sessions: sessionmaker[Session],
    directory: Directory,
    since: datetime,
    until: datetime,
    district: str | None = None,
) -> Report:
    """The figures of the calls that started in [since, until); `district`: that district's
    only (None: the whole city)."""
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
        ruled_out = frozenset(
            linkedid
            for (linkedid,) in session.execute(
                select(SurveyJob.linkedid).where(
                    SurveyJob.status == "skipped", SurveyJob.created_at >= since
                )
            )
            if linkedid in ids
        )
        callbacks = [
            CallbackRow(c.linkedid, _utc(c.queued_at), c.status, c.attempts, c.district)
            for c in session.scalars(
                select(Callback).where(Callback.queued_at >= since, Callback.queued_at < until)
            )
        ]
    places = Places(
        {p.id: p.district for p in directory.posts.values()},
        directory.district_of_number,
        ZoneInfo(directory.timezone),
    )
    return compute(calls, decisions, places, since, until, ratings, ruled_out, callbacks, district)


def to_csv(rep: Report, by: str | None = None) -> str:
    """One line per scope (the total, then each group of `by`; every group when None)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["scope", "id", *FIELDS])
    for scope, key, figures in rows(rep, by):
        data = figures.as_json()
        writer.writerow([scope, key, *("" if data[f] is None else data[f] for f in FIELDS)])
    return out.getvalue()
