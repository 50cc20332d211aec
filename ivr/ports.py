"""What the flow runtime needs from the rest of hotline, said as small Protocols.

The flow engine imports no wire, controller, store or web code: the controller's routing
desk and the recordings' secure pause satisfy these ports, and tests pass scripted fakes.
(The call itself is `ivr.channel.CallChannel`, with its own errors.)
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from routing.directory import Post
from routing.queueing import QueuePolicy
from routing.router import DialStep, Plan
from routing.waiting import WaitingLine


@dataclass(frozen=True)
class RouteRequest:
    call_id: str
    caller: str
    post: Post | None
    business: str
    district: str
    language: str = ""  # the caller's (the flow's `language`): its speakers are offered first


class RoutingPort(Protocol):
    """ "Route this call": plans, claims for one ring, the line and callbacks, the decision
    stored when the routing ends (the controller's `RoutingDesk`)."""

    @property
    def queue(self) -> QueuePolicy: ...

    @property
    def line(self) -> WaitingLine: ...

    async def plan(self, request: RouteRequest, waited: float = 0.0) -> Plan: ...

    async def claim(self, agent_id: str, call_id: str = "") -> bool: ...

    def release(self, agent_id: str) -> None: ...

    def rang(self, agent_id: str, status: str) -> bool: ...

    def agents_on_duty(self) -> int: ...

    def offers_callback(self, request: RouteRequest) -> bool: ...

    def callback_ahead_of(self, joined_at: datetime) -> bool: ...

    async def book_callback(self, request: RouteRequest, joined_at: datetime) -> bool: ...

    async def record(
        self,
        request: RouteRequest,
        plan: Plan,
        attempts: list[tuple[DialStep, str]],
        queued: float = 0.0,
        later: Plan | None = None,
    ) -> None: ...


class RecordingPause(Protocol):
    """ "Pause the recording" while a caller keys a secret (recordings' secure pause)."""

    def direction(self, kind: str, readback: bool) -> str | None: ...

    def span(
        self, call_id: str, site: str, channel: str, kind: str, direction: str
    ) -> contextlib.AbstractAsyncContextManager[None]: ...
