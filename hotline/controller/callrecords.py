"""What the call tracker's changes and a finished IVR walk become in the store.

Each function returns a write for `hotline.store.writebehind.WriteBehind`: AMI callbacks must never
block (Asterisk drops a reader that stalls), and a database that is away for a while must not
lose a call, so rows are written behind the calls, in order, retried until stored.
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from hotline.pbx.calltracker import CallSnapshot, Change
from hotline.store.models import Call, IvrStep, Leg
from hotline.store.writebehind import Job
from ivr.outcome import UNKNOWN, call_outcome, own_call_outcome
from ivr.runtime import Step

log = logging.getLogger("hotline.calls")


def calls_and_legs(changes: list[Change]) -> Job:
    """Upsert the call and leg rows the changes describe (latest state wins)."""
    rows = [
        Call(**dataclasses.asdict(snap))
        if isinstance(snap, CallSnapshot)
        else Leg(**dataclasses.asdict(snap))
        for _kind, snap in changes
    ]

    ended = [snap.linkedid for kind, snap in changes if kind == "call.ended"]

    def job(session: Session) -> None:
        for row in rows:
            session.merge(row)
        if ended:
            session.flush()
            for linkedid in ended:
                settle(session, linkedid)

    return job


def settle(session: Session, linkedid: str) -> None:
    """Decide an ended call's outcome from what both sides have stored (ivr/outcome.py): the
    tracker's hang-up and answered legs, the IVR's summary. Each side calls this after its
    own write, so the later one settles it."""
    call = session.get(Call, linkedid)
    if call is None or call.ended_at is None or call.outcome == UNKNOWN:
        return
    answered = session.scalar(
        select(Leg.uniqueid).where(Leg.linkedid == linkedid, Leg.answered_at.is_not(None)).limit(1)
    )
    call.outcome = call_outcome(True, answered is not None, call.ivr_end)


def asked_at(linkedid: str, at: datetime) -> Job:
    """The caller asked for a person at `at` (the latest ask counts: a caller sent to leave a
    message who asks again waits from the second time)."""

    def job(session: Session) -> None:
        session.execute(update(Call).where(Call.linkedid == linkedid).values(asked_at=at))

    return job


def ivr_ended(linkedid: str, end: str) -> Job:
    """The IVR's summary of the call (ivr/outcome.py IVR_ENDS), then its outcome settled.
    A call without a row (the classic AGI entry with nobody following Asterisk's events) is
    left without one: the IVR path is kept all the same."""

    def job(session: Session) -> None:
        call = session.get(Call, linkedid)
        if call is None:
            return
        call.ivr_end = end
        session.flush()
        settle(session, linkedid)

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


def own_call(
    linkedid: str,
    kind: str,
    serves: str,
    number: str,
    started_at: datetime,
    answered_at: datetime | None,
    ended_at: datetime,
) -> Job:
    """A callback or survey call of ours as a call row of its `kind`, naming the call it
    serves, so its talk time and outcome count (the tracker follows only calls in)."""
    row = Call(
        linkedid=linkedid,
        kind=kind,
        serves=serves,
        caller_number=number,
        started_at=started_at,
        answered_at=answered_at,
        ended_at=ended_at,
        outcome=own_call_outcome(answered_at is not None),
    )

    def job(session: Session) -> None:
        session.merge(row)

    return job
