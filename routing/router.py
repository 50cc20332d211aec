"""The router's decisions: pure, from the call's facts and the agents' presence to a plan
decided one step at a time as the runtime rings, with the reason for every step taken or skipped.

Order (the AB-post system, "one place calls, the whole city answers"):
first-inquiry owner -> the post's A -> the post's B -> the district pool (skill match, longest
idle first) -> the city pool (likewise) -> overflow to other districts' agents with the skill
(`Overflow`: after a wait, in tiers) -> the queue. An agent who is not available, or is
being rung for another call, is skipped with the reason written into the chain, e.g.
"A 1001 talking -> B 1002 logged-out -> district pool xihu: 2003 (longest idle)".
A caller who chose another language (8 for English) is first offered the free agents of the
route who speak it ("en speaker: 1001"), then anyone ("no free en speaker, then anyone").
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from hotline.tomltables import Table, setting, settings_type
from routing.directory import Directory, Office, Post
from routing.presence import Pool, Snapshot, State, why_not


@dataclass(frozen=True)
class DialStep:
    agent_id: str
    endpoint: str
    timeout: int  # seconds to ring before moving on
    reason: str  # why this step, e.g. "post pension-city A 1001"
    role: str  # which rung of the AB-post ladder: one of ROLES


# a step's rung: the first-inquiry owner, the post's A or B, the caller's district pool, the city
# pool, another district's agents (figures such as the AB-fallback rate read these, never the
# chain's wording)
ROLES = ("owner", "A", "B", "district", "city", "overflow")


@settings_type
class Overflow:
    """Who else is offered when nobody in the caller's own pools is free, by how long the
    caller has waited since asking for a person ("一地呼叫,全市联动"): the city pool for a
    district caller after `city_after` seconds, then other districts' agents with the skill
    after `districts_after` seconds (None: never). A district keeps its agents on a business
    out of others' calls with `takes_overflow = false` on its post for that business."""

    city_after: int = setting(default=0, key="overflow_city_after", hi=3600)
    # [routing] overflow_districts = false: never; overflow_districts_after: the wait
    districts_after: int | None = setting(
        default=10,
        key="overflow_districts_after",
        also=("overflow_districts",),
        read=lambda t, key: _districts_after(t, key),
        dump=lambda o: _dump_districts_after(o.districts_after),
    )


def _districts_after(t: Table, key: str) -> int | None:
    default: int | None = Overflow.districts_after  # the field's default
    on = t.flag("overflow_districts") if "overflow_districts" in t else default is not None
    if not on:
        return None
    if key in t:
        return t.integer(key, lo=0, hi=3600)
    return default if default is not None else 0  # switched on without a wait: at once


def _dump_districts_after(after: int | None) -> dict[str, Any]:
    if after is None:
        return {"overflow_districts": False}
    return {"overflow_districts": True, "overflow_districts_after": after}


