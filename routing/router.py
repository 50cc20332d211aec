"""The router's decisions: pure, from the call's facts and the agents' presence to a plan
decided one step at a time as the runtime rings, with the reason for every step taken or skipped.

Order (the AB-post system, "one place calls, the whole city answers"):
first-inquiry owner -> the post's A -> the post's B -> the district pool (skill match, longest
idle first) -> the city pool (likewise) -> the queue. An agent who is not available, or is
being rung for another call, is skipped with the reason written into the chain, e.g.
"A 1001 talking -> B 1002 logged-out -> district pool xihu: 2003 (longest idle)".
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from .directory import Directory, Post
from .presence import Pool, Snapshot, State, why_not


@dataclass(frozen=True)
class DialStep:
    agent_id: str
    endpoint: str
    timeout: int  # seconds to ring before moving on
    reason: str  # why this step, e.g. "post pension-city A"


MAX_RINGS = 8  # agents rung, at most, before the caller waits in line
CLAIMED = "ringing for another call"


class Plan:
    """One call's route, decided a step at a time: `next_step()` gives the next agent to ring
    (None: the caller waits in line), read from presence and claims as they are at that moment
    (the snapshot and the claimed set are live views), so an agent who came free while an
    earlier one rang can be rung. Agents already named in the chain are not taken again. (After
    a directory reload a plan reads the old directory's presence as it was at the reload: a
    call in progress ends its routing on the directory it started with.)

    `steps` are the steps given so far; `chain` the decision so far, skipped candidates
    included, ending in "queue" / "then queue" once the plan is drained. With presence and
    claims unchanged, draining a plan gives the steps and chain a whole plan made at once
    would (tests/unit/test_router_reference.py)."""

    __slots__ = (
        "_chain",
        "_claimed",
        "_done",
        "_free_key",
        "_label",
        "_made",
        "_max_rings",
        "_named",
        "_named_at",
        "_owner",
        "_passed",
        "_pool_from",
        "_pools",
        "_pools_at",
        "_presence",
        "_ring_timeout",
        "_skill",
        "_steps",
        "_tables",
        "_tried",
        "post",
    )
    # the pool being walked (set when it is opened): its label ('' when none is open), its
    # free list's key, its steps by agent, where its steps begin in `steps`, and how many of
    # its free members were passed over as ringing for another call
    _label: str
    _free_key: Pool
    _made: dict[str, DialStep]
    _pool_from: int
    _passed: int

    def __init__(
        self,
        tables: _Tables,
        post: Post | None,
        owner: str | None,
        skill: str,
        pools: tuple[tuple[str, str], ...],
        presence: Snapshot,
        ring_timeout: int,
        claimed: Collection[str],
        max_rings: int,
    ) -> None:
        # positions in tables' shared tuples stand for what is left: nothing is copied per call
        self.post = post
        self._tables = tables
        self._owner = owner  # asked first, then None
        self._named = tables.named(post) if post is not None else ()  # (agent, label): A, B
        self._named_at = 0
        self._skill = skill
        self._pools = pools  # (office, label): the district's, then the city's
        self._pools_at = 0
        self._presence = presence
        self._ring_timeout = ring_timeout
        self._claimed = claimed
        self._max_rings = max_rings
        self._steps: list[DialStep] = []
        self._chain: list[str] = []
        self._tried: set[str] = set()  # named in the chain: never taken again
        self._done = False
        self._label = ""

    @property
    def steps(self) -> tuple[DialStep, ...]:
        return tuple(self._steps)

    @property
    def chain(self) -> tuple[str, ...]:
        entry = self._pool_entry()
        return (*self._chain, entry) if entry else tuple(self._chain)

    def describe(self) -> str:
        return " -> ".join(self.chain)

    def next_step(self) -> DialStep | None:
        """The next agent to ring, or None when nobody is left: the caller waits in line."""
        if self._done:
            return None
        named, tried, claimed = self._named, self._tried, self._claimed
        # the owner, A and B, each named in the chain (max_rings does not cut them)
        while self._owner is not None or self._named_at < len(named):
            if self._owner is not None:
                agent_id, label, self._owner = self._owner, "first-inquiry owner", None
            else:
                agent_id, label = named[self._named_at]
                self._named_at += 1
            if agent_id in tried:
                continue
            tried.add(agent_id)
            state = self._presence.agents.get(agent_id)
            if agent_id in claimed:
                why = CLAIMED
            elif state is None:
                why = "unknown"
            elif state.state is State.AVAILABLE:
                step = self._tables.step(agent_id, label, self._ring_timeout)
                self._steps.append(step)
                self._chain.append(f"{label}: {agent_id}")
                return step
            else:
                why = why_not(state)
            self._chain.append(f"{label} {agent_id} {why}")
        while len(self._steps) < self._max_rings:
            if not self._label:
                if self._pools_at == len(self._pools):
                    break
                self._open()
            found = self._from_pool()
            if found is not None:
                return found
            self._close(count_away=True)  # ran dry
        self._close(count_away=False)
        self._chain.append("then queue" if self._steps else "queue")
        self._done = True
        return None

    def _open(self) -> None:
        office, self._label = self._pools[self._pools_at]
        self._pools_at += 1
        self._free_key = (office, self._skill)
        self._made = self._tables.steps(self._label, self._ring_timeout)
        self._pool_from, self._passed = len(self._steps), 0

    def _from_pool(self) -> DialStep | None:
        """The open pool's longest-idle free member not yet in the chain. The free list is
        read from its head each time: it may have changed since the last step."""
        names, tried, claimed = self._presence.names, self._tried, self._claimed
        for key in self._presence.free.get(self._free_key, ()):
            agent_id = names[key % len(names)]
            if agent_id in tried:
                continue
            tried.add(agent_id)
            if agent_id in claimed:
                self._passed += 1
                continue
            step = self._made.get(agent_id) or self._tables.step(
                agent_id, self._label, self._ring_timeout
            )
            self._steps.append(step)
            return step
        return None

    def _close(self, count_away: bool) -> None:
        """The open pool goes into the chain; `count_away`: every free member was seen, so its
        other members are counted by reason too."""
        if not self._label:
            return
        skipped = {CLAIMED: self._passed} if self._passed else {}
        if count_away:
            _count_away(self._presence, self._free_key, self._tried, self._claimed, skipped)
        entry = self._pool_entry(skipped)
        if entry:
            self._chain.append(entry)
        self._label = ""

    def _pool_entry(self, skipped: dict[str, int] | None = None) -> str:
        """The open pool's entry in the chain ('' if none is open, or nothing to say):
        its members chosen, then those skipped by reason (`skipped`, else the ones passed
        over so far)."""
        if not self._label:
            return ""
        if skipped is None:
            skipped = {CLAIMED: self._passed} if self._passed else {}
        chosen = [s.agent_id for s in self._steps[self._pool_from :]]
        parts = [", ".join(chosen)] if chosen else []
        parts += [f"{n} {why}" for why, n in sorted(skipped.items()) if n]
        return f"{self._label}: {'; '.join(parts)}" if parts else ""


def plan_call(
    directory: Directory,
    post: Post | None,
    business: str,
    district: str | None,
    presence: Snapshot,
    ring_timeout: int,
    owner: str | None = None,
    claimed: Collection[str] = (),
    max_rings: int = MAX_RINGS,
) -> Plan:
    """One call's plan, nothing decided yet: `next_step()` decides. `owner`: the agent who
    handled this caller's matter recently (first-inquiry responsibility); `claimed`: agents
    being rung for other calls (a live set). The owner, A and B are each named in the chain; a
    pool's unavailable members are counted by reason ("district pool xihu: 3 talking, 1
    paused (lunch)").

    `presence` is a `Presence.snapshot()` over this directory. A pool is read from its
    indexes, not scanned: its free members in longest-idle order, one per step; only when they
    run out, its other members, counted by reason. A step therefore costs about the agents it
    passes over, whatever the directory's size."""
    if presence.directory is not directory:
        raise ValueError("plan_call: the presence snapshot is of another seat directory")
    tables = _tables(directory)
    if not owner or owner not in directory.agents:
        owner = None
    skill = post.business if post is not None else business
    return Plan(
        tables,
        post,
        owner,
        skill,
        tables.pools(district),
        presence,
        ring_timeout,
        claimed,
        max_rings,
    )


