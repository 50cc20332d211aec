"""The router's decisions: pure, from the call's facts and the agents' presence to a plan
decided one step at a time as the runtime rings, with the reason for every step taken or skipped.

Order (the AB-post system, "one place calls, the whole city answers"):
first-inquiry owner -> the post's A -> the post's B -> the district pool (skill match, longest
idle first) -> the city pool (likewise) -> the queue. An agent who is not available, or is
being rung for another call, is skipped with the reason written into the chain, e.g.
"A 1001 talking -> B 1002 logged-out -> district pool xihu: 2003 (longest idle)".
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
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
    would (tests/unit/test_router_reference.py).

    Making a plan stores references only (the route's shared, precomputed tables); the chain
    is kept as (label, agent, why) records and written out when it is read."""

    __slots__ = (
        "_chain",
        "_claimed",
        "_done",
        "_max_rings",
        "_named",
        "_owner",
        "_passed",
        "_pool",
        "_pool_from",
        "_pools_at",
        "_presence",
        "_route",
        "_steps",
        "_tried",
    )
    # the pool being walked: (label, free list's key, steps by agent), or None when none is
    # open; set when it is opened, where its steps begin in `steps` and how many of its free
    # members were passed over as ringing for another call
    _pool: _PoolRoute | None
    _pool_from: int
    _passed: int
    _route: _Route
    _owner: str | None
    _named: tuple[tuple[str, str, DialStep], ...]  # the post's A and B not yet asked
    _pools_at: int
    _presence: Snapshot
    _claimed: Collection[str]
    _max_rings: int
    _steps: list[DialStep]
    _chain: list[tuple[str, str, str | None] | str]
    _tried: list[str]
    _done: bool

    @property
    def post(self) -> Post | None:
        return self._route.post

    @property
    def steps(self) -> tuple[DialStep, ...]:
        return tuple(self._steps)

    @property
    def chain(self) -> tuple[str, ...]:
        chain = [
            entry
            if isinstance(entry, str)
            else f"{entry[0]}: {entry[1]}"  # chosen
            if entry[2] is None
            else f"{entry[0]} {entry[1]} {entry[2]}"  # skipped, and why
            for entry in self._chain
        ]
        entry = self._pool_entry()
        if entry:
            chain.append(entry)
        return tuple(chain)

    def describe(self) -> str:
        return " -> ".join(self.chain)

    def next_step(self) -> DialStep | None:
        """The next agent to ring, or None when nobody is left: the caller waits in line."""
        if self._done:
            return None
        route, tried, claimed = self._route, self._tried, self._claimed
        places = self._presence.places
        # the owner, A and B, each named in the chain (max_rings does not cut them)
        if self._owner is not None:
            agent_id, self._owner = self._owner, None
            tried.append(agent_id)
            place = CLAIMED if agent_id in claimed else places.get(agent_id)
            if isinstance(place, int):  # available: their idle key
                step = route.owner_step(agent_id)
                self._steps.append(step)
                self._chain.append((OWNER, agent_id, None))
                return step
            self._chain.append((OWNER, agent_id, "unknown" if place is None else place))
        if self._named:
            for n, (agent_id, label, step) in enumerate(self._named, 1):
                if agent_id in tried:
                    continue
                tried.append(agent_id)
                place = CLAIMED if agent_id in claimed else places.get(agent_id)
                if isinstance(place, int):
                    self._named = self._named[n:]
                    self._steps.append(step)
                    self._chain.append((label, agent_id, None))
                    return step
                self._chain.append((label, agent_id, "unknown" if place is None else place))
            self._named = ()
        steps = self._steps
        while len(steps) < self._max_rings:
            pool = self._pool
            if pool is None:
                if self._pools_at == len(route.pools):
                    break
                pool = self._pool = route.pools[self._pools_at]
                self._pools_at += 1
                self._pool_from, self._passed = len(steps), 0
            # the open pool's longest-idle free member not yet in the chain: the free list is
            # read from its head each time, it may have changed since the last step
            names = self._presence.names
            size = len(names)
            for key in self._presence.free.get(pool[1], ()):
                agent_id = names[key % size]
                if agent_id in tried:
                    continue
                tried.append(agent_id)
                if agent_id in claimed:
                    self._passed += 1
                    continue
                step = pool[2].get(agent_id) or route.pool_step(pool, agent_id)
                steps.append(step)
                return step
            self._close(count_away=True)  # ran dry
        self._close(count_away=False)
        self._chain.append("then queue" if steps else "queue")
        self._done = True
        return None

    def _close(self, count_away: bool) -> None:
        """The open pool goes into the chain; `count_away`: every free member was seen, so its
        other members are counted by reason too."""
        if self._pool is None:
            return
        skipped = {CLAIMED: self._passed} if self._passed else {}
        if count_away:
            _count_away(self._presence, self._pool[1], self._tried, self._claimed, skipped)
        entry = self._pool_entry(skipped)
        if entry:
            self._chain.append(entry)
        self._pool = None

    def _pool_entry(self, skipped: dict[str, int] | None = None) -> str:
        """The open pool's entry in the chain ('' if none is open, or nothing to say):
        its members chosen, then those skipped by reason (`skipped`, else the ones passed
        over so far)."""
        if self._pool is None:
            return ""
        if skipped is None:
            skipped = {CLAIMED: self._passed} if self._passed else {}
        chosen = [s.agent_id for s in self._steps[self._pool_from :]]
        parts = [", ".join(chosen)] if chosen else []
        parts += [f"{n} {why}" for why, n in sorted(skipped.items()) if n]
        return f"{self._pool[0]}: {'; '.join(parts)}" if parts else ""


