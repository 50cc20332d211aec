"""The router's decisions: pure functions from the directory to an ordered dial plan."""

from __future__ import annotations

from dataclasses import dataclass

from .directory import Directory


@dataclass(frozen=True)
class DialStep:
    agent_id: str
    endpoint: str
    timeout: int  # seconds to ring before moving on
    reason: str  # why this step, e.g. "post pension-city A"


def plan_for_post(directory: Directory, post_id: str, ring_timeout: int) -> list[DialStep]:
    """The post's A agent, then its B agent, then the city pool: each agent once."""
    post = directory.posts[post_id]
    steps = [
        DialStep(post.a, directory.agents[post.a].seat, ring_timeout, f"post {post.id} A"),
        DialStep(post.b, directory.agents[post.b].seat, ring_timeout, f"post {post.id} B"),
    ]
    seen = {post.a, post.b}
    for agent in directory.city_pool():
        if agent.id not in seen:
            steps.append(DialStep(agent.id, agent.seat, ring_timeout, "city pool"))
            seen.add(agent.id)
    return steps