NO_OVERFLOW = Overflow(city_after=0, districts_after=None)  # the city at once, districts never
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

    The deciding is `_walk`, a generator paused at each step given: the order reads top to
    bottom, and where the walk is (which named agent, which pool) is its own state, not the
    plan's. A plan stores references to the route's shared, precomputed tables; the chain is
    kept as (label, agent, why) records and written out when it is read."""

    __slots__ = ("_chain", "_open", "_route", "_steps", "_walk")
    _route: _Route
    _walk: Iterator[DialStep]
    _steps: list[DialStep]
    _chain: list[tuple[str, str, str | None] | str]
    _open: list[_OpenPool]  # the pool being walked, if one is

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
        for pool in self._open:  # its members chosen so far and those passed over
            entry = _pool_entry(pool.label, self._steps[pool.start :], pool.passed_over())
            if entry:
                chain.append(entry)
        return tuple(chain)

    def describe(self) -> str:
        return " -> ".join(self.chain)

    def next_step(self) -> DialStep | None:
        """The next agent to ring, or None when nobody is left: the caller waits in line."""
        return next(self._walk, None)

    def reached(self, role: str) -> bool:
        """Whether the walk has come to the post's `role` ("A" or "B") step so far: the agent
        rung, or passed over as away, busy or claimed (the AB-fallback rate's denominator)."""
        label = f"post {self.post.id} {role}" if self.post is not None else None
        return label is not None and any(
            not isinstance(entry, str) and entry[0] == label for entry in self._chain
        )


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
    owner_note: str = "",
    overflow: Overflow = NO_OVERFLOW,
    waited: float = 0.0,
    language: str = "",
) -> Plan:
    """One call's plan, nothing decided yet: `next_step()` decides. `owner`: the agent who
    owns this caller's matter (first-inquiry responsibility); `owner_note` says why, in the
    chain: "owner 1001 (first answered 2026-12-01, pension)"; `overflow`: which pools beyond the
    caller's own are offered after how long, `waited` the seconds since the caller asked;
    `language`: the caller's, when agents who speak it go first ("" or "zh-CN": none);
    `claimed`: agents
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
    route = tables.current(post, business, district, ring_timeout, overflow) or tables.route(
        post, business, district, ring_timeout, overflow
    )
    # set here rather than by Plan.__init__ (a call through the type costs as much again as
    # the rest of plan_call): the route (shared by every call of this post, district and ring
    # timeout), empty records, and the walk, not started
    plan = _new(Plan)
    plan._route = route
    steps = plan._steps = []
    chain = plan._chain = []
    opened = plan._open = []
    named = route.named if owner is None else route.with_owner(owner)
    speaker = _speaker(directory, language)
    plan._walk = _walk(
        route,
        named,
        presence,
        claimed,
        max_rings,
        steps,
        chain,
        opened,
        owner_note,
        waited,
        speaker,
    )
    return plan


_new = object.__new__
DEFAULT_LANGUAGE = "zh-CN"  # every agent is taken to speak it: no speakers' tier for it


def _speaker(directory: Directory, language: str) -> tuple[str, Collection[str]] | None:
    """(language, the agents who speak it) for a caller whose language not everyone speaks."""
    if not language or language == DEFAULT_LANGUAGE:
        return None
    return language, {a.id for a in directory.agents.values() if language in a.languages}


def _walk(
    route: _Route,
    named: tuple[tuple[str, str, DialStep], ...],
    presence: Snapshot,
    claimed: Collection[str],
    max_rings: int,
    steps: list[DialStep],
    chain: list[tuple[str, str, str | None] | str],
    opened: list[_OpenPool],
    owner_note: str = "",
    waited: float = 0.0,
    speaker: tuple[str, Collection[str]] | None = None,
) -> Iterator[DialStep]:
    """A plan's steps, each decided when the one before has been given and failed (the
    plan's records, `steps`, `chain` and `opened`, kept up to date as it goes)."""
    places = presence.places
    tried: list[str] = []  # named in the chain, never taken again: a few agents, a list is enough
    names, free = presence.names, presence.free
    size = len(names)
    pools = [pool for pool in route.pools if pool[3] <= waited]  # the tiers due by now
    if speaker is not None:  # the caller's language first: its speakers among the route's
        language, speakers = speaker
        label = f"{language} speaker"
        found = 0
        while len(steps) < max_rings:
            pick = _free_speaker(named, pools, speakers, tried, claimed, places, free, names)
            if pick is None:
                break
            agent_id, role = pick
            tried.append(agent_id)
            found += 1
            chain.append((label, agent_id, None))
            step = route.tables.step(agent_id, label, route.timeout, role)
            steps.append(step)
            yield step
        chain.append(f"no {'other ' if found else ''}free {language} speaker, then anyone")
    # the owner, A and B, each named in the chain (max_rings does not cut them)
    for agent_id, label, step in named:
        if agent_id in tried:  # rung already as a speaker of the caller's language
            continue
        tried.append(agent_id)
        place = CLAIMED if agent_id in claimed else places.get(agent_id, "unknown")
        if owner_note and label is OWNER:  # the owner with why they own the matter
            why = f"owner {agent_id} ({owner_note})"
            chain.append(why if isinstance(place, int) else f"{why} {place}")
        elif isinstance(place, int):
            chain.append((label, agent_id, None))
        else:
            chain.append((label, agent_id, place))
        if isinstance(place, int):  # available: their idle key
            steps.append(step)
            yield step
    for pool in pools:
        if len(steps) >= max_rings:
            break
        opened.append(_OpenPool(pool[0], len(steps)))
        while len(steps) < max_rings:
            # the pool's longest-idle free member not yet in the chain: its free list is read
            # from its head at each step, it may have changed since the last one
            for key in free.get(pool[1], ()):
                agent_id = names[key % size]
                if agent_id in tried:
                    continue
                tried.append(agent_id)
                if agent_id in claimed:
                    opened[0].passed += 1
                    continue
                step = pool[2][agent_id]  # a free member of the pool: made with the route
                steps.append(step)
                yield step
                break
            else:  # ran dry: its other members are counted by reason too
                _close(opened, steps, chain, (presence, pool[1], tried, claimed))
                break
    if opened:
        _close(opened, steps, chain)
    for after in sorted({pool[3] for pool in route.pools if pool[3] > waited}):
        chain.append(f"overflow after {after} s: not yet")
    chain.append("then queue" if steps else "queue")


