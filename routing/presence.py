"""Who can take a call now: each agent's state, folded from what Asterisk reports. Pure.

Inputs are domain facts, not AMI dictionaries: a seat's device state (NOT_INUSE, INUSE,
RINGING, BUSY, UNAVAILABLE, ...), a seat's contact reachable or not, an agent logging in or
out, pausing (with a reason) or resuming. The controller translates AMI events into these
calls; after a reconnect it resynchronises by feeding Asterisk's current state again.

An agent's state, in order of precedence: logged out, unreachable (the seat's phone is not
registered or not answering OPTIONS), paused, talking, ringing, wrap-up (for a while after a
call, and, when wrap-up codes are required, until the agent entered the code of the call they
answered), available. Time in state and the start of the current idle spell are kept for each.

What the router reads is a `Snapshot`: every agent's presence, and per pool (office, skill) its
free agents in longest-idle order and its other members counted by reason, all kept up to date
fact by fact so that a decision touches only the agents it names or rings.
"""

from __future__ import annotations

import heapq
from bisect import bisect_left, insort
from collections.abc import ItemsView, Iterator, KeysView, Mapping, ValuesView
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from routing.directory import Directory

TALKING_DEVICE = {"INUSE", "BUSY", "ONHOLD", "RINGINUSE"}  # in a call (maybe also ringing)
UNREACHABLE_DEVICE = {"UNAVAILABLE", "INVALID"}
NO_ANSWER_PAUSE = "no-answer"  # the pause reason of an agent who let routed rings run out


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


def why_not(presence: AgentPresence) -> str:
    """Why an agent who is not available cannot be rung, in a few words: the state, or the
    pause with its reason ("paused (lunch)")."""
    if presence.state is State.PAUSED and presence.reason:
        return f"paused ({presence.reason})"
    return presence.state.value


def wall_microseconds(at: datetime) -> int:
    """`at`'s wall-clock time (its time zone ignored) in microseconds: the order of
    `at.replace(tzinfo=None)`, as one int."""
    seconds = at.toordinal() * 86400 + at.hour * 3600 + at.minute * 60 + at.second
    return seconds * 1_000_000 + at.microsecond


Pool = tuple[str, str]  # (office, skill); skill '' is all of the office's agents


class Snapshot(Mapping[str, AgentPresence]):
    """Every agent's presence (a read-only, live view of `Presence`) and, per pool of the
    directory (`Directory.pool`), its available members in longest-idle order and its other
    members counted by `why_not` (`away`).

    A pool's `free` list holds sorted idle keys: an available agent's key is
    `wall_microseconds(idle_since) * len(names) + their place in names` (names: the agents'
    ids, sorted), so keys sort as (idle since, agent id) and `names[key % len(names)]` is the
    agent. One int per entry keeps inserting and removing cheap. `places` gives each agent's
    idle key or, if not available, `why_not`'s words: one look-up tells the router both."""

    __slots__ = ("agents", "away", "directory", "free", "members", "names", "places", "pools_of")

    def __init__(
        self,
        directory: Directory,
        agents: dict[str, AgentPresence],
        free: dict[Pool, list[int]],
        away: dict[Pool, dict[str, int]],
        pools_of: dict[str, tuple[Pool, ...]],
        members: dict[Pool, frozenset[str]],
        names: list[str],
        places: dict[str, int | str],
    ) -> None:
        self.directory = directory
        self.names = names
        self.agents = agents
        self.free = free
        self.away = away
        self.pools_of = pools_of  # agent -> the pools they are a member of
        self.members = members  # pool -> its members' ids
        # agent -> their idle key (an int: available) or why not (`why_not`, a str): what the
        # router asks of the agents it names, one look-up each
        self.places = places

    def __getitem__(self, agent_id: str) -> AgentPresence:
        return self.agents[agent_id]

    def __iter__(self) -> Iterator[str]:
        return iter(self.agents)

    def __len__(self) -> int:
        return len(self.agents)

    # the dict's own (read-only) views and look-ups, not Mapping's Python-level ones
    def __contains__(self, agent_id: object) -> bool:
        return agent_id in self.agents

    def keys(self) -> KeysView[str]:
        return self.agents.keys()

    def values(self) -> ValuesView[AgentPresence]:
        return self.agents.values()

    def items(self) -> ItemsView[str, AgentPresence]:
        return self.agents.items()


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
    owes_wrap_up: bool = False  # answered a call whose wrap-up code is not entered yet


