"""Carrying routing out for the runtime: the plan from presence and history, claims so two
calls never ring the same free agent at once, and the decision stored with its reasons."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from routing.directory import Directory, Post
from routing.presence import Presence
from routing.router import DialStep, Plan, plan_call
from store.db import write
from store.models import Call, Leg, RouteDecision

log = logging.getLogger("hotline.routing")


@dataclass(frozen=True)
class RouteRequest:
    call_id: str
    caller: str
    post: Post | None
    business: str
    district: str


class RoutingDesk:
    def __init__(
        self,
        directory: Directory,
        presence: Presence,
        sessions: sessionmaker[Session] | None,
        ring_timeout: int = 20,
        first_inquiry_days: int = 7,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.directory = directory
        self.presence = presence
        self.sessions = sessions
        self.ring_timeout = ring_timeout
        self.first_inquiry = timedelta(days=first_inquiry_days)
        self.now = now
        self.claimed: set[str] = set()  # agents being rung by one of our calls right now

    async def plan(self, request: RouteRequest) -> Plan:
        owner = await asyncio.to_thread(self.owner_of, request.caller) if request.caller else None
        return plan_call(
            self.directory,
            request.post,
            request.business,
            request.district or None,
            self.presence.snapshot(self.now()),
            self.ring_timeout,
            owner=owner,
            claimed=self.claimed,
        )

    def claim(self, agent_id: str) -> bool:
        """Take the agent for one ring; False if another call has them (no await in between:
        the check and the claim happen in one step of the event loop)."""
        if agent_id in self.claimed:
            return False
        self.claimed.add(agent_id)
        return True

    def release(self, agent_id: str) -> None:
        self.claimed.discard(agent_id)

    def owner_of(self, caller: str) -> str | None:
        """First-inquiry responsibility: the agent who last answered this caller recently."""
        if self.sessions is None:
            return None
        since = self.now() - self.first_inquiry
        with self.sessions() as session:
            query = (
                select(Leg.agent_id)
                .join(Call, Call.linkedid == Leg.linkedid)
                .where(
                    Call.caller_number == caller,
                    Leg.answered_at.is_not(None),
                    Leg.answered_at >= since,
                    Leg.agent_id.is_not(None),
                )
                .order_by(Leg.answered_at.desc())
                .limit(1)
            )
            return session.scalars(query).first()

    async def record(
        self, request: RouteRequest, plan: Plan, attempts: list[tuple[DialStep, str]]
    ) -> None:
        answered = next((s.agent_id for s, status in attempts if status == "ANSWER"), None)
        tried = [f"{s.agent_id} {status}" for s, status in attempts]
        chain = plan.describe() + (f" | rang: {', '.join(tried)}" if tried else "")
        log.info(
            "event=route.decision call=%s answered_by=%s chain=%r",
            request.call_id,
            answered or "-",
            chain,
        )
        if self.sessions is None:
            return
        row = RouteDecision(
            linkedid=request.call_id,
            decided_at=self.now(),
            post=plan.post.id if plan.post else "",
            chain=chain,
            answered_by=answered,
        )
        await asyncio.to_thread(self._store, row)

    def _store(self, row: RouteDecision) -> None:
        assert self.sessions is not None
        with write(self.sessions) as session:
            session.add(row)
