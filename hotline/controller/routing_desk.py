"""Carrying routing out for the runtime: the plan from presence and history (its steps decided
one at a time as the runtime rings), claims so two calls never ring the same free agent at once,
agents paused after rings they let run out, and the decision stored with its reasons when the
call's routing ends."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from hotline.matters.ownership import Owner, matter_owner
from hotline.store.db import write
from hotline.store.leases import AgentClaims
from hotline.store.models import Callback, RouteDecision
from hotline.store.writebehind import WriteBehind
from ivr.ports import RouteRequest
from routing.directory import Directory
from routing.presence import NO_ANSWER_PAUSE, Presence
from routing.queueing import QueuePolicy
from routing.router import DialStep, Overflow, Plan, plan_call, prepare
from routing.settings import OwnershipRule
from routing.waiting import Waiter, WaitingLine

log = logging.getLogger("hotline.routing")


# a caller ID we will dial back: ASCII digits only (\d takes any script's digits and $ a
# trailing newline)
CALLBACK_NUMBER = re.compile(r"^[0-9]{3,20}\Z")


def first_reached_a(plan: Plan, attempts: list[tuple[DialStep, str]]) -> bool:
    """The routing came to the post's A step: A was rung (by this plan or one made while the
    caller waited in line) or passed over. Not when the first-inquiry owner answered first, or
    the caller hung up while the owner rang."""
    return plan.reached("A") or any(step.role == "A" for step, _status in attempts)


class RoutingDesk:
    def __init__(
        self,
        directory: Directory,
        presence: Presence,
        sessions: sessionmaker[Session] | None,
        ring_timeout: int = 8,
        ownership: OwnershipRule | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        queue: QueuePolicy | None = None,
        store: WriteBehind | None = None,
        overflow: Overflow | None = None,
        auto_pause_after: int = 2,
    ) -> None:
        self.directory = directory
        self.ring_timeout = ring_timeout
        self.overflow = overflow or Overflow()
        # every route made now, not by a caller's first call
        prepare(directory, ring_timeout, self.overflow)
        self.store = store  # decisions are written behind the call (kept if the db is away)
        self.presence = presence
        self.sessions = sessions
        self.ownership = ownership or OwnershipRule()
        self.auto_pause_after = auto_pause_after  # 0: never
        self.rang_out: dict[str, int] = {}  # agent -> rings in a row they let run out
        self.now = now
        self.queue = queue or QueuePolicy()
        self.line = WaitingLine(self.queue.average_handle_seconds)
        self.claimed: set[str] = set()  # agents being rung by one of our calls right now
        # several controllers: claims are taken in the database too (share_claims)
        self.shared: AgentClaims | None = None
        self.tokens: dict[str, str] = {}  # our database claims, by agent
        self.releasing: set[asyncio.Future[None]] = set()
        self._plans: dict[str, Plan] = {}  # each live call's latest plan (the dashboard's AB step)
        self.callbacks_waiting: list[datetime] = []  # pending callbacks' places in line

    def use_directory(self, directory: Directory) -> None:
        """A reloaded seat directory: its routes are made now, for the calls that follow."""
        self.directory = directory
        prepare(directory, self.ring_timeout, self.overflow)

    async def plan(self, request: RouteRequest, waited: float = 0.0) -> Plan:
        """The call's plan after `waited` seconds since the caller asked (overflow tiers open
        as the wait grows)."""
        owner = None
        if request.caller and self.sessions is not None:
            try:
                owner = await asyncio.to_thread(self.owner_of, request.caller, request.business)
            except SQLAlchemyError as exc:  # the call is routed all the same, without history
                log.warning("event=route.no-history call=%s reason=%r", request.call_id, str(exc))
        plan = plan_call(
            self.directory,
            request.post,
            request.business,
            request.district or None,
            self.presence.snapshot(),
            self.ring_timeout,
            owner=owner.agent_id if owner else None,
            claimed=self.claimed,  # live: each step skips the agents claimed at that moment
            owner_note=self.owner_note(owner) if owner else "",
            overflow=self.overflow,
            waited=waited,
            language=request.language,
        )
        self._plans[request.call_id] = plan
        return plan

    def waiters(self) -> list[Waiter]:
        """The callers waiting in line now, first in line first."""
        return list(self.line.waiters)

    def plan_of(self, call_id: str) -> Plan | None:
        """The live call's latest plan (the dashboard shows its AB step)."""
        return self._plans.get(call_id)

    def forget(self, call_id: str) -> None:
        """The call's routing is over (its IVR session or the call ended): its plan goes."""
        self._plans.pop(call_id, None)

    def planned_calls(self) -> int:
        """How many calls' plans are kept (nothing of an ended call should be)."""
        return len(self._plans)

    def share_claims(self, claims: AgentClaims) -> None:
        """Several controllers on one database: every claim is also a row in agent_claim."""
        self.shared = claims

    async def claim(self, agent_id: str, call_id: str = "") -> bool:
        """Take the agent for one ring (and the talk that follows); False if another call has
        them. In this process the check and the claim happen in one step of the event loop (no
        await in between); with shared claims the database then decides between controllers."""
        if agent_id in self.claimed:
            return False
        self.claimed.add(agent_id)
        if self.shared is None:
            return True
        try:
            token = await asyncio.to_thread(self.shared.take, agent_id, call_id)
        except SQLAlchemyError as exc:
            # the database is away: our own claims still hold, and presence shows an agent
            # ringing or talking for another controller's call; the call is not held up
            log.warning("event=claim.no-database agent=%s reason=%r", agent_id, str(exc))
            return True
        except BaseException:  # cancelled: a row taken meanwhile is not renewed and expires
            self.claimed.discard(agent_id)
            raise
        if token is None:
            self.claimed.discard(agent_id)
            log.info("event=claim.held-elsewhere agent=%s call=%s", agent_id, call_id)
            return False
        self.tokens[agent_id] = token
        return True

    def release(self, agent_id: str) -> None:
        self.claimed.discard(agent_id)
        token = self.tokens.pop(agent_id, None)
        if token is not None and self.shared is not None:
            task = asyncio.ensure_future(asyncio.to_thread(self._release_shared, agent_id, token))
            self.releasing.add(task)
            task.add_done_callback(self.releasing.discard)

    def _release_shared(self, agent_id: str, token: str) -> None:
        assert self.shared is not None
        try:
            self.shared.release(agent_id, token)
        except SQLAlchemyError as exc:  # the row expires with its lease
            log.warning("event=claim.release-failed agent=%s reason=%r", agent_id, str(exc))

    def renew_claims(self) -> None:
        """Blocking (a worker thread): the database claims of calls still ringing or talking
        live on; a dead controller's expire."""
        if self.shared is not None and self.tokens:
            self.shared.renew(list(self.tokens.values()))

    def agents_on_duty(self) -> int:
        snapshot = self.presence.snapshot()
        return sum(
            1 for p in snapshot.values() if p.state.value not in ("logged-out", "unreachable")
        )

    def offers_callback(self, request: RouteRequest) -> bool:
        """Callbacks are on, kept somewhere, and the caller ID is a number we may dial."""
        return (
            self.queue.callbacks
            and self.sessions is not None
            and bool(CALLBACK_NUMBER.match(request.caller))
        )

    def callbacks_pending(self, places: Iterable[datetime]) -> None:
        """At start: the pending callbacks' places in line, as stored."""
        self.callbacks_waiting = sorted(_utc(t) for t in places)

    def callback_placed(self, queued_at: datetime) -> None:
        """A callback is being dialled: it leaves its place in line."""
        self.callbacks_waiting = [t for t in self.callbacks_waiting if t != _utc(queued_at)]

    def callback_requeued(self, queued_at: datetime) -> None:
        """A callback to try again keeps the place it queued at."""
        self.callbacks_waiting = sorted([*self.callbacks_waiting, _utc(queued_at)])

    def oldest_waiting(self) -> datetime | None:
        """When the caller longest in line joined it, None if nobody waits."""
        return self.line.oldest()

    def callback_ahead_of(self, joined_at: datetime) -> bool:
        """A booked callback that queued earlier goes first."""
        return any(t < joined_at for t in self.callbacks_waiting)

    async def book_callback(self, request: RouteRequest, joined_at: datetime) -> bool:
        """Store the callback with the caller's place in line; False if we cannot call back."""
        if not CALLBACK_NUMBER.match(request.caller) or self.sessions is None:
            return False
        row = Callback(
            linkedid=request.call_id,
            number=request.caller,
            post=request.post.id if request.post else "",
            business=request.business,
            district=request.district,
            queued_at=joined_at,
            next_attempt_at=joined_at,
        )
        await asyncio.to_thread(self._store, row)
        self.callbacks_waiting.append(joined_at)
        log.info("event=callback.booked call=%s", request.call_id)
        return True

    def owner_of(self, caller: str, business: str) -> Owner | None:
        """Blocking: the owner of the caller's matter about this business
        (hotline/matters/ownership.py)."""
        if self.sessions is None:
            return None
        with self.sessions() as session:
            return matter_owner(session, caller, business, self.now(), self.ownership)

    def owner_note(self, owner: Owner) -> str:
        """Why the owner is asked first, for the chain: "first answered 2026-12-01, pension"."""
        answered = owner.answered_at
        if answered.tzinfo is None:  # SQLite gives naive datetimes back: they are UTC
            answered = answered.replace(tzinfo=UTC)
        day = answered.astimezone(ZoneInfo(self.directory.timezone)).date().isoformat()
        if owner.matter:
            return f"owner of matter {owner.matter} opened {day}, {owner.business}"
        how = "first" if self.ownership.rule == "first" else "last"
        return f"{how} answered {day}, {owner.business}"

    def rang(self, agent_id: str, status: str) -> bool:
        """One ring of a routed call ended with Dial's `status`: an agent who lets
        `auto_pause_after` rings in a row run out (NOANSWER) is paused with reason
        `no-answer`, so later callers do not each wait out their ring; they resume from the
        seat (*14) or `hotline agent resume`. Busy or unreachable seats do not count: presence
        already skips those. True when this ring paused them."""
        if status == "ANSWER":
            self.rang_out.pop(agent_id, None)
            return False
        if status != "NOANSWER" or self.auto_pause_after <= 0:
            return False
        missed = self.rang_out.get(agent_id, 0) + 1
        if missed < self.auto_pause_after:
            self.rang_out[agent_id] = missed
            return False
        self.rang_out.pop(agent_id, None)
        self.presence.pause(agent_id, NO_ANSWER_PAUSE, self.now())
        log.warning("event=agent.auto-paused agent=%s rings_unanswered=%d", agent_id, missed)
        return True

    async def record(
        self,
        request: RouteRequest,
        plan: Plan,
        attempts: list[tuple[DialStep, str]],
        queued: float = 0.0,
        later: Plan | None = None,
    ) -> None:
        """Store the decision: the first plan's chain, the time in line, and `later`, the
        plan made while the caller waited that rang someone (an agent came free, or an
        overflow tier opened)."""
        answering = next((s for s, status in attempts if status == "ANSWER"), None)
        answered = answering.agent_id if answering is not None else None
        reached_a = first_reached_a(plan, attempts)
        tried = [f"{s.agent_id} {status}" for s, status in attempts]
        chain = plan.describe()
        if queued:
            chain += f" | queued {queued:.0f} s"
        if later is not None and later is not plan and later.steps:
            chain += f" | then: {later.describe()}"
        if tried:
            chain += f" | rang: {', '.join(tried)}"
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
            business=request.business,
            chain=chain,
            answered_by=answered,
            reached_a=reached_a,
            answered_role=answering.role if answering is not None else None,
        )
        if self.store is not None:
            self.store.submit("route_decision", lambda session: session.add(row))
        else:
            await asyncio.to_thread(self._store, row)

    def _store(self, row: RouteDecision | Callback) -> None:
        assert self.sessions is not None
        with write(self.sessions) as session:
            session.add(row)


def _utc(at: datetime) -> datetime:
    """Stored places come back from SQLite without their zone (they are UTC); the line's
    places are zone-aware, and the two must compare."""
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)