@dataclass
class Presence:
    """Kept up to date fact by fact, at the facts' own times, so `snapshot()` is a read (the
    router takes one per decision) and time in state is exact. Only agents in wrap-up are
    looked at again as time passes (a heap of their wrap-ups' ends, applied by `expire`)."""

    directory: Directory
    wrap_up: timedelta = timedelta(seconds=10)
    logged_in_at_start: bool = True
    # `[routing] wrap_up_required`: an agent who answered a call stays in wrap-up (is offered
    # no call) until its wrap-up code is entered (`wrapped_up`), however long that takes
    hold_for_wrap_up: bool = False
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
        self._wrap_ends = [(t, a) for a, t in self.wrapping.items()]
        heapq.heapify(self._wrap_ends)
        self._seat_of = {a: self.seats.get(agent.seat) for a, agent in directory.agents.items()}
        self._seat_agents: dict[str, list[str]] = {}
        for agent in directory.agents.values():
            self._seat_agents.setdefault(agent.seat, []).append(agent.id)
        pools = directory.pools()
        pools_of: dict[str, dict[Pool, None]] = {a: {} for a in directory.agents}
        for pool, members in pools.items():
            for member in members:
                if member.id in pools_of:
                    pools_of[member.id][pool] = None
        self._pools_of = {a: tuple(agent_pools) for a, agent_pools in pools_of.items()}
        self._names = sorted(self.agents)
        self._rank = {agent_id: n for n, agent_id in enumerate(self._names)}
        self._free: dict[Pool, list[int]] = {pool: [] for pool in pools}
        self._away: dict[Pool, dict[str, int]] = {pool: {} for pool in pools}
        self._places: dict[str, int | str] = {}  # agent -> their idle key, or why not
        self._snapshot = Snapshot(
            directory,
            self.view,
            self._free,
            self._away,
            self._pools_of,
            {pool: frozenset(a.id for a in members) for pool, members in pools.items()},
            self._names,
            self._places,
        )
        for agent_id, presence in self.view.items():
            self._move(agent_id, presence)
        for agent_id in self.agents:
            if agent_id not in self.view:
                self._refresh(agent_id, self.started)

    # --- facts from Asterisk and from agents ------------------------------------------------

    def device(self, endpoint: str, state: str, at: datetime) -> None:
        self.expire(at)
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
        self.expire(at)
        seat = self.seats.get(endpoint)
        if seat is not None:
            seat.reachable = reachable
            self._refresh_seat(endpoint, at)

    def login(self, agent_id: str, at: datetime) -> None:
        self.expire(at)
        if agent_id in self.agents:
            self.agents[agent_id].logged_in = True
            self._refresh(agent_id, at)

    def logout(self, agent_id: str, at: datetime) -> None:
        self.expire(at)
        if agent_id in self.agents:
            agent = self.agents[agent_id]
            agent.logged_in, agent.paused, agent.reason = False, False, ""
            self._refresh(agent_id, at)

    def pause(self, agent_id: str, reason: str, at: datetime) -> None:
        self.expire(at)
        if agent_id in self.agents:
            agent = self.agents[agent_id]
            agent.paused, agent.reason = True, reason
            self._refresh(agent_id, at)

    def resume(self, agent_id: str, at: datetime) -> None:
        self.expire(at)
        if agent_id in self.agents:
            agent = self.agents[agent_id]
            agent.paused, agent.reason = False, ""
            self._refresh(agent_id, at)

    def answered(self, agent_id: str, at: datetime) -> None:
        """The agent answered a call (the call tracker's leg.answered, not the seat's device
        state: a feature-code call or a supervisor's listening makes the seat busy too, and
        owes no wrap-up). With `hold_for_wrap_up` they owe its wrap-up code from now on."""
        self.expire(at)
        if self.hold_for_wrap_up and agent_id in self.agents:
            self.agents[agent_id].owes_wrap_up = True
            self._refresh(agent_id, at)

    def wrapped_up(self, agent_id: str, at: datetime) -> None:
        """The agent entered the wrap-up code: free again once the timed wrap-up is over too."""
        self.expire(at)
        if agent_id in self.agents:
            self.agents[agent_id].owes_wrap_up = False
            self._refresh(agent_id, at)

    def owes_wrap_up(self, agent_id: str) -> bool:
        agent = self.agents.get(agent_id)
        return agent is not None and agent.owes_wrap_up

    # --- the clock, and what the router sees --------------------------------------------------

    def expire(self, at: datetime) -> None:
        """Wrap-ups that ended by `at` end (each at its own end time). Every fact does this
        first; the controller also calls it when the next one ends (`next_wrap_up_end`), so the
        router reads presence without doing this work."""
        ends = self._wrap_ends
        while ends and ends[0][0] <= at:
            end, agent_id = heapq.heappop(ends)
            if self.wrapping.get(agent_id) == end:  # else a later call moved it, or it ended
                self._refresh(agent_id, end)

    def next_wrap_up_end(self) -> datetime | None:
        """When the next wrap-up ends (it may have been moved or ended since: expire then
        just finds nothing to do)."""
        return self._wrap_ends[0][0] if self._wrap_ends else None

    def snapshot(self) -> Snapshot:
        """Every agent's presence as of the last fact or `expire`: a read-only, live view."""
        return self._snapshot

    def _refresh_seat(self, endpoint: str, at: datetime) -> None:
        for agent_id in self._seat_agents.get(endpoint, ()):
            self._refresh(agent_id, at)

    def _refresh(self, agent_id: str, at: datetime) -> None:
        agent = self.agents[agent_id]
        seat = self._seat_of[agent_id]
        state = self._state_of(agent, seat, at)
        old = self.view.get(agent_id)
        if old is None or old.state is not state or old.reason != agent.reason:
            since = at if old is None or old.state is not state else old.since
            idle = (
                (old.idle_since if old and old.state is State.AVAILABLE else at)
                if state is State.AVAILABLE
                else None
            )
            new = AgentPresence(agent_id, state, since, idle, agent.reason)
            self.view[agent_id] = new
            self._move(agent_id, new)
        if state is State.WRAP_UP and seat is not None and seat.last_busy_end is not None:
            ends = seat.last_busy_end + self.wrap_up
            if self.wrapping.get(agent_id) != ends:
                self.wrapping[agent_id] = ends
                heapq.heappush(self._wrap_ends, (ends, agent_id))
        else:
            self.wrapping.pop(agent_id, None)

    def _move(self, agent_id: str, presence: AgentPresence) -> None:
        """Keep the agent's pools' indexes right: out of where they were (a free list, by
        their idle key, or a count, by their reason), into where they now are."""
        place: int | str
        if presence.idle_since is not None:  # available
            idle = wall_microseconds(presence.idle_since)
            place = idle * len(self._names) + self._rank[agent_id]
        else:
            place = why_not(presence)
        was = self._places.get(agent_id)
        if was == place:
            return
        pools = self._pools_of[agent_id]
        if isinstance(was, int):
            for pool in pools:
                free = self._free[pool]
                del free[bisect_left(free, was)]
        elif was is not None:
            for pool in pools:
                away = self._away[pool]
                left = away[was] - 1
                if left:
                    away[was] = left
                else:
                    del away[was]
        self._places[agent_id] = place
        if isinstance(place, int):
            for pool in pools:
                insort(self._free[pool], place)
        else:
            for pool in pools:
                away = self._away[pool]
                away[place] = away.get(place, 0) + 1

    def _state_of(self, agent: _Agent, seat: _Seat | None, at: datetime) -> State:
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
        if agent.owes_wrap_up:
            return State.WRAP_UP
        if seat.last_busy_end is not None and at - seat.last_busy_end < self.wrap_up:
            return State.WRAP_UP
        return State.AVAILABLE
