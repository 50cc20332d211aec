"""What the call tracker's changes and a finished IVR walk become in the store.

Each function returns a write for `store.writebehind.WriteBehind`: AMI callbacks must never
block (Asterisk drops a reader that stalls), and a database that is away for a while must not
lose a call, so rows are written behind the calls, in order, retried until stored.
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from store.models import Call, IvrStep, Leg
from store.writebehind import Job

from .calltracker import CallSnapshot, Change
from .runtime import Step

log = logging.getLogger("hotline.calls")


def calls_and_legs(changes: list[Change]) -> Job:
    """Upsert the call and leg rows the changes describe (latest state wins)."""
    rows = [
        Call(**dataclasses.asdict(snap))
        if isinstance(snap, CallSnapshot)
        else Leg(**dataclasses.asdict(snap))
        for _kind, snap in changes
    ]

    def job(session: Session) -> None:
        for row in rows:
            session.merge(row)

    return job


def ivr_path(linkedid: str, steps: list[Step], first: int = 0) -> Job:
    """The nodes one call went through, in order (an in-call survey's follow from `first`)."""
    rows = [
        IvrStep(
            linkedid=linkedid,
            seq=first + n,
            node=s.node,
            outcome=s.outcome,
            entered_at=s.started,
            duration_ms=int(s.seconds * 1000),
        )
        for n, s in enumerate(steps)
    ]

    def job(session: Session) -> None:
        session.add_all(rows)

    return job


def close_stale_calls(keep: set[str], asked_at: datetime, now: datetime) -> Job:
    """Calls stored as live that Asterisk no longer has (they ended while no controller was
    listening) are closed with the outcome 'unknown': no stale state survives a restart.
    `keep`: linkedids Asterisk or this controller still knows; calls that started after
    `asked_at` are left alone (their events may still be on the way)."""

    def job(session: Session) -> None:
        stale = [
            c
            for c in session.scalars(
                select(Call).where(Call.outcome == "live", Call.started_at < asked_at)
            )
            if c.linkedid not in keep
        ]
        for call in stale:
            call.outcome, call.ended_at = "unknown", now
            for leg in call.legs:
                leg.ended_at = leg.ended_at or now
        if stale:
            log.warning(
                "event=calls.closed-stale count=%d linkedids=%s",
                len(stale),
                ",".join(c.linkedid for c in stale[:10]),
            )

    return job