OWNER = "first-inquiry owner"


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
    tables = _last[0] if _last and _last[0].directory is directory else _tables(directory)
    if owner is not None and owner not in directory.agents:
        owner = None
    route = tables.current(post, business, district, ring_timeout) or tables.route(
        post, business, district, ring_timeout
    )
    # the plan's state, set here rather than by Plan.__init__ (a call through the type costs as
    # much again as the rest of plan_call): references, positions, empty records
    plan = _new(Plan)
    plan._route = route  # shared by every call of this post, district and ring timeout
    plan._owner = owner or None  # asked first, then None
    plan._named = route.named  # (agent, label, step): A and B, then what is left of them
    plan._pools_at = 0  # the next of the route's pools
    plan._pool = None
    plan._presence = presence
    plan._claimed = claimed
    plan._max_rings = max_rings
    plan._steps = []
    plan._chain = []  # (label, agent, why: None if chosen) for the owner, A and B; pools' text
    plan._tried = []  # named in the chain, never taken again: a few agents, a list is enough
    plan._done = False
    return plan


_new = object.__new__


def prepare(directory: Directory, ring_timeout: int) -> int:
    """Make, now, every route a call on this directory can take (each business of its posts
    and skills, in each office's district and in none) and every agent's first-inquiry owner
    step: a directory load pays for them once, where otherwise the first call of each route
    would, while its caller waits. Returns the number of routes made."""
    tables = _tables(directory)
    businesses = {post.business for post in directory.posts.values()}
    businesses.update(skill for agent in directory.agents.values() for skill in agent.skills)
    made = 0
    for business in sorted(businesses):
        for district in [*directory.offices, None]:
            post = find_post(directory, "", business, district)
            if tables.current(post, business, district, ring_timeout) is None:
                tables.route(post, business, district, ring_timeout)
                made += 1
    return made


def _count_away(
    presence: Snapshot,
    pool: Pool,
    tried: Collection[str],
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


_PoolRoute = tuple[str, Pool, dict[str, DialStep]]  # label, free list's key, steps by agent


class _Route:
    """What every call of one post, business, district and ring timeout shares: the post's A
    and B with their labels and dial steps, the pools to walk (label, free list's key, steps
    by agent), and the timeout's steps for a first-inquiry owner. Steps are immutable; every
    step a call of this route can take is made here, once, not while a call is routed."""

    __slots__ = ("named", "owner_steps", "pools", "post", "tables", "timeout")

    def __init__(
        self, tables: _Tables, post: Post | None, skill: str, district: str | None, timeout: int
    ) -> None:
        self.tables = tables
        self.post = post
        self.timeout = timeout
        self.named: tuple[tuple[str, str, DialStep], ...] = (
            tuple(
                (agent_id, label, tables.step(agent_id, label, timeout))
                for agent_id, label in tables.named(post)
            )
            if post is not None
            else ()
        )
        self.pools: tuple[_PoolRoute, ...] = tuple(
            (label, (office, skill), tables.made(label, timeout, tables.members(office, skill)))
            for office, label in tables.pools(district)
        )
        self.owner_steps = tables.made(OWNER, timeout, tables.directory.agents)

    def owner_step(self, agent_id: str) -> DialStep:
        return self.owner_steps.get(agent_id) or self.tables.step(agent_id, OWNER, self.timeout)

    def pool_step(self, pool: _PoolRoute, agent_id: str) -> DialStep:
        return self.tables.step(agent_id, pool[0], self.timeout)


class _Tables:
    """What the router derives from one directory, once: dial steps by (label, ring timeout)
    and agent, the posts' labels, the pools to walk by district, and routes by (post, business,
    district). Steps are immutable, so plans share them."""

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
        # (post id or None, business, district) -> the route made last for it
        self.routes: dict[tuple[str | None, str, str | None], _Route] = {}

    def current(
        self, post: Post | None, business: str, district: str | None, timeout: int
    ) -> _Route | None:
        """The route made for this post, business, district and ring timeout, if there is one."""
        route = self.routes.get((post.id if post is not None else None, business, district))
        if route is None or route.post is not post or route.timeout != timeout:
            return None
        return route

    def route(self, post: Post | None, business: str, district: str | None, timeout: int) -> _Route:
        skill = post.business if post is not None else business
        route = _Route(self, post, skill, district, timeout)
        if len(self.routes) >= 10_000:  # districts come from callers' numbers: keep it bounded
            self.routes.clear()
        self.routes[(post.id if post is not None else None, business, district)] = route
        return route

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

    def members(self, office: str, skill: str) -> list[str]:
        return [agent.id for agent in self.directory.pool(office, skill)]

    def made(self, label: str, timeout: int, agent_ids: Iterable[str]) -> dict[str, DialStep]:
        """The steps with this label and timeout, made for `agent_ids` if they were not yet."""
        made = self.steps(label, timeout)
        for agent_id in agent_ids:
            if agent_id not in made:
                self.step(agent_id, label, timeout)
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
    posts = directory.post_index  # Directory.find_post, without the second call
    return posts.get((business, district)) or posts.get((business, "city"))