def _free_speaker(
    named: tuple[tuple[str, str, DialStep], ...],
    pools: list[_PoolRoute],
    speakers: Collection[str],
    tried: list[str],
    claimed: Collection[str],
    places: dict[str, int | str],
    free: dict[Pool, list[int]],
    names: list[str],
) -> tuple[str, str] | None:
    """The next free agent of the route who speaks the caller's language, and their rung: the
    named agents first (owner, A, B), then each due pool's longest idle."""
    for agent_id, _label, step in named:
        free_now = isinstance(places.get(agent_id), int)
        if free_now and agent_id in speakers and agent_id not in tried and agent_id not in claimed:
            return agent_id, step.role
    size = len(names)
    for _label, pool, made, _after in pools:
        for key in free.get(pool, ()):
            agent_id = names[key % size]
            if agent_id in speakers and agent_id not in tried and agent_id not in claimed:
                return agent_id, made[agent_id].role
    return None


@dataclass(slots=True)
class _OpenPool:
    """The pool a plan is walking: its label, where its steps begin in the plan's steps, and
    how many of its free members were passed over as ringing for another call."""

    label: str
    start: int
    passed: int = 0

    def passed_over(self) -> dict[str, int]:
        return {CLAIMED: self.passed} if self.passed else {}


def _close(
    opened: list[_OpenPool],
    steps: list[DialStep],
    chain: list[tuple[str, str, str | None] | str],
    away: tuple[Snapshot, Pool, list[str], Collection[str]] | None = None,
) -> None:
    """The open pool goes into the chain. `away` (presence, the pool, the agents in the chain,
    the claimed): every free member was seen, so its other members are counted by reason."""
    pool = opened.pop()
    skipped = pool.passed_over()
    if away is not None:
        _count_away(*away, skipped)
    entry = _pool_entry(pool.label, steps[pool.start :], skipped)
    if entry:
        chain.append(entry)


def _pool_entry(label: str, chosen: list[DialStep], skipped: dict[str, int]) -> str:
    """A pool's entry in the chain ('' if nothing to say): its members chosen, then those
    skipped by reason."""
    parts = [", ".join(step.agent_id for step in chosen)] if chosen else []
    parts += [f"{n} {why}" for why, n in sorted(skipped.items()) if n]
    return f"{label}: {'; '.join(parts)}" if parts else ""


def prepare(directory: Directory, ring_timeout: int, overflow: Overflow = NO_OVERFLOW) -> int:
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
            if tables.current(post, business, district, ring_timeout, overflow) is None:
                tables.route(post, business, district, ring_timeout, overflow)
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


# label, free list's key, steps by agent, seconds the caller waits before it is offered
_PoolRoute = tuple[str, Pool, dict[str, DialStep], int]


