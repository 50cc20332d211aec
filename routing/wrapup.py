"""Wrap-up codes: what an agent records about a call they answered, from a list per business
(`[routing.wrap_up_codes]`), and whether the next call waits for it (`[routing]
wrap_up_required`: presence then holds the agent in wrap-up until the code is entered). Pure."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

ANY_BUSINESS = "*"  # the list for a business without its own
DEFAULT_CODES: Mapping[str, tuple[str, ...]] = {
    ANY_BUSINESS: ("answered", "matter", "transferred", "callback", "wrong-number", "nuisance")
}
MAX_CODE = 40


@dataclass(frozen=True)
class WrapUpPolicy:
    required: bool = False
    codes: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: dict(DEFAULT_CODES))

    def codes_for(self, business: str) -> tuple[str, ...]:
        """The business's own list, else the list for any business."""
        return self.codes.get(business) or self.codes.get(ANY_BUSINESS, ())

    def refusal(self, code: str, business: str) -> str | None:
        """Why `code` cannot close a call of `business` (None: it can)."""
        allowed = self.codes_for(business)
        if code in allowed:
            return None
        where = f"business {business!r}" if business in self.codes else "this call"
        return f"wrap-up code {code[:MAX_CODE]!r}: expected one of {', '.join(allowed)} ({where})"


def held_at_start(
    owed: Iterable[tuple[str, str, datetime]], agents: Collection[str], required: bool
) -> dict[str, str]:
    """Whom a controller that starts holds in wrap-up: agent -> the call whose code they owe
    (their latest, as the desk asks for it). `owed` is (agent, linkedid, answered at) for each
    code owed: written only while codes were required, so a call answered before the rule was
    switched on never holds anyone. Nobody is held when codes are not required, nor an agent
    no longer in the seat directory."""
    if not required:
        return {}
    latest: dict[str, tuple[datetime, str]] = {}
    for agent, linkedid, at in owed:
        if agent in agents and (agent not in latest or at > latest[agent][0]):
            latest[agent] = (at, linkedid)
    return {agent: latest[agent][1] for agent in sorted(latest)}
