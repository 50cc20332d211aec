"""One scheduler leader among the controllers sharing a database.

Every controller runs the APScheduler clock, but the timed jobs (callbacks, survey calls,
recordings upkeep) do their work only on the controller holding the `scheduler` lease
(hotline/store/leases.py). The lease is renewed every `lease / 3` seconds; if the leader dies,
another
controller takes it over once it has expired. A job also stops when the leader's own lease
might have run out unseen (no successful renewal within `lease`), so two leaders never run
jobs at once by this controller's clock. The durable jobs' conditional UPDATEs
(pending -> dialing) are the second guard: an attempt is placed once whoever ticks.

On becoming leader the controller first recovers what a previous leader left half done
(`on_elected`): callbacks and survey jobs left 'dialing' are marked unknown, never redialled.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from time import monotonic

from sqlalchemy.exc import SQLAlchemyError

from hotline.store.leases import LeaderLease

log = logging.getLogger("hotline.leader")


class SchedulerLeader:
    def __init__(
        self,
        lease: LeaderLease,
        on_elected: Callable[[], Awaitable[None]],
        clock: Callable[[], float] = monotonic,
    ) -> None:
        self.lease = lease
        self.on_elected = on_elected
        self.clock = clock
        self.leading = False
        self.valid_until = 0.0  # by our clock: the lease cannot have run out before this
        self.recovered = False  # on_elected finished for this term

    @property
    def every(self) -> float:
        """Seconds between renewals."""
        return max(self.lease.lease.total_seconds() / 3, 0.5)

    @property
    def is_leader(self) -> bool:
        return self.leading and self.recovered and self.clock() < self.valid_until

    async def renew(self) -> None:
        """The clock's job (every `every` seconds, on every controller)."""
        started = self.clock()
        try:
            held = await asyncio.to_thread(self.lease.hold)
        except SQLAlchemyError as exc:
            held = False
            log.warning("event=leader.renew-failed reason=%r", str(exc))
        if held:
            self.valid_until = started + self.lease.lease.total_seconds()
            if not self.leading:
                self.leading, self.recovered = True, False
                log.info("event=leader.elected holder=%s", self.lease.holder)
                try:
                    await self.on_elected()
                except Exception:
                    log.exception("event=leader.recovery-failed")
                    self.leading = False  # try again at the next renewal
                    return
                self.recovered = True
        elif self.leading:
            self.leading = self.recovered = False
            log.warning("event=leader.lost holder=%s", self.lease.holder)

    def gate(self, job: Callable[[], Awaitable[None]]) -> Callable[[], Awaitable[None]]:
        """The job, run only while this controller leads."""

        async def gated() -> None:
            if self.is_leader:
                await job()

        gated.__name__ = getattr(job, "__name__", "job")
        return gated

    async def step_down(self) -> None:
        """On a clean stop: the lease is given up so a follower takes over at once."""
        if self.leading:
            self.leading = self.recovered = False
            try:
                await asyncio.to_thread(self.lease.give_up)
            except SQLAlchemyError as exc:
                log.warning("event=leader.give-up-failed reason=%r", str(exc))
            log.info("event=leader.stepped-down holder=%s", self.lease.holder)
