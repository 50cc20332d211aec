"""Placing booked callbacks: in the order callers queued, once each, when an agent is free.

APScheduler is only the clock (a tick every couple of seconds); the callbacks live in the
`callback` table. A tick takes the oldest due callback, unless a live caller has waited
longer, finds a free agent with the router, claims them, and moves the row from 'pending' to
'dialing' in one conditional UPDATE (a second dispatcher cannot take it too). It then asks
Asterisk to ring the agent (AMI Originate); when the agent answers, the dialplan's
hotline-callback context dials the caller and reports the result in a UserEvent.

At most once: a callback whose fate Asterisk did not report is never placed again but ends
'unknown' (the caller may have been reached): an Originate sent but unanswered because the AMI
link dropped, or an answered callback whose call Asterisk no longer has when the link comes
back (Asterisk restarted, or the result was lost while the link was down).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from hotline.controller.callrecords import own_call
from hotline.controller.routing_desk import RouteRequest, RoutingDesk
from hotline.pbx.ami import AmiClient, AmiError, AmiNotSent, originate
from hotline.pbx.dialplan import CALLBACK_CONTEXT, CALLBACK_EVENT
from hotline.store.db import write
from hotline.store.models import Callback

log = logging.getLogger("hotline.callbacks")

MAX_ATTEMPTS = 3


@dataclass(frozen=True)
class OwnCall:
    """A placed callback's call: its linkedid and times (answered: the citizen's answer)."""

    linkedid: str
    started_at: datetime
    answered_at: datetime | None
    ended_at: datetime


RETRY_AFTER = timedelta(minutes=2)


def _changed(result: Any) -> int:
    """Rows an UPDATE changed (a CursorResult's rowcount)."""
    return int(result.rowcount)


class CallbackDispatcher:
    def __init__(
        self,
        desk: RoutingDesk,
        ami: AmiClient,
        sessions: sessionmaker[Session],
        caller_id: str,
        on_outcome: Callable[[int, str], None] | None = None,
    ) -> None:
        """`on_outcome(callback id, Asterisk's status)`: blocking, called in a worker thread
        after each result is stored (a callback booked about a matter writes it there)."""
        self.desk = desk
        self.on_outcome = on_outcome
        self.ami = ami
        self.sessions = sessions
        self.caller_id = caller_id
        self.busy = False  # one callback being placed at a time keeps the order simple
        self.tasks: set[asyncio.Future[None]] = set()
        # callbacks whose agent answered, until their result comes: id -> (the agent's channel's
        # uniqueid, which is its call's linkedid; when the agent answered)
        self.in_flight: dict[int, tuple[str, datetime]] = {}

    def recover(self) -> None:
        """At start: rows left 'dialing' by a stopped controller are not redialled (the caller
        may have been reached: at most once); pending ones take their places in line."""
        with write(self.sessions) as session:
            stuck = _changed(
                session.execute(
                    update(Callback)
                    .where(Callback.status == "dialing")
                    .values(status="unknown", result="controller restarted")
                )
            )
            pending = session.scalars(
                select(Callback.queued_at).where(Callback.status == "pending")
            ).all()
        self.desk.callbacks_waiting = sorted(pending)
        if stuck:
            log.warning(
                "event=callback.unknown count=%d reason='controller restarted while dialing'", stuck
            )

    async def tick(self) -> None:
        if self.busy or not self.ami.logged_in:
            return
        self.busy = True
        try:
            await self._place_next()
        finally:
            self.busy = False

    async def _place_next(self) -> None:
        due = await asyncio.to_thread(self._next_due)
        if due is None:
            return
        oldest_live = self.desk.line.oldest()
        if oldest_live is not None and oldest_live < due.queued_at:
            return  # a caller on the line has waited longer
        post = self.desk.directory.posts.get(due.post) if due.post else None
        request = RouteRequest(due.linkedid, due.number, post, due.business, due.district)
        plan = await self.desk.plan(request)
        # the desk keeps each plan by call for the dashboard; this call ended long ago, so no
        # call.ended would ever drop it (one plan kept per callback attempt)
        self.desk.plans.pop(due.linkedid, None)
        step = plan.next_step()
        while step is not None and not await self.desk.claim(step.agent_id, due.linkedid):
            step = plan.next_step()  # held by another controller: the next one
        if step is None:
            return  # nobody free yet
        try:
            if not await asyncio.to_thread(self._take, due.id, step.agent_id):
                return  # another dispatcher took it
            self._forget_place(due.queued_at)
            log.info("event=callback.dialing id=%d agent=%s", due.id, step.agent_id)
            try:
                channel = await self._ring_agent(due, step.endpoint, step.timeout)
            except AmiNotSent as exc:  # Asterisk did nothing: it is placed again
                log.warning("event=callback.originate-failed id=%d reason=%r", due.id, str(exc))
                channel = None
            except AmiError as exc:  # Asterisk may have placed it: never twice
                await self._unknown(due.id, f"no reply from Asterisk: {exc}")
                return
        finally:
            self.desk.release(step.agent_id)
        if channel is None:  # the agent did not pick up: back in its place, soon again
            again = await asyncio.to_thread(
                self._requeue, due.id, "agent did not answer", 0, timedelta(seconds=5)
            )
            self._keep_place(again)
        else:
            self.in_flight[due.id] = (channel, self.desk.now())
            log.info(
                "event=callback.answered id=%d agent=%s call=%s", due.id, step.agent_id, channel
            )

    async def _unknown(self, callback_id: int, why: str) -> None:
        self.in_flight.pop(callback_id, None)
        await asyncio.to_thread(self._finish, callback_id, "unknown", why)
        log.warning("event=callback.unknown id=%d reason=%r (not placed again)", callback_id, why)

    def forget_gone(self, alive: set[str], asked: datetime) -> None:
        """After a reconnect: `alive` are the linkedids of the calls Asterisk has, listed at
        `asked`. A callback answered before that whose call is not among them ended unseen."""
        for callback_id, (linkedid, since) in list(self.in_flight.items()):
            if since < asked and linkedid not in alive:
                why = "Asterisk no longer had the call when the AMI link came back"
                self.tasks.add(task := asyncio.ensure_future(self._unknown(callback_id, why)))
                task.add_done_callback(self.tasks.discard)

    async def _ring_agent(self, due: Callback, endpoint: str, timeout: int) -> str | None:
        """The agent's channel's uniqueid once they answered ('' if Asterisk did not give it),
        None when they did not. Raises AmiError when the Originate's fate is not known
        (AmiNotSent: it was never sent)."""
        final = await originate(
            self.ami,
            f"PJSIP/{self.desk.directory.dial_target(endpoint)}",
            CALLBACK_CONTEXT,
            timeout,
            self.caller_id,
            [f"HOTLINE_CALLBACK={due.id}", f"HOTLINE_NUMBER={due.number}"],
            reply_within=timeout + 10,
        )
        if final is None or final.get("Response") != "Success":
            return None
        return str(final.get("Uniqueid", ""))

    def on_result(self, event: Mapping[str, str]) -> str | None:
        """The dialplan's report of the call to the caller (a UserEvent). AMI callbacks must
        not block: the row is updated in a worker thread."""
        if event.get("UserEvent") != CALLBACK_EVENT or not event.get("Id", "").isdigit():
            return None
        callback_id, status = int(event["Id"]), event.get("Status", "")
        flight = self.in_flight.pop(callback_id, None)
        now = self.desk.now()
        talk = event.get("Talk", "")
        talked = timedelta(seconds=int(talk)) if status == "ANSWER" and talk.isdigit() else None
        # the callback's own call: from the agent's answer to the end of the talk (the result
        # comes from the dialplan's h extension, when it is over)
        call = OwnCall(
            event.get("Linkedid") or (flight[0] if flight else "") or f"callback-{callback_id}",
            flight[1] if flight else now,
            now - talked if talked is not None else None,
            now,
        )
        self.tasks.add(task := asyncio.ensure_future(self._result(callback_id, status, call)))
        task.add_done_callback(self.tasks.discard)
        return f"event=callback.result id={callback_id} status={status}"

    async def _result(self, callback_id: int, status: str, call: OwnCall | None = None) -> None:
        if call is not None:
            await asyncio.to_thread(self._store_call, callback_id, call)
        if status == "ANSWER":
            await asyncio.to_thread(self._finish, callback_id, "done", status)
        else:
            again = await asyncio.to_thread(
                self._requeue, callback_id, status or "no status", 1, RETRY_AFTER
            )
            self._keep_place(again)
        if self.on_outcome is not None:
            try:
                await asyncio.to_thread(self.on_outcome, callback_id, status or "no status")
            except Exception as exc:  # the callback's own row is stored: log, do not lose it
                log.error("event=callback.outcome-failed id=%d reason=%r", callback_id, str(exc))

    def _store_call(self, callback_id: int, call: OwnCall) -> None:
        """The callback's conversation as a call row of kind `callback`, naming the call that
        booked it."""
        with write(self.sessions) as session:
            row = session.get(Callback, callback_id)
            if row is None:
                return
            own_call(
                call.linkedid,
                "callback",
                row.linkedid,
                row.number,
                call.started_at,
                call.answered_at,
                call.ended_at,
            )(session)

    def _forget_place(self, queued_at: datetime) -> None:
        self.desk.callbacks_waiting = [t for t in self.desk.callbacks_waiting if t != queued_at]

    def _keep_place(self, queued_at: datetime | None) -> None:
        if queued_at is not None:
            self.desk.callbacks_waiting = sorted([*self.desk.callbacks_waiting, queued_at])

    # --- the table ------------------------------------------------------------------------

    def _next_due(self) -> Callback | None:
        now = self.desk.now()
        with self.sessions() as session:
            return session.scalars(
                select(Callback)
                .where(Callback.status == "pending", Callback.next_attempt_at <= now)
                .order_by(Callback.queued_at)
                .limit(1)
            ).first()

    def _take(self, callback_id: int, agent_id: str) -> bool:
        with write(self.sessions) as session:
            return bool(
                _changed(
                    session.execute(
                        update(Callback)
                        .where(Callback.id == callback_id, Callback.status == "pending")
                        .values(status="dialing", agent_id=agent_id)
                    )
                )
            )

    def _finish(self, callback_id: int, status: str, result: str) -> None:
        with write(self.sessions) as session:
            session.execute(
                update(Callback)
                .where(Callback.id == callback_id)
                .values(status=status, result=result)
            )

    def _requeue(
        self, callback_id: int, result: str, counts: int, after: timedelta
    ) -> datetime | None:
        """Back to 'pending' (its place kept) unless out of attempts; its place, or None."""
        with write(self.sessions) as session:
            row = session.get(Callback, callback_id)
            if row is None or row.status not in ("dialing", "pending"):
                return None
            row.attempts += counts
            row.result = result
            if row.attempts >= MAX_ATTEMPTS:
                row.status = "failed"
                return None
            row.status, row.next_attempt_at = "pending", self.desk.now() + after
            return row.queued_at
