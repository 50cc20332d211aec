"""The agent's desk in the database: a caller's history for the pop, who answered a call (the
desk's scope), the call awaiting its wrap-up code, and the wrap-up itself. Synchronous: the
web handlers run these in a thread."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload, sessionmaker

from hotline.store import wrapup_owed
from hotline.store.db import write
from hotline.store.models import Call, Callback, IvrStep, Leg, RouteDecision, Survey, Ticket, WrapUp
from hotline.supervisor.desk_card import (
    RECENT_CALLS,
    CallerHistory,
    DueCallback,
    OpenTicket,
    PastCall,
)
from routing.wrapup import WrapUpPolicy

CLOSED_TICKETS = ("closed", "answered")
DUE_CALLBACKS = ("pending", "dialing")


class WrapUpRefused(Exception):
    """A wrap-up that cannot be stored (one line for the agent)."""


def history(sessions: sessionmaker[Session], caller_number: str, linkedid: str) -> CallerHistory:
    """The caller's recent inbound calls (newest first, the current one included when it is
    stored already), open tickets, last survey rating and callbacks not yet placed."""
    if not caller_number:
        return CallerHistory(business=_business(sessions, linkedid))
    with sessions() as s:
        calls = s.scalars(
            select(Call)
            .where(Call.caller_number == caller_number, Call.kind == "inbound")
            .order_by(Call.started_at.desc())
            .limit(RECENT_CALLS + 1)
            .options(selectinload(Call.legs))
        ).all()
        ids = [c.linkedid for c in calls]
        paths: dict[str, list[str]] = {i: [] for i in ids}
        for step in s.scalars(
            select(IvrStep).where(IvrStep.linkedid.in_(ids)).order_by(IvrStep.seq)
        ):
            paths[step.linkedid].append(step.node)
        codes = {
            w.linkedid: w.code for w in s.scalars(select(WrapUp).where(WrapUp.linkedid.in_(ids)))
        }
        past = [
            PastCall(
                c.linkedid,
                _aware(c.started_at),
                c.outcome,
                tuple(leg.agent_id for leg in c.legs if leg.answered_at and leg.agent_id),
                tuple(paths[c.linkedid]),
                codes.get(c.linkedid, ""),
            )
            for c in calls
        ]
        tickets = [
            OpenTicket(t.number, t.category, t.status, _aware(t.created_at))
            for t in s.scalars(
                select(Ticket)
                .where(Ticket.caller_number == caller_number, Ticket.status.not_in(CLOSED_TICKETS))
                .order_by(Ticket.created_at.desc())
                .limit(20)
            )
        ]
        survey = s.scalars(
            select(Survey)
            .where(Survey.caller_number == caller_number)
            .order_by(Survey.rated_at.desc())
            .limit(1)
        ).first()
        callbacks = [
            DueCallback(c.status, _aware(c.next_attempt_at))
            for c in s.scalars(
                select(Callback)
                .where(Callback.number == caller_number, Callback.status.in_(DUE_CALLBACKS))
                .order_by(Callback.next_attempt_at)
                .limit(10)
            )
        ]
    return CallerHistory(
        calls=past,
        tickets=tickets,
        last_rating=(survey.rating, _aware(survey.rated_at)) if survey else None,
        callbacks=callbacks,
        business=_business(sessions, linkedid),
    )


def call_of(sessions: sessionmaker[Session], linkedid: str) -> tuple[str, list[str | None]] | None:
    """A stored call's caller number and the agents who answered it (None: no such call)."""
    with sessions() as s:
        call = s.get(Call, linkedid[:64], options=[selectinload(Call.legs)])
        if call is None:
            return None
        return call.caller_number, [leg.agent_id for leg in call.legs if leg.answered_at]


def pending_wrap_up(sessions: sessionmaker[Session], agent_id: str) -> str | None:
    """The last call the agent answered, when its wrap-up code is not entered yet."""
    with sessions() as s:
        last = s.scalars(
            select(Leg.linkedid)
            .where(Leg.agent_id == agent_id, Leg.answered_at.is_not(None))
            .order_by(Leg.answered_at.desc())
            .limit(1)
        ).first()
        if last is None:
            return None
        done = s.scalars(
            select(WrapUp.id).where(WrapUp.linkedid == last, WrapUp.agent_id == agent_id)
        ).first()
        return None if done is not None else last


def save_wrap_up(
    sessions: sessionmaker[Session],
    policy: WrapUpPolicy,
    agent_id: str,
    linkedid: str,
    code: str,
    note: str,
    now: datetime | None = None,
) -> WrapUp:
    """Once per call and agent (the database's unique index keeps it so under races); the
    agent must have answered the call; the code must be one of the call's business."""
    business = _business(sessions, linkedid)
    refusal = policy.refusal(code, business)
    if refusal:
        raise WrapUpRefused(refusal)
    found = call_of(sessions, linkedid)
    if found is None or agent_id not in found[1]:
        raise WrapUpRefused(f"call {linkedid[:64]!r} was not answered by agent {agent_id}")
    row = WrapUp(
        linkedid=linkedid[:64],
        agent_id=agent_id,
        business=business,
        code=code,
        note=note[:1000],
        at=now or datetime.now(UTC),
    )
    try:
        with write(sessions) as s:
            s.add(row)
            s.flush()
            wrapup_owed.settle(s, agent_id, row.at)  # the hold ends with the code, in the store too
            s.expunge(row)
    except IntegrityError:
        raise WrapUpRefused(f"call {linkedid[:64]!r} has its wrap-up code already") from None
    return row


def _business(sessions: sessionmaker[Session], linkedid: str) -> str:
    with sessions() as s:
        found = s.scalars(
            select(RouteDecision.business)
            .where(RouteDecision.linkedid == linkedid[:64], RouteDecision.business != "")
            .order_by(RouteDecision.decided_at.desc())
            .limit(1)
        ).first()
        return found or ""


def _aware(at: datetime) -> datetime:
    """SQLite gives naive datetimes back: they are UTC."""
    return at if at.tzinfo else at.replace(tzinfo=UTC)