def _count_away(
    presence: Snapshot,
    pool: Pool,
    tried: set[str],
    claimed: Collection[str],
    skipped: dict[str, int],
) -> None:
    """Add the pool's unavailable members to `skipped`, by reason: those already in the chain
    left out, the claimed ones counted as ringing for another call."""
    away = presence.away.get(pool)
    if not away:
        return
    for why, n in away.items():
        skipped[why] = skipped.get(why, 0) + n
    agents = presence.agents
    members = presence.members[pool]
    for agent_id in tried:
        if agent_id in members:
            state = agents[agent_id]
            if state.state is not State.AVAILABLE:
                skipped[why_not(state)] -= 1
    if claimed:
        for agent_id in members.intersection(claimed):
            state = agents[agent_id]
            if state.state is not State.AVAILABLE and agent_id not in tried:
                skipped[why_not(state)] -= 1
                skipped[CLAIMED] = skipped.get(CLAIMED, 0) + 1


class _Tables:
    """What the router derives from one directory, once: dial steps by (label, ring timeout)
    and agent, the posts' labels and the pools to walk by district. Steps are immutable, so
    plans share them."""

    def __init__(self, directory: Directory) -> None:
        self.directory = directory
        self._steps: dict[tuple[str, int], dict[str, DialStep]] = {}
        self._named: dict[str, tuple[Post, tuple[tuple[str, str], ...]]] = {}
        city = tuple((o, "city pool") for o in directory.city_offices)
        self._pools: dict[str | None, tuple[tuple[str, str], ...]] = {
            o.id: ((o.id, f"district pool {o.id}"), *city)
            for o in directory.offices.values()
            if o.kind != "city"
        }
        self._city_pools = city

    def pools(self, district: str | None) -> tuple[tuple[str, str], ...]:
        """(office, label) in order: the caller's district's pool (a known office that is not
        a city one), then the city pools."""
        return self._pools.get(district, self._city_pools)

    def named(self, post: Post) -> tuple[tuple[str, str], ...]:
        """The post's A and B who are in the directory, with their labels."""
        found = self._named.get(post.id)
        if found is None or found[0] is not post:  # (a post of another directory, same id)
            named = tuple(
                (agent_id, f"post {post.id} {role}")
                for agent_id, role in ((post.a, "A"), (post.b, "B"))
                if agent_id in self.directory.agents
            )
            found = self._named[post.id] = (post, named)
        return found[1]

    def steps(self, label: str, timeout: int) -> dict[str, DialStep]:
        """The steps made so far with this label and timeout, by agent."""
        made = self._steps.get((label, timeout))
        if made is None:
            made = self._steps[(label, timeout)] = {}
        return made

    def step(self, agent_id: str, label: str, timeout: int) -> DialStep:
        made = self.steps(label, timeout)
        found = made.get(agent_id)
        if found is None:
            seat = self.directory.agents[agent_id].seat
            found = made[agent_id] = DialStep(agent_id, seat, timeout, f"{label} {agent_id}")
        return found


_last: list[_Tables] = []  # the tables of the directory routed last (reloads replace it)


def _tables(directory: Directory) -> _Tables:
    if not _last or _last[0].directory is not directory:
        _last[:] = [_Tables(directory)]
    return _last[0]


def find_post(
    directory: Directory, post_id: str, business: str, district: str | None
) -> Post | None:
    """A route's post: named, or found by business in the district, else the city's."""
    if post_id:
        return directory.posts.get(post_id)
    return directory.find_post(business, district)
