"""The agent's desk, live: pops the caller to the agent whose leg was answered, and keeps the
agent's own state line current. Fed by the call tracker's changes and presence (the side
calls `on_changes` and `on_presence`), pushed to the agent's browsers as server-sent events:

- `pop`: the caller's card (desk_card.card) when the agent's leg is answered. The card is read
  in a thread and pushed as soon as it is read; `sent_at` (epoch seconds) lets the page and the
  benchmark measure answer -> pop.
- `ended`: the call the agent was on ended (the page asks for its wrap-up code).
- `state`: the agent's presence, whether they owe a wrap-up code and for which call.
- `tell`: a department replied to a matter the agent owns: they are to call the citizen back
  (the page reloads its list of citizens to tell and says so).

An agent's stream carries only their own calls: a pop is addressed to the agent on the leg."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from hotline.pbx.calltracker import Change, LegSnapshot
from hotline.supervisor import desk_store
from hotline.supervisor.desk_card import CallerHistory, card, state_frame
from hotline.supervisor.desk_matters import MatterDesk
from routing.directory import Directory
from routing.presence import AgentPresence
from routing.wrapup import WrapUpPolicy

log = logging.getLogger("hotline.supervisor.desk")

QUEUE_FRAMES = 32  # a browser this far behind loses its oldest frames, never the controller
ANSWERED_KEPT = 20  # calls per agent remembered as answered before their rows are written


def frame(kind: str, data: object) -> bytes:
    return (
        f"event: {kind}\ndata: ".encode()
        + json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
        + b"\n\n"
    )


def owner_alert(alert: Mapping[str, object]) -> tuple[str, str, str] | None:
    """(owner, matter number, "overdue" | "handover") when a matters' alert as the board lists
    it (controller/matter_board.board_alert) is for the matter's owner; None when it is for
    the district supervisor or the matter has no owner (the pool)."""
    owner, number = alert.get("owner"), alert.get("number")
    if alert.get("to") != "owner" or not isinstance(owner, str) or not owner or not number:
        return None
    return owner, str(number), "handover" if alert.get("kind") == "matter-handover" else "overdue"


@dataclass
class Desk:
    sessions: sessionmaker[Session]
    directory: Callable[[], Directory]
    presence: Callable[[], Mapping[str, AgentPresence]]
    owes_wrap_up: Callable[[str], bool]
    caller_of: Callable[[str], str | None]  # a live call's caller number (the board's)
    policy: WrapUpPolicy
    matters: MatterDesk | None = None  # the caller's open matters and the desk's actions
    clients: dict[str, set[asyncio.Queue[bytes]]] = field(default_factory=dict)
    talking: dict[str, str] = field(default_factory=dict)  # agent -> the call they talk on
    answered: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # (linkedid, caller)
    pending: dict[str, str | None] = field(default_factory=dict)  # agent -> call owing a code
    sent_state: dict[str, bytes] = field(default_factory=dict)
    tasks: set[asyncio.Task[None]] = field(default_factory=set)
    pops: int = 0

    # --- facts in ---------------------------------------------------------------------------

    def on_changes(self, changes: Iterable[Change]) -> None:
        for kind, snap in changes:
            if not isinstance(snap, LegSnapshot) or not snap.agent_id:
                continue
            agent = snap.agent_id
            if kind == "leg.answered":
                caller = self.caller_of(snap.linkedid) or ""
                self.talking[agent] = snap.linkedid
                kept = self.answered.setdefault(agent, [])
                kept.append((snap.linkedid, caller))
                del kept[:-ANSWERED_KEPT]
                self.pending[agent] = snap.linkedid
                if agent in self.clients:
                    self._spawn(self._pop(agent, snap.linkedid, caller, snap.answered_at))
            elif kind == "leg.ended" and self.talking.get(agent) == snap.linkedid:
                del self.talking[agent]
                self._send(agent, frame("ended", {"linkedid": snap.linkedid}))
        self.on_presence()

    def on_presence(self) -> None:
        """Presence may have changed: each connected agent whose state line differs gets it."""
        for agent in list(self.clients):
            message = frame("state", self.state(agent))
            if self.sent_state.get(agent) != message:
                self.sent_state[agent] = message
                self._send(agent, message)

    def remind(self, agent_id: str, number: str, department: str) -> None:
        """A department replied to the agent's matter `number`: their open desks say so at
        once (a desk opened later lists it among the citizens to tell)."""
        self._send(agent_id, frame("tell", {"number": number, "department": department}))

    def alert_owner(self, agent_id: str, number: str, kind: str) -> None:
        """The matters' clock raised an alert for the agent as `number`'s owner ("overdue":
        past its due time; "handover": its department's reply is late): their open desks say
        so at once."""
        self._send(agent_id, frame("alert", {"number": number, "kind": kind}))

    def wrapped(self, agent_id: str, linkedid: str) -> None:
        if self.pending.get(agent_id) == linkedid:
            self.pending[agent_id] = None

    # --- what an agent may see -----------------------------------------------------------------

    def answered_live(self, agent_id: str, linkedid: str) -> str | None:
        """The caller of a call the agent answered, from memory (its rows may not be written
        yet); None when not remembered."""
        for known, caller in self.answered.get(agent_id, []):
            if known == linkedid:
                return caller
        return None

    def state(self, agent_id: str) -> dict[str, object]:
        p = self.presence().get(agent_id)
        seen: dict[str, object] = (
            {"state": p.state.value, "reason": p.reason, "since": p.since.timestamp()}
            if p
            else {"state": "logged-out", "reason": "", "since": None}
        )
        return state_frame(
            agent_id, seen, self.owes_wrap_up(agent_id), self.pending.get(agent_id)
        ) | {"talking": self.talking.get(agent_id)}

    async def card_of(
        self, agent_id: str, linkedid: str, caller: str, answered_at: datetime | None
    ) -> dict[str, object]:
        found = await asyncio.to_thread(desk_store.history, self.sessions, caller, linkedid)
        matters = self.matters
        rows = await asyncio.to_thread(matters.open_for, caller) if matters and caller else []
        return card(
            linkedid,
            caller,
            answered_at,
            found,
            self.directory(),
            self.policy.codes_for(found.business),
            rows,
        )

    # --- streams ----------------------------------------------------------------------------

    async def subscribe(self, agent_id: str) -> asyncio.Queue[bytes]:
        if agent_id not in self.pending:
            self.pending[agent_id] = await asyncio.to_thread(
                desk_store.pending_wrap_up, self.sessions, agent_id
            )
        queue: asyncio.Queue[bytes] = asyncio.Queue(maxsize=QUEUE_FRAMES)
        message = frame("state", self.state(agent_id))
        queue.put_nowait(message)
        self.clients.setdefault(agent_id, set()).add(queue)
        self.sent_state[agent_id] = message
        talking = self.talking.get(agent_id)
        if talking is not None:  # a page opened mid-call pops that call at once
            caller = self.answered_live(agent_id, talking) or ""
            self._spawn(self._pop(agent_id, talking, caller, None))
        return queue

    def unsubscribe(self, agent_id: str, queue: asyncio.Queue[bytes]) -> None:
        queues = self.clients.get(agent_id)
        if queues is not None:
            queues.discard(queue)
            if not queues:
                del self.clients[agent_id]
                self.sent_state.pop(agent_id, None)

    async def _pop(
        self, agent_id: str, linkedid: str, caller: str, answered_at: datetime | None
    ) -> None:
        try:
            data = await self.card_of(agent_id, linkedid, caller, answered_at)
        except Exception:  # the database away: the agent still gets the call, bare
            log.exception("event=desk.pop-failed agent=%s linkedid=%s", agent_id, linkedid)
            data = card(linkedid, caller, answered_at, CallerHistory(), self.directory(), ())
        data["sent_at"] = time.time()
        self.pops += 1
        self._send(agent_id, frame("pop", data))

    def _send(self, agent_id: str, message: bytes) -> None:
        for queue in self.clients.get(agent_id, ()):
            if queue.full():
                queue.get_nowait()
            queue.put_nowait(message)

    def _spawn(self, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)


AgentChange = Callable[[str, str, str], Awaitable[None]]  # (agent id, change, reason)
