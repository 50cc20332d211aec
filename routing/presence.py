"""Who can take a call now: each agent's state, folded from what Asterisk reports. Pure.

Inputs are domain facts, not AMI dictionaries: a seat's device state (NOT_INUSE, INUSE,
RINGING, BUSY, UNAVAILABLE, ...), a seat's contact reachable or not, an agent logging in or
out, pausing (with a reason) or resuming. The controller translates AMI events into these
calls; after a reconnect it resynchronises by feeding Asterisk's current state again.

An agent's state, in order of precedence: logged out, unreachable (the seat's phone is not
registered or not answering OPTIONS), paused, talking, ringing, wrap-up (for a while after a
call), available. Time in state and the start of the current idle spell are kept for each.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from types import MappingProxyType

from .directory import Directory

TALKING_DEVICE = {"INUSE", "BUSY", "ONHOLD", "RINGINUSE"}  # in a call (maybe also ringing)
UNREACHABLE_DEVICE = {"UNAVAILABLE", "INVALID"}


class State(StrEnum):
    AVAILABLE = "available"
    RINGING = "ringing"
    TALKING = "talking"
    WRAP_UP = "wrap-up"
    PAUSED = "paused"
    UNREACHABLE = "unreachable"
    LOGGED_OUT = "logged-out"


@dataclass(frozen=True)
class AgentPresence:
    agent_id: str
    state: State
    since: datetime  # when the agent entered this state
    idle_since: datetime | None  # when the agent last became free (longest idle goes first)
    reason: str = ""  # a pause's reason


@dataclass
class _Seat:
    device: str = "NOT_INUSE"
    reachable: bool = True
    last_busy_end: datetime | None = None


@dataclass
class _Agent:
    logged_in: bool
    paused: bool = False
    reason: str = ""


@dataclass
class Presence:
    """Kept up to date fact by fact, at the facts' own times, so `snapshot()` is a read (the
    router takes one per decision) and time in state is exact. Only agents in wrap-up are
    looked at again as time passes."""

    directory: Directory
    wrap_up: timedelta = timedelta(seconds=10)
    logged_in_at_start: bool = True
    started: datetime = field(default_factory=lambda: datetime.now(UTC))
    seats: dict[str, _Seat] = field(default_factory=dict)
    agents: dict[str, _Agent] = field(default_factory=dict)
    view: dict[str, AgentPresence] = field(default_factory=dict)
    wrapping: dict[str, datetime] = field(default_factory=dict)  # agent -> wrap-up ends

    def __post_init__(self) -> None:
        self.reload(self.directory)

    def reload(self, directory: Directory) -> None:
        """A new seat directory: known seats and agents keep their state, new ones start
        fresh, removed ones are forgotten."""
        self.directory = directory
        self.seats = {e: self.seats.get(e, _Seat()) for e in directory.seats}
        self.agents = {
            a: self.agents.get(a) or _Agent(logged_in=self.logged_in_at_start)
            for a in directory.agents
        }
        self.view = {a: p for a, p in self.view.items() if a in self.agents}
        self.wrapping = {a: t for a, t in self.wrapping.items() if a in self.agents}
        self._seat_agents: dict[str, list[str]] = {}
        for agent in directory.agents.values():
            self._seat_agents.setdefault(agent.seat, []).append(agent.id)
        for agent_id in self.agents:
            if agent_id not in self.view:
                self._refresh(agent_id, self.started)

    # --- facts from Asterisk and from agents ------------------------------------------------

    def device(self, endpoint: str, state: str, at: datetime) -> None:
        seat = self.seats.get(endpoint)
        if seat is None:
            return
        was_talking = seat.device in TALKING_DEVICE
        seat.device = state.upper()
        if was_talking and seat.device == "NOT_INUSE":
            seat.last_busy_end = at  # a call ended: wrap-up starts
        if seat.device in UNREACHABLE_DEVICE:
            seat.reachable = False
        elif seat.device == "NOT_INUSE":
            seat.reachable = True
        self._refresh_seat(endpoint, at)

    def contact(self, endpoint: str, reachable: bool, at: datetime) -> None:
        seat = self.seats.get(endpoint)
        if seat is not None:
            seat.reachable = reachable
            self._refresh_seat(endpoint, at)

    def login(self, agent_id: str, at: datetime) -> None:
        if agent_id in self.agents:
            self.agents[agent_id].logged_in = True
            self._refresh(agent_id, at)

    def logout(self, agent_id: str, at: datetime) -> None:
        if agent_id in self.agents:
            agent = self.agents[agent_id]
            agent.logged_in, agent.paused, agent.reason = False, False, ""
            self._refresh(agent_id, at)

    def pause(self, agent_id: str, reason: str, at: datetime) -> None:
        if agent_id in self.agents:
            agent = self.agents[agent_id]
            agent.paused, agent.reason = True, reason
            self._refresh(agent_id, at)

    def resume(self, agent_id: str, at: datetime) -> None:
        if agent_id in self.agents:
            agent = self.agents[agent_id]
            agent.paused, agent.reason = False, ""
            self._refresh(agent_id, at)

    # --- what the router sees ----------------------------------------------------------------

    def snapshot(self, at: datetime) -> Mapping[str, AgentPresence]:
        """Every agent's state at `at` (a read-only view: wrap-ups that ended are applied)."""
        for agent_id, ends in list(self.wrapping.items()):
            if ends <= at:
                self._refresh(agent_id, ends)
        return MappingProxyType(self.view)

    def _refresh_seat(self, endpoint: str, at: datetime) -> None:
        for agent_id in self._seat_agents.get(endpoint, ()):
            self._refresh(agent_id, at)

    def _refresh(self, agent_id: str, at: datetime) -> None:
        agent = self.agents[agent_id]
        state = self._state_of(agent_id, agent, at)
        old = self.view.get(agent_id)
        if old is None or old.state != state or old.reason != agent.reason:
            since = at if old is None or old.state != state else old.since
            idle = (
                (old.idle_since if old and old.state is State.AVAILABLE else at)
                if state is State.AVAILABLE
                else None
            )
            self.view[agent_id] = AgentPresence(agent_id, state, since, idle, agent.reason)
        seat = self.seats.get(self.directory.agents[agent_id].seat)
        if state is State.WRAP_UP and seat is not None and seat.last_busy_end is not None:
            self.wrapping[agent_id] = seat.last_busy_end + self.wrap_up
        else:
            self.wrapping.pop(agent_id, None)

    def _state_of(self, agent_id: str, agent: _Agent, at: datetime) -> State:
        seat = self.seats.get(self.directory.agents[agent_id].seat)
        if not agent.logged_in:
            return State.LOGGED_OUT
        if seat is None or not seat.reachable:
            return State.UNREACHABLE
        if agent.paused:
            return State.PAUSED
        if seat.device == "RINGING":
            return State.RINGING
        if seat.device in TALKING_DEVICE:
            return State.TALKING
        if seat.last_busy_end is not None and at - seat.last_busy_end < self.wrap_up:
            return State.WRAP_UP
        return State.AVAILABLE
