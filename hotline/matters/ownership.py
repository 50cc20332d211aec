"""First-inquiry responsibility (首问责任制): who owns a caller's matter.

A caller with an open matter (hotline/matters/service.py) is offered its owner first: the
one about the business they ask for, else their newest open matter with an owner. A caller
with no open matter falls back to the calls: the agent who *first* answered them about the
same business, within a window of days (a consultation answered in the call leaves no
matter, yet its agent is the first inquiry). `matter_owner` is the one place that knows this.

Callers without a number we can attribute (anonymous, withheld, "unknown", a name) own
nothing: otherwise every withheld caller would share one owner.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.matters.lifecycle import OPEN_STATUSES
from hotline.store.models import Call, Leg, Matter, RouteDecision
from routing.settings import OwnershipRule

# a caller number that names one line: ASCII digits, optionally a leading + (withheld and
# anonymous callers arrive as "", "anonymous", "unknown", "restricted", ...)
ATTRIBUTABLE = re.compile(r"^\+?[0-9]{3,20}\Z")


@dataclass(frozen=True)
class Owner:
    agent_id: str
    answered_at: datetime  # when they answered the matter (the first time, under "first")
    business: str
    matter: str = ""  # the open matter's number when the owner comes from one


def attributable(caller: str) -> bool:
    return bool(ATTRIBUTABLE.match(caller))


def matter_owner(
    session: Session, caller: str, business: str, now: datetime, rule: OwnershipRule
) -> Owner | None:
    """The owner of `caller`'s matter about `business`, if they have one: an open matter's
    first, else the calls'. The calls' business is the one stored with each routed call's
    decision; a call answered without routing (the fallback queue) has no business and so
    founds no matter."""
    if rule.rule == "off" or not attributable(caller):
        return None
    found = open_matter_owner(session, caller, business)
    if found is not None:
        return found
    if rule.days <= 0 or not business:
        return None
    answered = Leg.answered_at
    query = (
        select(Leg.agent_id, answered)
        .join(Call, Call.linkedid == Leg.linkedid)
        .join(RouteDecision, RouteDecision.linkedid == Leg.linkedid)
        .where(
            Call.caller_number == caller,
            RouteDecision.business == business,
            answered.is_not(None),
            answered >= now - timedelta(days=rule.days),
            Leg.agent_id.is_not(None),
        )
        .order_by(answered.asc() if rule.rule == "first" else answered.desc())
        .limit(1)
    )
    row = session.execute(query).first()
    if row is None or row[0] is None or row[1] is None:
        return None
    return Owner(row[0], row[1], business)


def open_matter_owner(session: Session, caller: str, business: str) -> Owner | None:
    """The owner of the caller's open matter: about `business` if one is, else the newest."""
    rows = session.execute(
        select(Matter.owner, Matter.created_at, Matter.business, Matter.number)
        .where(
            Matter.caller_number == caller,
            Matter.status.in_(OPEN_STATUSES),
            Matter.owner.is_not(None),
        )
        .order_by(Matter.id.desc())
    ).all()
    if not rows:
        return None
    same = [r for r in rows if r[2] == business]
    owner, created_at, about, number = (same or rows)[0]
    assert owner is not None  # filtered above
    return Owner(owner, created_at, about, number)
