"""Hotline's own waiting line: callers waiting for an agent, and callbacks keeping their place.

Asterisk's Queue() would ring the agents itself; here the router decides who rings, so the
line is ours. Order is by the time a caller first joined; a caller who asks to be called back
leaves the live line but keeps that time, so the callback is placed in order. The line is
in memory (one controller); the callbacks themselves are rows in the database.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(eq=False)
class Waiter:
    call_id: str
    joined_at: datetime
    seq: int = 0


@dataclass
class WaitingLine:
    average_handle_seconds: float = 180.0
    waiters: list[Waiter] = field(default_factory=list)
    _seq: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def join(self, call_id: str, at: datetime) -> Waiter:
        waiter = Waiter(call_id, at, next(self._seq))
        self.waiters.append(waiter)
        return waiter

    def leave(self, waiter: Waiter) -> None:
        if waiter in self.waiters:
            self.waiters.remove(waiter)

    def position(self, waiter: Waiter) -> int:
        """1 for the head of the line."""
        return self.waiters.index(waiter) + 1

    def ahead(self, waiter: Waiter) -> int:
        return self.position(waiter) - 1

    def oldest(self) -> datetime | None:
        return min((w.joined_at for w in self.waiters), default=None)

    def expected_wait_minutes(self, waiter: Waiter, agents_on_duty: int) -> int:
        """A plain estimate: the callers ahead, shared by the agents on duty."""
        seconds = (self.ahead(waiter) + 1) * self.average_handle_seconds / max(1, agents_on_duty)
        return max(1, math.ceil(seconds / 60))
