"""The wrap-up codes owed (`wrap_up_owed`): written when an agent's leg is answered under
`[routing] wrap_up_required`, cleared when the agent enters a code, read by a controller that
starts (routing/wrapup.held_at_start decides whom it holds)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from hotline.store.models import WrapUp, WrapUpOwed
from hotline.store.writebehind import Job


def owe(linkedid: str, agent_id: str, at: datetime) -> Job:
    """The agent answered the call at `at` and owes its code. Every controller following the
    call writes it, so a second write changes nothing; a code the agent entered since `at`
    (this write waited in the queue while the database was away) settles it already."""

    def job(session: Session) -> None:
        entered = session.scalar(
            select(WrapUp.id).where(WrapUp.agent_id == agent_id, WrapUp.at >= at).limit(1)
        )
        if entered is not None:
            return
        row = {"linkedid": linkedid[:64], "agent_id": agent_id, "owed_at": at}
        dialect = session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        session.execute(insert(WrapUpOwed).values(row).on_conflict_do_nothing())

    return job


def settle(session: Session, agent_id: str, at: datetime) -> None:
    """The agent entered a code at `at`: presence frees them whichever call it was for, so
    every code they owed by then is settled (in the code's own transaction)."""
    session.execute(
        delete(WrapUpOwed).where(WrapUpOwed.agent_id == agent_id, WrapUpOwed.owed_at <= at)
    )


def owed(sessions: sessionmaker[Session]) -> list[tuple[str, str, datetime]]:
    """Every code owed: (agent id, linkedid, answered at)."""
    with sessions() as s:
        return [
            (agent, linkedid, at if at.tzinfo else at.replace(tzinfo=UTC))
            for agent, linkedid, at in s.execute(
                select(WrapUpOwed.agent_id, WrapUpOwed.linkedid, WrapUpOwed.owed_at)
            )
        ]


def forgive(sessions: sessionmaker[Session]) -> int:
    """Codes are not required (any more): nothing owed stays to hold agents the day the rule
    is switched on again. Returns how many were forgiven."""
    with sessions() as s, s.begin():
        result: Any = s.execute(delete(WrapUpOwed))  # a DELETE's result: a cursor's
        return int(result.rowcount)
