"""[routing]: the routing desk's keys, each with its one default, and those of the rules it
carries (the first-inquiry owner, the overflow and queue policies, the wrap-up codes).

The routing desk itself (hotline/controller/routing_desk.py) is built by the composition root
from these; hotline/settings.py reads the table into `RoutingSettings`.
"""

from __future__ import annotations

from hotline.tomltables import Table, setting, settings_type
from routing.queueing import QueuePolicy
from routing.router import Overflow
from routing.wrapup import ANY_BUSINESS, MAX_CODE, WrapUpPolicy

RULES = ("first", "last", "off")  # the agent who first answered / last answered / no owner


@settings_type
class OwnershipRule:
    """[routing] first_inquiry_rule, first_inquiry_days (首问责任制): which agent a repeat
    caller is offered first (hotline/matters/ownership.py finds them)."""

    rule: str = setting(default="first", key="first_inquiry_rule", choices=RULES)
    # a matter answered longer ago than this is settled: no owner
    days: int = setting(default=7, key="first_inquiry_days", hi=365)


def read_wrap_up(t: Table) -> WrapUpPolicy:
    """[routing] wrap_up_required and [routing.wrap_up_codes]: business id (or "*" for any
    other business) -> the codes an agent chooses from on their desk."""
    base = WrapUpPolicy()
    codes = dict(base.codes)
    if "wrap_up_codes" in t.data:
        codes_t = t.table("wrap_up_codes")
        codes = {}
        for business in codes_t.data:
            listed = tuple(codes_t.texts(business))
            if not listed or any(not 0 < len(c) <= MAX_CODE for c in listed):
                raise codes_t.error(business, f"a list of codes of 1-{MAX_CODE} characters", listed)
            codes[business] = listed
        if ANY_BUSINESS not in codes:
            codes[ANY_BUSINESS] = base.codes[ANY_BUSINESS]
    return WrapUpPolicy(required=t.flag("wrap_up_required", base.required), codes=codes)


@settings_type
class RoutingSettings:
    """[routing]: who is offered a call, and when an agent is free again."""

    # first-inquiry owner: which agent (rule) and for how long (days)
    ownership: OwnershipRule = setting(factory=OwnershipRule, flat=True)
    # when other districts' (and the city's) agents are offered
    overflow: Overflow = setting(factory=Overflow, flat=True)
    # consecutive rings an agent lets run out before a no-answer pause (0: never)
    auto_pause_after: int = setting(default=2, hi=100)
    # an agent is not rung this long after a call
    wrap_up_seconds: int = setting(default=10, hi=600)
    # false: agents log in with *11 before they are rung
    agents_start_logged_in: bool = setting(default=True)
    queue: QueuePolicy = setting(factory=QueuePolicy, flat=True)
    # the agents' wrap-up codes per business, and whether one is owed before the next call
    wrap_up: WrapUpPolicy = setting(
        factory=WrapUpPolicy,
        key="wrap_up_required",
        also=("wrap_up_codes",),
        read=lambda t, _key: read_wrap_up(t),
        dump=lambda s: {
            "wrap_up_required": s.wrap_up.required,
            "wrap_up_codes": {b: list(c) for b, c in s.wrap_up.codes.items()},
        },
    )
