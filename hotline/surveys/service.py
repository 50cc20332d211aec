"""Post-call satisfaction surveys: ratings, the survey-call queue, review items.

Durability lives in hotline's own tables (survey, survey_job, review_item): APScheduler is
only the clock that ticks `SurveyDispatcher.tick`. A tick queues a job for each call an agent
answered that has neither a rating nor a job (one job per call: a unique key), then starts
the due jobs under the per-minute cap. Taking a job is one conditional UPDATE
(pending -> dialing), so an attempt is placed once whoever ticks; a job left 'dialing' by a
stopped controller is not redialled (at most once per attempt).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from hotline.pbx.ami import AmiClient, AmiError, AmiNotSent, originate
from hotline.pbx.dialplan import SURVEY_CONTEXT
from hotline.store.db import write
from hotline.store.models import (
    Call,
    DoNotCall,
    Leg,
    ReviewItem,
    RouteDecision,
    Survey,
    SurveyJob,
)
from hotline.surveys.policy import (
    RATINGS,
    SurveyPolicy,
    after_failure,
    is_allowed,
    refusal,
    start_budget,
)
from routing.directory import Directory

log = logging.getLogger("hotline.surveys")

SURVEY_VARIABLE = "HOTLINE_SURVEY"  # the survey job's id, on the survey call's channel
LOOKBACK = timedelta(days=2)  # calls that ended longer ago are not surveyed any more


@dataclass(frozen=True)
class Rating:
    linkedid: str  # the rated call
    caller: str
    rating: str  # one of RATINGS
    reason: str
    comment: str  # the voice comment's file name, or ""
    channel: str  # in-call | survey-call


def _changed(result: Any) -> int:
    return int(result.rowcount)


class SurveyStore:
    """The survey tables. Blocking: call from a worker thread (asyncio.to_thread)."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        directory: Callable[[], Directory],
        policy: SurveyPolicy,
    ) -> None:
        self.sessions = sessions
        self.directory = directory
        self.policy = policy

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.directory().timezone)

    # --- ratings ---------------------------------------------------------------------------

    def save_in(self, session: Session, rating: Rating, now: datetime) -> bool:
        """Store a rating inside the caller's transaction; False when the call was rated
        already (one rating per call: a savepoint keeps a duplicate harmless)."""
        if rating.rating not in RATINGS:
            raise ValueError(f"not a rating: {rating.rating!r}")
        try:
            with session.begin_nested():
                self._add(session, rating, now)
        except IntegrityError:
            return False
        return True

    def _add(self, session: Session, rating: Rating, now: datetime) -> None:
        agent, post = self._who_answered(session, rating.linkedid)
        directory = self.directory()
        district = ""
        if post in directory.posts:
            district = directory.posts[post].district
        elif agent in directory.agents:
            district = directory.agents[agent].office
        survey = Survey(
            linkedid=rating.linkedid,
            caller_number=rating.caller,
            agent_id=agent,
            post=post,
            district=district,
            rating=rating.rating,
            reason=rating.reason,
            comment=rating.comment,
            channel=rating.channel,
            rated_at=now,
        )
        session.add(survey)
        session.flush()
        if rating.rating == "dissatisfied":
            call = session.get(Call, rating.linkedid)
            session.add(
                ReviewItem(
                    linkedid=rating.linkedid,
                    survey_id=survey.id,
                    agent_id=agent,
                    office=directory.agents[agent].office
                    if agent in directory.agents
                    else district,
                    recording=call.recording if call else None,
                    reason=rating.reason,
                    created_at=now,
                )
            )
        session.execute(
            update(SurveyJob)
            .where(SurveyJob.linkedid == rating.linkedid, SurveyJob.status == "pending")
            .values(status="rated", result=f"rated {rating.channel}")
        )

    @staticmethod
    def _who_answered(session: Session, linkedid: str) -> tuple[str | None, str]:
        """The agent who answered the call last, and the post the router chose."""
        agent = session.scalars(
            select(Leg.agent_id)
            .where(Leg.linkedid == linkedid, Leg.answered_at.is_not(None))
            .order_by(Leg.answered_at.desc())
            .limit(1)
        ).first()
        post = session.scalars(
            select(RouteDecision.post)
            .where(RouteDecision.linkedid == linkedid)
            .order_by(RouteDecision.decided_at.desc())
            .limit(1)
        ).first()
        return agent, post or ""

    # --- the survey-call queue -------------------------------------------------------------

    def enqueue(self, now: datetime) -> int:
        """A job for every ended call an agent answered with no rating and no job yet."""
        queued = 0
        with self.sessions() as session:
            calls = session.scalars(
                select(Call).where(
                    Call.outcome == "answered",
                    Call.kind == "inbound",  # not our own callback and survey calls
                    Call.ended_at.is_not(None),
                    Call.ended_at >= now - LOOKBACK,
                    ~select(Survey.id).where(Survey.linkedid == Call.linkedid).exists(),
                    ~select(SurveyJob.id).where(SurveyJob.linkedid == Call.linkedid).exists(),
                )
            ).all()
        for call in calls:
            assert call.ended_at is not None
            queued += self._enqueue_one(call.linkedid, call.caller_number, call.ended_at, now)
        return queued

    def _enqueue_one(self, linkedid: str, number: str, ended: datetime, now: datetime) -> int:
        try:
            with write(self.sessions) as session:
                agent, _post = self._who_answered(session, linkedid)
                why = self._refusal(session, number, now)
                if why is None and session.scalar(
                    select(SurveyJob.id).where(
                        SurveyJob.number == number, SurveyJob.status.in_(("pending", "dialing"))
                    )
                ):
                    why = "a survey is already queued for this caller"
                session.add(
                    SurveyJob(
                        linkedid=linkedid,
                        number=number,
                        agent_id=agent,
                        created_at=now,
                        status="skipped" if why else "pending",
                        result=why or "",
                        next_attempt_at=ended + self.policy.delay,
                    )
                )
        except IntegrityError:
            return 0  # another controller queued it first
        log.info(
            "event=survey.%s linkedid=%s%s",
            "skipped" if why else "queued",
            linkedid,
            f" reason={why!r}" if why else "",
        )
        return 1

    def _refusal(
        self, session: Session, number: str, now: datetime, linkedid: str = ""
    ) -> str | None:
        """Why no survey call may go to `number` now (the call `linkedid`'s own earlier
        attempts do not count against it)."""
        return refusal(
            number,
            session.get(DoNotCall, number) is not None,
            self._last_surveyed(session, number, linkedid),
            now,
            self.policy,
        )

    def _last_surveyed(self, session: Session, number: str, linkedid: str) -> datetime | None:
        """When this caller was last asked: rated, or a survey call placed."""
        rated = session.scalar(
            select(func.max(Survey.rated_at)).where(Survey.caller_number == number)
        )
        called = session.scalar(
            select(func.max(SurveyJob.last_attempt_at)).where(
                SurveyJob.number == number, SurveyJob.linkedid != linkedid
            )
        )
        known = [_utc(t) for t in (rated, called) if t is not None]
        return max(known) if known else None

    def started_since(self, since: datetime) -> int:
        with self.sessions() as session:
            return int(
                session.scalar(
                    select(func.count(SurveyJob.id)).where(SurveyJob.last_attempt_at >= since)
                )
                or 0
            )

    def take_due(self, now: datetime, budget: int) -> list[SurveyJob]:
        """Up to `budget` due jobs, oldest first, each moved to 'dialing' exactly once."""
        if budget <= 0:
            return []
        if not is_allowed(now, self.policy, self.zone):
            return []  # outside the allowed hours: nothing starts
        with self.sessions() as session:
            due = session.scalars(
                select(SurveyJob)
                .where(SurveyJob.status == "pending", SurveyJob.next_attempt_at <= now)
                .order_by(SurveyJob.next_attempt_at, SurveyJob.id)
                .limit(budget)
            ).all()
        taken = []
        for job in due:
            with write(self.sessions) as session:
                # what changed since it was queued: a rating after all, the do-not-call
                # list, another survey of this caller
                if session.scalar(select(Survey.id).where(Survey.linkedid == job.linkedid)):
                    status, why = "rated", "rated in the call"
                else:
                    status, why = (
                        "skipped",
                        self._refusal(session, job.number, now, job.linkedid) or "",
                    )
                if why:
                    session.execute(
                        update(SurveyJob)
                        .where(SurveyJob.id == job.id, SurveyJob.status == "pending")
                        .values(status=status, result=why)
                    )
                    continue
                if _changed(
                    session.execute(
                        update(SurveyJob)
                        .where(SurveyJob.id == job.id, SurveyJob.status == "pending")
                        .values(
                            status="dialing", attempts=SurveyJob.attempts + 1, last_attempt_at=now
                        )
                    )
                ):
                    taken.append(job)
        return taken

    def attempt_ended(self, job_id: int, answered: bool, why: str, now: datetime) -> str:
        """Record how a survey call went; returns the job's new status."""
        with write(self.sessions) as session:
            job = session.get(SurveyJob, job_id)
            if job is None or job.status != "dialing":
                return job.status if job else "gone"
            job.result = why
            if answered:
                job.status = "answered"
            elif (again := after_failure(now, job.attempts, self.policy)) is None:
                job.status = "failed"
            else:
                job.status, job.next_attempt_at = "pending", again
            return job.status

    def lost(self, job_id: int, why: str) -> None:
        """An attempt whose fate Asterisk did not report: 'unknown', never placed again (the
        caller may have been rung, or be answering it)."""
        with write(self.sessions) as session:
            job = session.get(SurveyJob, job_id)
            if job is not None and job.status == "dialing":
                job.status, job.result = "unknown", why

    def job(self, job_id: int) -> SurveyJob | None:
        with self.sessions() as session:
            return session.get(SurveyJob, job_id)

    def recover(self) -> int:
        """At start: jobs a stopped controller left 'dialing' are not redialled."""
        with write(self.sessions) as session:
            return _changed(
                session.execute(
                    update(SurveyJob)
                    .where(SurveyJob.status == "dialing")
                    .values(status="unknown", result="controller stopped while dialing")
                )
            )