class _Route:
    """What every call of one post, business, district and ring timeout shares: the post's A
    and B with their labels and dial steps, the pools to walk (label, free list's key, steps
    by agent), and the timeout's steps for a first-inquiry owner. Steps are immutable; every
    step a call of this route can take is made here, once, not while a call is routed."""

    __slots__ = ("named", "overflow", "owner_steps", "pools", "post", "tables", "timeout")

    def __init__(
        self,
        tables: _Tables,
        post: Post | None,
        skill: str,
        district: str | None,
        timeout: int,
        overflow: Overflow,
    ) -> None:
        self.tables = tables
        self.post = post
        self.timeout = timeout
        self.overflow = overflow
        self.named: tuple[tuple[str, str, DialStep], ...] = (
            tuple(
                (agent_id, label, tables.step(agent_id, label, timeout, label[-1]))
                for agent_id, label in tables.named(post)
            )
            if post is not None
            else ()
        )
        self.pools: tuple[_PoolRoute, ...] = tuple(
            (
                label,
                (office, skill),
                tables.made(label, timeout, tables.members(office, skill), role),
                after,
            )
            for office, label, role, after in tables.pools(district, skill, overflow)
        )
        self.owner_steps = tables.made(OWNER, timeout, tables.directory.agents, "owner")

    def with_owner(self, owner: str) -> tuple[tuple[str, str, DialStep], ...]:
        """The agents asked by name when `owner` handled the caller's matter: the owner first,
        then A and B unless one of them is the owner (an owner not in the directory: none)."""
        step = self.owner_steps.get(owner)
        if step is None:
            return self.named
        return ((owner, OWNER, step), *(entry for entry in self.named if entry[0] != owner))


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
        self,
        post: Post | None,
        business: str,
        district: str | None,
        timeout: int,
        overflow: Overflow = NO_OVERFLOW,
    ) -> _Route | None:
        """The route made for this post, business, district, ring timeout and overflow, if
        there is one."""
        route = self.routes.get((post.id if post is not None else None, business, district))
        if route is None or route.post is not post or route.timeout != timeout:
            return None
        return route if route.overflow == overflow else None

    def route(
        self,
        post: Post | None,
        business: str,
        district: str | None,
        timeout: int,
        overflow: Overflow = NO_OVERFLOW,
    ) -> _Route:
        skill = post.business if post is not None else business
        route = _Route(self, post, skill, district, timeout, overflow)
        if len(self.routes) >= 10_000:  # districts come from callers' numbers: keep it bounded
            self.routes.clear()
        self.routes[(post.id if post is not None else None, business, district)] = route
        return route

    def pools(
        self, district: str | None, skill: str, overflow: Overflow
    ) -> list[tuple[str, str, str, int]]:
        """(office, label, role, seconds before it is offered) in order: the caller's
        district's pool (a known office that is not a city one), the city pools, then, as
        overflow, the other districts whose post for the skill does not opt out."""
        own = self._pools.get(district)
        if own is None:  # a city caller (or a district we do not know): the city's pools
            found = [(o, label, "city", 0) for o, label in self._city_pools]
        else:
            found = [(own[0][0], own[0][1], "district", 0)]
            found += [(o, label, "city", overflow.city_after) for o, label in own[1:]]
        if overflow.districts_after is not None:
            after = overflow.districts_after
            for office in self.directory.offices.values():
                if (
                    office.kind == "city"
                    or office.id == district
                    or _opts_out(self.directory, office, skill)
                ):
                    continue
                label = f"overflow after {after} s, {office.id} pool"
                found.append((office.id, label, "overflow", after))
        return found

    def named(self, post: Post) -> tuple[tuple[str, str], ...]:
        """The post's A and B who are in the directory, with their labels (a B who is also the
        A is asked once, as A)."""
        found = self._named.get(post.id)
        if found is None or found[0] is not post:  # (a post of another directory, same id)
            roles = ((post.a, "A"), (post.b, "B")) if post.b != post.a else ((post.a, "A"),)
            named = tuple(
                (agent_id, f"post {post.id} {role}")
                for agent_id, role in roles
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

    def made(
        self, label: str, timeout: int, agent_ids: Iterable[str], role: str
    ) -> dict[str, DialStep]:
        """The steps with this label and timeout, made for `agent_ids` if they were not yet."""
        made = self.steps(label, timeout)
        for agent_id in agent_ids:
            if agent_id not in made:
                self.step(agent_id, label, timeout, role)
        return made

    def step(self, agent_id: str, label: str, timeout: int, role: str) -> DialStep:
        made = self.steps(label, timeout)
        found = made.get(agent_id)
        if found is None:
            seat = self.directory.agents[agent_id].seat
            found = made[agent_id] = DialStep(agent_id, seat, timeout, f"{label} {agent_id}", role)
        return found


_last: list[_Tables] = []  # the tables of the directory routed last (reloads replace it)


def _tables(directory: Directory) -> _Tables:
    if not _last or _last[0].directory is not directory:
        _last[:] = [_Tables(directory)]
    return _last[0]


def _opts_out(directory: Directory, office: Office, skill: str) -> bool:
    """The district's post for this business keeps its agents out of other callers' overflow."""
    post = directory.post_index.get((skill, office.id))
    return post is not None and not post.takes_overflow


def find_post(
    directory: Directory, post_id: str, business: str, district: str | None
) -> Post | None:
    """A route's post: named, or found by business in the district, else the city's."""
    if post_id:
        return directory.posts.get(post_id)
    posts = directory.post_index  # Directory.find_post, without the second call
    return posts.get((business, district)) or posts.get((business, "city"))
