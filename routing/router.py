"""The router's decisions: pure functions from the call's facts and the agents' presence to an
ordered plan, with the reason for every step taken or skipped.

Order (the AB-post system, "one place calls, the whole city answers"):
first-inquiry owner -> the post's A -> the post's B -> the district pool (skill match, longest
idle first) -> the city pool (likewise) -> the queue. An agent who is not available, or is
being rung for another call, is skipped with the reason written into the chain, e.g.
"A 1001 talking -> B 1002 logged-out -> district pool xihu: 2003 (longest idle)".
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime

from .directory import Agent, Directory, Post
from .presence import AgentPresence, State


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


def plan_call(
    directory: Directory,
    post: Post | None,
    business: str,
    district: str | None,
    presence: Mapping[str, AgentPresence],
    ring_timeout: int,
    owner: str | None = None,
    claimed: Collection[str] = (),
    max_rings: int = MAX_RINGS,
) -> Plan:
    """The ordered dial plan for one call. `owner`: the agent who handled this caller's matter
    recently (first-inquiry responsibility); `claimed`: agents being rung for other calls.
    The owner, A and B are each named in the chain; a pool's unavailable members are counted
    by reason ("district pool xihu: 3 talking, 1 paused (lunch)")."""
    steps: list[DialStep] = []
    chain: list[str] = []
    tried: set[str] = set()

    def take(agent_id: str, label: str) -> str:
        """'' when added to the plan, else why not."""
        tried.add(agent_id)
        why_not = _unavailable(agent_id, presence, claimed)
        if not why_not:
            steps.append(
                DialStep(
                    agent_id, directory.agents[agent_id].seat, ring_timeout, f"{label} {agent_id}"
                )
            )
        return why_not

    named = [(owner, "first-inquiry owner")] if owner else []
    if post is not None:
        named += [(post.a, f"post {post.id} A"), (post.b, f"post {post.id} B")]
    for agent_id, label in named:
        if agent_id and agent_id in directory.agents and agent_id not in tried:
            why_not = take(agent_id, label)
            chain.append(f"{label} {agent_id} {why_not}" if why_not else f"{label}: {agent_id}")

    skill = post.business if post is not None else business
    pools = [(o.id, "city pool") for o in directory.offices.values() if o.kind == "city"]
    if district and district in directory.offices and directory.offices[district].kind != "city":
        pools.insert(0, (district, f"district pool {district}"))
    for office, label in pools:
        if len(steps) >= max_rings:
            break
        chosen, skipped = [], Counter[str]()
        for agent in sorted(directory.pool(office, skill), key=lambda a: _idle_key(a, presence)):
            if len(steps) >= max_rings:
                break
            if agent.id in tried:
                continue
            why_not = take(agent.id, label)
            if why_not:
                skipped[why_not] += 1
            else:
                chosen.append(agent.id)
        parts = [", ".join(chosen)] if chosen else []
        parts += [f"{n} {why}" for why, n in sorted(skipped.items())]
        if parts:
            chain.append(f"{label}: {'; '.join(parts)}")
    chain.append("queue" if not steps else "then queue")
    return Plan(post, tuple(steps), tuple(chain))


def _idle_key(agent: Agent, presence: Mapping[str, AgentPresence]) -> tuple[int, datetime, str]:
    state = presence.get(agent.id)
    if state is None or state.idle_since is None:
        return (1, datetime.max, agent.id)
    return (0, state.idle_since.replace(tzinfo=None), agent.id)


def _unavailable(
    agent_id: str, presence: Mapping[str, AgentPresence], claimed: Collection[str]
) -> str:
    """'' when the agent can be rung now, else the reason in a few words."""
    if agent_id in claimed:
        return "ringing for another call"
    state = presence.get(agent_id)
    if state is None:
        return "unknown"
    if state.state is State.AVAILABLE:
        return ""
    if state.state is State.PAUSED and state.reason:
        return f"paused ({state.reason})"
    return state.state.value


def find_post(
    directory: Directory, post_id: str, business: str, district: str | None
) -> Post | None:
    """A route's post: named, or found by business in the district, else the city's."""
    if post_id:
        return directory.posts.get(post_id)
    return directory.find_post(business, district)
