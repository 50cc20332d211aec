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

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

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
    state: State = State.AVAILABLE
    since: datetime | None = None
    idle_since: datetime | None = None


@dataclass
class Presence:
    directory: Directory
    wrap_up: timedelta = timedelta(seconds=10)
    logged_in_at_start: bool = True
    seats: dict[str, _Seat] = field(default_factory=dict)
    agents: dict[str, _Agent] = field(default_factory=dict)

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

    def contact(self, endpoint: str, reachable: bool, at: datetime) -> None:
        seat = self.seats.get(endpoint)
        if seat is not None:
            seat.reachable = reachable

    def login(self, agent_id: str, at: datetime) -> None:
        if agent_id in self.agents:
            self.agents[agent_id].logged_in = True

    def logout(self, agent_id: str, at: datetime) -> None:
        if agent_id in self.agents:
            agent = self.agents[agent_id]
            agent.logged_in, agent.paused, agent.reason = False, False, ""

    def pause(self, agent_id: str, reason: str, at: datetime) -> None:
        if agent_id in self.agents:
            agent = self.agents[agent_id]
            agent.paused, agent.reason = True, reason

    def resume(self, agent_id: str, at: datetime) -> None:
        if agent_id in self.agents:
            agent = self.agents[agent_id]
            agent.paused, agent.reason = False, ""

    # --- what the router sees ----------------------------------------------------------------

    def snapshot(self, at: datetime) -> dict[str, AgentPresence]:
        """Every agent's state at `at` (time in state and idle spells advance here)."""
        out = {}
        for agent_id, agent in self.agents.items():
            state = self._state_of(agent_id, agent, at)
            if state != agent.state or agent.since is None:
                agent.state, agent.since = state, at
                if state is State.AVAILABLE:
                    agent.idle_since = at
            out[agent_id] = AgentPresence(
                agent_id,
                agent.state,
                agent.since,
                agent.idle_since if agent.state is State.AVAILABLE else None,
                agent.reason,
            )
        return out

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
