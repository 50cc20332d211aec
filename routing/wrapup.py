"""Wrap-up codes: what an agent records about a call they answered, from a list per business
(`[routing.wrap_up_codes]`), and whether the next call waits for it (`[routing]
wrap_up_required`: presence then holds the agent in wrap-up until the code is entered). Pure."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

ANY_BUSINESS = "*"  # the list for a business without its own
DEFAULT_CODES: Mapping[str, tuple[str, ...]] = {
    ANY_BUSINESS: ("answered", "matter", "transferred", "callback", "wrong-number", "nuisance")
}
MAX_CODE = 40
# A restarted controller holds again only agents whose owed call was answered this long ago at
# most (about a shift): turning `wrap_up_required` on must not hold every agent for the last
# call they took, weeks before, when no code was asked for yet.
HOLD_LOOKBACK = timedelta(hours=12)


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


@dataclass(frozen=True)
class AnsweredLeg:
    agent_id: str
    linkedid: str
    answered_at: datetime


def owed_wrap_ups(
    legs: Iterable[AnsweredLeg],
    coded: Collection[tuple[str, str]],
    agents: Collection[str],
    now: datetime,
    lookback: timedelta = HOLD_LOOKBACK,
) -> dict[str, str]:
    """The wrap-up hold as a restarted controller rebuilds it from the store: agent -> the call
    whose code they owe. Presence holds from the answer until a code is entered, and any code
    entered releases the agent, so an agent owes exactly when the last call they answered
    (within `lookback`) has no code of theirs in `coded` ((linkedid, agent) pairs). A call not
    ended yet counts: the agent is still talking, and owes its code once it ends."""
    last: dict[str, AnsweredLeg] = {}
    for leg in legs:
        if leg.agent_id not in agents or now - leg.answered_at > lookback:
            continue
        seen = last.get(leg.agent_id)
        if seen is None or leg.answered_at > seen.answered_at:
            last[leg.agent_id] = leg
    return {
        agent: leg.linkedid
        for agent, leg in sorted(last.items())
        if (leg.linkedid, agent) not in coded
    }
