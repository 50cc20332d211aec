"""Who sees what: the one district-scope policy of the supervisors' web and its live stream.
Pure: no I/O; callers hand in what a call or an agent belongs to.

The policy (docs/SECURITY.md, "The supervisor web and CLI"):
- an admin, and any account without a district (a city supervisor, a city QA), sees the whole
  city;
- an account with a district (a district supervisor or a district QA) sees only what touches
  its district: its offices' agents; the calls whose district is theirs (the post's district
  when routed, else the caller number's district) or that one of their agents rang or answered
  (the city's overflow their seats took); those calls' queue places, recordings, scores and
  KPIs. Anything else is filtered out of lists or refused (403), never shown;
- the `qa` role hears the recordings of its scope (a district QA its district's, a city QA all)
  and may score them; it never monitors live calls (`[web] monitor_roles`).

Every endpoint and the SSE hub ask `scope_of(user)` and `Scope.covers(...)`; there is no second
copy of the rule.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol


class Account(Protocol):
    @property
    def role(self) -> str: ...

    @property
    def district(self) -> str | None: ...


@dataclass(frozen=True)
class Scope:
    district: str | None  # None: the whole city

    @property
    def city(self) -> bool:
        return self.district is None

    def covers(self, *places: str | None) -> bool:
        """True when any of `places` (districts, office ids) is within this scope."""
        return self.district is None or self.district in places

    @property
    def key(self) -> str:
        """One live frame is built per key (the SSE hub groups browsers by it)."""
        return self.district or ""


CITY = Scope(None)


def scope_of(user: Account) -> Scope:
    if user.role == "admin" or user.district is None:
        return CITY
    return Scope(user.district)


def covers_call(scope: Scope, call_district: str, agent_offices: Iterable[str]) -> bool:
    """A call is in scope by its own district or by the office of an agent on it."""
    return scope.covers(call_district, *agent_offices)


def board_view(snapshot: Mapping[str, object], scope: Scope) -> dict[str, object]:
    """The live board as `scope` may see it (the city's picture unchanged)."""
    data = dict(snapshot)
    if scope.city:
        return data
    calls = [c for c in _dicts(snapshot.get("calls")) if _call_in(c, scope)]
    seen = {c["linkedid"] for c in calls}
    data["calls"] = calls
    data["agents"] = [a for a in _dicts(snapshot.get("agents")) if scope.covers(_s(a, "office"))]
    data["queue"] = [
        q
        for q in _dicts(snapshot.get("queue"))
        if scope.covers(_s(q, "district")) or q.get("linkedid") in seen
    ]
    data["districts"] = [d for d in _dicts(snapshot.get("districts")) if scope.covers(_s(d, "id"))]
    # an alert without a district (the city's abandonment spike) is a city figure: not theirs
    data["alerts"] = [
        a
        for a in _dicts(snapshot.get("alerts"))
        if "district" in a and (scope.covers(_s(a, "district")) or a.get("linkedid") in seen)
    ]
    return data


def _call_in(call: Mapping[str, object], scope: Scope) -> bool:
    return covers_call(scope, _s(call, "district"), [_s(call, "agent_office")])


def _dicts(value: object) -> list[dict[str, object]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _s(row: Mapping[str, object], key: str) -> str:
    value = row.get(key)
    return value if isinstance(value, str) else ""