def _utc(t: datetime) -> datetime:
    """SQLite hands times back naive (they were stored as UTC)."""
    return t if t.tzinfo else t.replace(tzinfo=UTC)


class SurveyDispatcher:
    """The clock's side: queue, then place the due survey calls through AMI Originate."""

    def __init__(
        self,
        store: SurveyStore,
        ami: AmiClient,
        caller_id: str,
        trunk: str,
        now: Callable[[], datetime],
    ) -> None:
        self.store = store
        self.ami = ami
        self.caller_id = caller_id
        self.trunk = trunk
        self.now = now
        self.busy = False
        self.calls: set[asyncio.Future[None]] = set()

    async def tick(self) -> None:
        if self.busy or not self.ami.logged_in:
            return
        self.busy = True
        try:
            now = self.now()
            await asyncio.to_thread(self.store.enqueue, now)
            started = await asyncio.to_thread(self.store.started_since, now - timedelta(minutes=1))
            budget = start_budget(started, self.store.policy)
            for job in await asyncio.to_thread(self.store.take_due, now, budget):
                self.calls.add(task := asyncio.ensure_future(self._place(job)))
                task.add_done_callback(self.calls.discard)
        except Exception:
            log.exception("event=survey.tick-failed")
        finally:
            self.busy = False

    async def _place(self, job: SurveyJob) -> None:
        ring = self.store.policy.ring_seconds
        log.info("event=survey.dialing id=%d linkedid=%s", job.id, job.linkedid)
        answered, why = False, ""
        try:
            final = await originate(
                self.ami,
                f"PJSIP/{job.number}@{self.trunk}",
                SURVEY_CONTEXT,
                ring,
                self.caller_id,
                [f"{SURVEY_VARIABLE}={job.id}"],
                reply_within=ring + 15,
            )
            answered = final is not None and final.get("Response") == "Success"
            why = "answered" if answered else _reason(final)
        except AmiNotSent as exc:  # Asterisk did nothing: the job is tried again later
            why = f"originate failed: {exc}"
        except AmiError as exc:  # Asterisk may have placed it: never twice
            why = f"no reply from Asterisk: {exc}"
            await asyncio.to_thread(self.store.lost, job.id, why)
            log.warning("event=survey.unknown id=%d reason=%r (not placed again)", job.id, why)
            return
        status = await asyncio.to_thread(
            self.store.attempt_ended, job.id, answered, why, self.now()
        )
        log.info("event=survey.attempt id=%d result=%r status=%s", job.id, why, status)


# Asterisk's Originate failure reasons (the OriginateResponse Reason header)
_REASONS = {"0": "failed", "1": "hung up", "3": "no answer", "5": "busy", "8": "congestion"}


def _reason(message: Mapping[str, Any] | None) -> str:
    if message is None:
        return "no reply from Asterisk"
    return _REASONS.get(str(message.get("Reason", "")), f"reason {message.get('Reason', '?')}")
