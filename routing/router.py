"""The router's decisions: pure functions from the call's facts and the agents' presence to an
ordered plan, with the reason for every step taken or skipped.

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


@dataclass(frozen=True)
class Plan:
    post: Post | None
    steps: tuple[DialStep, ...]
    chain: tuple[str, ...]  # the whole decision, skipped candidates included

    def describe(self) -> str:
        return " -> ".join(self.chain)


MAX_RINGS = 8  # agents rung, at most, before the caller waits in line
CLAIMED = "ringing for another call"


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
    """The ordered dial plan for one call. `owner`: the agent who handled this caller's matter
    recently (first-inquiry responsibility); `claimed`: agents being rung for other calls.
    The owner, A and B are each named in the chain; a pool's unavailable members are counted
    by reason ("district pool xihu: 3 talking, 1 paused (lunch)").

    `presence` is a `Presence.snapshot()` over this directory. A pool is read from its
    indexes, not scanned: its free members in longest-idle order until the plan is full; only
    when they run out, its other members, counted by reason. A decision therefore costs about
    the agents it rings, whatever the directory's size."""
    if presence.directory is not directory:
        raise ValueError("plan_call: the presence snapshot is of another seat directory")
    tables = _tables(directory)
    steps: list[DialStep] = []
    chain: list[str] = []
    tried: set[str] = set()
    agents, names = presence.agents, presence.names

    named = [(owner, "first-inquiry owner")] if owner else []
    if post is not None:
        a_label, b_label = tables.post_labels(post)
        named += [(post.a, a_label), (post.b, b_label)]
    for agent_id, label in named:
        if agent_id and agent_id in directory.agents and agent_id not in tried:
            tried.add(agent_id)
            state = agents.get(agent_id)
            if agent_id in claimed:
                why = CLAIMED
            elif state is None:
                why = "unknown"
            elif state.state is State.AVAILABLE:
                steps.append(tables.step(agent_id, label, ring_timeout))
                chain.append(f"{label}: {agent_id}")
                continue
            else:
                why = why_not(state)
            chain.append(f"{label} {agent_id} {why}")

    skill = post.business if post is not None else business
    pools = [(o, "city pool") for o in tables.city_offices]
    if district and district in directory.offices and directory.offices[district].kind != "city":
        pools.insert(0, (district, f"district pool {district}"))
    for office, label in pools:
        if len(steps) >= max_rings:
            break
        pool = (office, skill)
        made = tables.steps(label, ring_timeout)
        chosen: list[str] = []
        skipped: dict[str, int] = {}
        for key in presence.free.get(pool, ()):
            if len(steps) >= max_rings:
                break
            agent_id = names[key % len(names)]
            if agent_id in tried:
                continue
            if agent_id in claimed:
                skipped[CLAIMED] = skipped.get(CLAIMED, 0) + 1
                continue
            steps.append(made.get(agent_id) or tables.step(agent_id, label, ring_timeout))
            chosen.append(agent_id)
        else:
            if len(steps) < max_rings:  # every free member seen: count the others too
                _count_away(presence, pool, tried, claimed, skipped)
        parts = [", ".join(chosen)] if chosen else []
        if skipped:
            parts += [f"{n} {why}" for why, n in sorted(skipped.items()) if n]
        if parts:
            chain.append(f"{label}: {'; '.join(parts)}")
    chain.append("queue" if not steps else "then queue")
    return Plan(post, tuple(steps), tuple(chain))


def _count_away(
    presence: Snapshot,
    pool: Pool,
    tried: set[str],
    claimed: Collection[str],
    skipped: dict[str, int],
) -> None:
    """Add the pool's unavailable members to `skipped`, by reason: the named agents already
    in the chain left out, the claimed ones counted as ringing for another call."""
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
    and agent, and the posts' labels. Steps are immutable, so plans share them."""

    def __init__(self, directory: Directory) -> None:
        self.directory = directory
        self.city_offices = directory.city_offices
        self._steps: dict[tuple[str, int], dict[str, DialStep]] = {}
        self._posts: dict[str, tuple[str, str]] = {}

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

    def post_labels(self, post: Post) -> tuple[str, str]:
        labels = self._posts.get(post.id)
        if labels is None:
            labels = self._posts[post.id] = (f"post {post.id} A", f"post {post.id} B")
        return labels


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
