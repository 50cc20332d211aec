"""The live board: what the dashboard shows, folded from the call tracker's changes and read
from presence, the waiting line and the flow runs. Pure apart from the clock it is given.

`Board.apply(changes)` takes the tracker's (kind, snapshot) pairs; `Board.snapshot(now)` is the
JSON-able picture: live calls (caller masked, IVR node or agent, wait and talk times, AB step),
agents by state with time in state, the queue with its longest wait, per-district counts and
alerts. Times are sent as epoch seconds; the browser ticks the clocks itself.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from hotline.pbx.calltracker import CallSnapshot, Change, LegSnapshot
from ivr.masking import mask_number as mask_number  # the one masking rule; pages import it here
from ivr.outcome import ABANDONED, ASKED_OUTCOMES
from routing.directory import Directory
from routing.presence import NO_ANSWER_PAUSE, AgentPresence
from routing.router import Plan

AWAY = {"logged-out", "unreachable", "paused"}
# a matter's alert (overdue, or a department's reply late) stays on the board this long; at
# most this many (the newest), so a backlog of old matters cannot crowd out the live alerts
MATTER_ALERT_HOURS = 24
MATTER_ALERTS_KEPT = 50


@dataclass
class Thresholds:
    wait_alert_seconds: float = 60.0
    long_call_seconds: float = 900.0
    abandon_alert_percent: float = 10.0


@dataclass
class LiveLeg:
    uniqueid: str
    channel: str
    endpoint: str
    agent_id: str | None
    ring_at: datetime
    answered_at: datetime | None = None


@dataclass
class LiveCall:
    linkedid: str
    caller_number: str
    started_at: datetime
    answered_at: datetime | None = None
    legs: dict[str, LiveLeg] = field(default_factory=dict)
    asked_at: datetime | None = None  # first ring: the caller asked for a person


@dataclass
class Board:
    directory: Directory
    presence: Callable[[], Mapping[str, AgentPresence]]
    waiting: Callable[[], Iterable[tuple[str, datetime]]] = lambda: ()
    node_of: Callable[[str], str | None] = lambda _linkedid: None
    plan_of: Callable[[str], Plan | None] = lambda _linkedid: None
    thresholds: Thresholds = field(default_factory=Thresholds)
    calls: dict[str, LiveCall] = field(default_factory=dict)
    ended: list[tuple[datetime, bool]] = field(default_factory=list)  # (at, abandoned) last hour
    seq: int = 0  # bumped on every change: the browser shows the newest
    # raised by the matters' clock (hotline/matters/alerts.py), by (kind, to, number)
    matter_alerts: dict[tuple[str, str, str], dict[str, object]] = field(default_factory=dict)

    def matter_alert(self, alert: Mapping[str, object], at: datetime) -> None:
        """A matter's alert (kind matter-overdue | matter-handover, to owner | supervisor,
        number, district, owner) for the board's alert list, shown in the matter's district's
        scope; the same alert raised again replaces the older."""
        row = dict(alert) | {"at": at.timestamp()}
        key = (str(row.get("kind")), str(row.get("to")), str(row.get("number")))
        self.matter_alerts.pop(key, None)
        self.matter_alerts[key] = row
        while len(self.matter_alerts) > MATTER_ALERTS_KEPT:
            del self.matter_alerts[next(iter(self.matter_alerts))]
        self.seq += 1

    def stored_matter_alert(self, alert: Mapping[str, object], at: datetime) -> bool:
        """A matter's alert read back from the store (raised at `at`, maybe by another
        controller's clock): added unless the board holds it already from that raising or a
        later one (the leader's own, pushed when raised). True when added."""
        key = (str(alert.get("kind")), str(alert.get("to")), str(alert.get("number")))
        held = self.matter_alerts.get(key)
        shown_at = held.get("at") if held is not None else None
        if isinstance(shown_at, float) and shown_at >= at.timestamp():
            return False
        self.matter_alert(alert, at)
        return True

    def apply(self, changes: Iterable[Change]) -> bool:
        changed = False
        for kind, snap in changes:
            changed = True
            if isinstance(snap, CallSnapshot):
                self._call(kind, snap)
            else:
                self._leg(kind, snap)
        if changed:
            self.seq += 1
        return changed

    def _call(self, kind: str, snap: CallSnapshot) -> None:
        if kind == "call.started":
            self.calls[snap.linkedid] = LiveCall(snap.linkedid, snap.caller_number, snap.started_at)
        elif kind == "call.answered":
            call = self.calls.get(snap.linkedid)
            if call is not None:
                call.answered_at = snap.answered_at
        elif kind == "call.ended":
            gone = self.calls.pop(snap.linkedid, None)
            at = snap.ended_at or snap.started_at
            # every caller who asked for a person counts, those who hung up in the hold
            # prompt or in hotline's line before any phone rang included (the outcome says)
            if gone is not None and snap.outcome in ASKED_OUTCOMES:
                self.ended.append((at, snap.outcome == ABANDONED))
            self.ended = [(t, a) for t, a in self.ended if at - t < timedelta(hours=1)]

    def _leg(self, kind: str, snap: LegSnapshot) -> None:
        call = self.calls.get(snap.linkedid)
        if call is None:
            return
        if kind == "leg.ringing":
            call.legs[snap.uniqueid] = LiveLeg(
                snap.uniqueid, snap.channel, snap.endpoint, snap.agent_id, snap.ring_at
            )
            call.asked_at = call.asked_at or snap.ring_at
        elif kind == "leg.answered" and snap.uniqueid in call.legs:
            call.legs[snap.uniqueid].answered_at = snap.answered_at
        elif kind in ("leg.unanswered", "leg.ended"):
            call.legs.pop(snap.uniqueid, None)

    # --- the picture -----------------------------------------------------------------------

    def district_of_call(self, call: LiveCall) -> str:
        plan = self.plan_of(call.linkedid)
        if plan is not None and plan.post is not None:
            return plan.post.district
        return self.directory.district_of_number(call.caller_number) or "city"

    def ab_step(self, call: LiveCall, agent_id: str | None) -> str:
        plan = self.plan_of(call.linkedid)
        if plan is None or agent_id is None:
            return ""
        step = next((s for s in plan.steps if s.agent_id == agent_id), None)
        return step.reason if step else ""

    def live_call(
        self, call: LiveCall, now: datetime, waiting: dict[str, datetime]
    ) -> dict[str, object]:
        talking = next((leg for leg in call.legs.values() if leg.answered_at), None)
        ringing = next((leg for leg in call.legs.values() if not leg.answered_at), None)
        leg = talking or ringing
        if talking is not None:
            state = "talking"
        elif ringing is not None:
            state = "ringing"
        elif call.linkedid in waiting:
            state = "queued"
        else:
            state = "ivr"
        asked = call.asked_at or waiting.get(call.linkedid)
        if asked is not None and call.linkedid in waiting:
            asked = min(asked, waiting[call.linkedid])
        agent = self.directory.agents.get(leg.agent_id or "") if leg else None
        return {
            "linkedid": call.linkedid,
            "caller": mask_number(call.caller_number),
            "district": self.district_of_call(call),
            "state": state,
            "node": self.node_of(call.linkedid) or "",
            "agent_id": leg.agent_id if leg else None,
            "agent_name": agent.name if agent else "",
            "agent_office": agent.office if agent else "",
            "channel": talking.channel if talking else "",
            "ab_step": self.ab_step(call, leg.agent_id if leg else None),
            "started_at": call.started_at.timestamp(),
            "asked_at": asked.timestamp() if asked else None,
            "talk_since": talking.answered_at.timestamp()
            if talking and talking.answered_at
            else None,
        }

    def snapshot(self, now: datetime) -> dict[str, object]:
        waiting = dict(self.waiting())
        calls = [self.live_call(c, now, waiting) for c in self.calls.values()]
        calls.sort(key=lambda c: float(str(c["started_at"])))
        presence = self.presence()
        agents: list[dict[str, object]] = []
        for agent in self.directory.agents.values():
            p = presence.get(agent.id)
            agents.append(
                {
                    "id": agent.id,
                    "name": agent.name,
                    "office": agent.office,
                    "seat": agent.seat,
                    "state": p.state.value if p else "logged-out",
                    "reason": p.reason if p else "",
                    "since": p.since.timestamp() if p else None,
                }
            )
        queue = sorted(
            (
                {"linkedid": cid, "joined_at": at.timestamp(), "district": self._district(cid)}
                for cid, at in waiting.items()
            ),
            key=lambda w: float(str(w["joined_at"])),
        )
        return {
            "seq": self.seq,
            "now": now.timestamp(),
            "calls": calls,
            "agents": agents,
            "queue": queue,
            "districts": self._districts(calls, agents),
            "alerts": self._alerts(now, calls, agents),
        }

    def _district(self, linkedid: str) -> str:
        call = self.calls.get(linkedid)
        return self.district_of_call(call) if call else "city"

    def _districts(
        self, calls: list[dict[str, object]], agents: list[dict[str, object]]
    ) -> list[dict[str, object]]:
        out = []
        for office in self.directory.offices.values():
            mine = [a for a in agents if a["office"] == office.id]
            out.append(
                {
                    "id": office.id,
                    "name": office.name,
                    "calls": sum(1 for c in calls if c["district"] == office.id),
                    "queued": sum(
                        1 for c in calls if c["district"] == office.id and c["state"] == "queued"
                    ),
                    "agents": len(mine),
                    "available": sum(1 for a in mine if a["state"] == "available"),
                    "away": sum(1 for a in mine if a["state"] in AWAY),
                }
            )
        return out

    def _alerts(
        self, now: datetime, calls: list[dict[str, object]], agents: list[dict[str, object]]
    ) -> list[dict[str, object]]:
        t = self.thresholds
        alerts: list[dict[str, object]] = []
        stamp = now.timestamp()
        for c in calls:
            asked, talk = c["asked_at"], c["talk_since"]
            if (
                c["state"] in ("queued", "ringing")
                and isinstance(asked, float)
                and stamp - asked > t.wait_alert_seconds
            ):
                alerts.append(
                    {
                        "kind": "long-wait",
                        "linkedid": c["linkedid"],
                        "seconds": round(stamp - asked),
                        "district": c["district"],
                    }
                )
            if isinstance(talk, float) and stamp - talk > t.long_call_seconds:
                alerts.append(
                    {
                        "kind": "long-call",
                        "linkedid": c["linkedid"],
                        "seconds": round(stamp - talk),
                        "agent_id": c["agent_id"],
                        "district": c["district"],
                    }
                )
        for a in agents:  # paused by the router for letting rings run out: someone should look
            if a["state"] == "paused" and a["reason"] == NO_ANSWER_PAUSE:
                alerts.append(
                    {"kind": "no-answer-pause", "agent_id": a["id"], "district": a["office"]}
                )
        for office in self.directory.offices.values():
            mine = [a for a in agents if a["office"] == office.id]
            if mine and all(a["state"] in AWAY for a in mine):
                alerts.append({"kind": "district-away", "district": office.id})
        recent = [a for t0, a in self.ended if now - t0 < timedelta(hours=1)]
        if len(recent) >= 5:
            share = 100 * sum(recent) / len(recent)
            if share > t.abandon_alert_percent:
                alerts.append(
                    {"kind": "abandon-spike", "percent": round(share, 1), "calls": len(recent)}
                )
        oldest = stamp - MATTER_ALERT_HOURS * 3600
        for key, row in list(self.matter_alerts.items()):
            at = row.get("at")
            if isinstance(at, float) and at < oldest:
                del self.matter_alerts[key]
        alerts.extend(reversed(self.matter_alerts.values()))  # the newest first
        return alerts
