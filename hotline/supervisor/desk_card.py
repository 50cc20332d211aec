"""What the agent's desk shows of a caller: a pure picture built from plain rows (no I/O;
`desk_store.py` reads them). The caller's number is masked here, once; nothing else of the
caller's personal data is in the picture (no survey comment, no IVR input, only the menu nodes
the caller went through).

Scope, the desk's one rule: an agent sees the calls they answered and, for those calls' caller,
the caller's history (recent calls, open tickets, last rating, callbacks due); never another
caller's. `may_see_call` is asked by every desk endpoint that names a call.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from ivr.masking import mask_number
from routing.directory import Directory

RECENT_CALLS = 5  # earlier calls shown beside the current one


@dataclass(frozen=True)
class PastCall:
    linkedid: str
    started_at: datetime
    outcome: str
    answered_by: tuple[str, ...]  # agent ids, in order
    ivr_path: tuple[str, ...]  # menu nodes visited
    wrap_up: str = ""


@dataclass(frozen=True)
class OpenTicket:
    number: str
    category: str
    status: str
    created_at: datetime


@dataclass(frozen=True)
class DueCallback:
    status: str
    due_at: datetime


@dataclass(frozen=True)
class CallerHistory:
    """The rows `desk_store.history` read for one caller."""

    calls: list[PastCall] = field(default_factory=list)  # newest first
    tickets: list[OpenTicket] = field(default_factory=list)
    last_rating: tuple[str, datetime] | None = None
    callbacks: list[DueCallback] = field(default_factory=list)
    business: str = ""  # the current call's business (its routing decision)


def may_see_call(agent_id: str, answered_by: Iterable[str | None]) -> bool:
    """An agent may open a call they answered, nothing else."""
    return any(a == agent_id for a in answered_by)


def card(
    linkedid: str,
    caller_number: str,
    answered_at: datetime | None,
    history: CallerHistory,
    directory: Directory,
    codes: Iterable[str],
    matters: Iterable[Mapping[str, object]] = (),
) -> dict[str, object]:
    """The pop: the current call and the caller's history and open matters, JSON-able."""

    def name(agent_id: str) -> str:
        agent = directory.agents.get(agent_id)
        return f"{agent.name} ({agent_id})" if agent else agent_id

    zone = ZoneInfo(directory.timezone)  # times as the agents' clocks show them

    def local(at: datetime) -> str:
        return at.astimezone(zone).isoformat(timespec="seconds")

    earlier = [c for c in history.calls if c.linkedid != linkedid][:RECENT_CALLS]
    return {
        "linkedid": linkedid,
        "caller": mask_number(caller_number),
        "district": directory.district_of_number(caller_number) or "",
        "answered_at": answered_at.timestamp() if answered_at else None,
        "business": history.business,
        "codes": list(codes),
        "recent": [
            {
                "linkedid": c.linkedid,
                "started_at": local(c.started_at),
                "outcome": c.outcome,
                "answered_by": [name(a) for a in c.answered_by],
                "ivr_path": list(c.ivr_path),
                "wrap_up": c.wrap_up,
            }
            for c in earlier
        ],
        "matters": [
            dict(m) | {"owner_name": name(str(m["owner"])) if m.get("owner") else ""}
            for m in matters
        ],
        "tickets": [
            {
                "number": t.number,
                "category": t.category,
                "status": t.status,
                "created_at": local(t.created_at),
            }
            for t in history.tickets
        ],
        "rating": (
            {
                "rating": history.last_rating[0],
                "at": local(history.last_rating[1]),
            }
            if history.last_rating
            else None
        ),
        "callbacks": [{"status": c.status, "due_at": local(c.due_at)} for c in history.callbacks],
    }


def state_frame(
    agent_id: str, presence: Mapping[str, object], owes_wrap_up: bool, pending: str | None
) -> dict[str, object]:
    """The agent's own state line (presence's words) and the call awaiting its wrap-up code."""
    return {"agent_id": agent_id, **presence, "owes_wrap_up": owes_wrap_up, "pending": pending}
