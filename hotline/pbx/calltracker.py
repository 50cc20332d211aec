"""Call and leg records as a pure fold over Asterisk's AMI events.

`CallTracker.handle(event)` returns what changed, as (kind, snapshot) pairs, e.g.
("call.started", CallSnapshot) or ("leg.answered", LegSnapshot). No I/O: the controller
stores and logs them. A call keys on linkedid; an agent leg on its uniqueid.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import ClassVar

from ivr.outcome import call_outcome
from recordings.naming import file_name


@dataclass
class CallSnapshot:
    linkedid: str
    channel: str
    caller_number: str
    caller_name: str
    did: str
    started_at: datetime
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    outcome: str = "live"
    recording: str | None = None


@dataclass
class LegSnapshot:
    uniqueid: str
    linkedid: str
    channel: str
    endpoint: str
    agent_id: str | None
    ring_at: datetime
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    dial_status: str | None = None


Change = tuple[str, CallSnapshot | LegSnapshot]


def endpoint_of(channel: str) -> str:
    """'PJSIP/agent1001-0000000a' -> 'agent1001'."""
    tech_and_name = channel.split("/", 1)[-1]
    return tech_and_name.rsplit("-", 1)[0]


def event_time(event: Mapping[str, str]) -> datetime:
    stamp = event.get("Timestamp")
    try:
        return datetime.fromtimestamp(float(stamp), UTC) if stamp else datetime.now(UTC)
    except ValueError:
        return datetime.now(UTC)


class CallTracker:
    def __init__(
        self,
        inbound_context: str,
        agent_for_endpoint: Callable[[str], str | None],
        ivr_end_of: Callable[[str], str | None] = lambda _linkedid: None,
    ) -> None:
        """`ivr_end_of`: the IVR's summary of an ended call (ivr/outcome.py), None when no
        IVR session has reported it (the stored row is settled again when it does)."""
        self.inbound_context = inbound_context
        self.agent_for_endpoint = agent_for_endpoint
        self.ivr_end_of = ivr_end_of
        self.calls: dict[str, CallSnapshot] = {}
        self.legs: dict[str, LegSnapshot] = {}
        self.answered_calls: set[str] = set()  # linkedids where an agent answered

    def handle(self, event: Mapping[str, str], at: datetime | None = None) -> list[Change]:
        """`at`: the event's time when the caller has it already (else read from the event)."""
        handler = self._handlers.get(event.get("Event", ""))
        return handler(self, event, at or event_time(event)) if handler else []

    def _newchannel(self, ev: Mapping[str, str], at: datetime) -> list[Change]:
        uid, linkedid = ev.get("Uniqueid", ""), ev.get("Linkedid", "")
        if not uid or uid != linkedid or ev.get("Context") != self.inbound_context:
            return []
        if ev.get("Exten", "s") == "s":  # our own call out on the callers' trunk (a survey
            return []  # or a callback), made in its context: no number dialled, not a call in
        call = CallSnapshot(
            linkedid=linkedid,
            channel=ev.get("Channel", ""),
            caller_number=ev.get("CallerIDNum", ""),
            caller_name=ev.get("CallerIDName", ""),
            did=ev.get("Exten", ""),
            started_at=at,
            recording=file_name(linkedid),
        )
        self.calls[linkedid] = call
        return [("call.started", _copy(call))]

    def _newstate(self, ev: Mapping[str, str], at: datetime) -> list[Change]:
        call = self.calls.get(ev.get("Uniqueid", ""))
        if call is None or call.answered_at is not None or ev.get("ChannelStateDesc") != "Up":
            return []
        call.answered_at = at
        return [("call.answered", _copy(call))]

    def _newcallerid(self, ev: Mapping[str, str], at: datetime) -> list[Change]:
        """A caller ID set after the channel was made (e.g. by an Originate). Only an unknown
        one is filled in: later changes are other parties' numbers passed along (a Local
        channel relays the agent's connected line as its own caller ID)."""
        call = self.calls.get(ev.get("Uniqueid", ""))
        if call is None or call.caller_number not in ("", "<unknown>"):
            return []
        call.caller_number = ev.get("CallerIDNum", call.caller_number)
        call.caller_name = ev.get("CallerIDName", call.caller_name)
        return [("call.caller", _copy(call))]

    def _dialbegin(self, ev: Mapping[str, str], at: datetime) -> list[Change]:
        linkedid = ev.get("DestLinkedid") or ev.get("Linkedid", "")
        uid = ev.get("DestUniqueid", "")
        if linkedid not in self.calls or not uid or uid == linkedid:
            return []  # (an Originate dials the call's own first channel: not an agent leg)
        channel = ev.get("DestChannel", "")
        # the seat dialled, also through a trunk to another site: "agent2002@site-xihu"
        endpoint = ev.get("DialString", "").partition("@")[0] or endpoint_of(channel)
        leg = LegSnapshot(uid, linkedid, channel, endpoint, self.agent_for_endpoint(endpoint), at)
        self.legs[uid] = leg
        return [("leg.ringing", _copy(leg))]

    def _dialend(self, ev: Mapping[str, str], at: datetime) -> list[Change]:
        leg = self.legs.get(ev.get("DestUniqueid", ""))
        if leg is None:
            return []
        leg.dial_status = ev.get("DialStatus", "")
        if leg.dial_status == "ANSWER":
            leg.answered_at = at
            self.answered_calls.add(leg.linkedid)
            return [("leg.answered", _copy(leg))]
        return [("leg.unanswered", _copy(leg))]

    def _hangup(self, ev: Mapping[str, str], at: datetime) -> list[Change]:
        uid = ev.get("Uniqueid", "")
        changes: list[Change] = []
        leg = self.legs.pop(uid, None)
        if leg is not None:
            leg.ended_at = at
            changes.append(("leg.ended", _copy(leg)))
        call = self.calls.get(uid)
        if call is not None:  # the caller's channel: the call is over
            del self.calls[uid]
            call.ended_at = at
            answered = call.linkedid in self.answered_calls
            self.answered_calls.discard(call.linkedid)
            call.outcome = call_outcome(True, answered, self.ivr_end_of(call.linkedid))
            changes.append(("call.ended", _copy(call)))
        return changes

    def forget_gone(self, alive: set[str], asked_at: datetime) -> list[str]:
        """After a reconnect: the calls Asterisk no longer has (it restarted or crashed, and
        their Hangup events went down with the link) are dropped with their legs, else their
        rows would be kept live for ever. Calls that started after `asked_at` stay: their
        channels may be missing from the list only because it was made first. Returns the
        linkedids dropped."""
        gone = {
            linkedid
            for linkedid, call in self.calls.items()
            if linkedid not in alive and call.started_at < asked_at
        }
        for linkedid in gone:
            del self.calls[linkedid]
            self.answered_calls.discard(linkedid)
        for uid in [uid for uid, leg in self.legs.items() if leg.linkedid in gone]:
            del self.legs[uid]
        return sorted(gone)

    _handlers: ClassVar[
        dict[str, Callable[[CallTracker, Mapping[str, str], datetime], list[Change]]]
    ] = {
        "Newchannel": _newchannel,
        "Newstate": _newstate,
        "NewCallerid": _newcallerid,
        "DialBegin": _dialbegin,
        "DialEnd": _dialend,
        "Hangup": _hangup,
    }
    events: ClassVar[frozenset[str]] = frozenset(_handlers)  # the AMI events it folds


def _copy(snapshot: CallSnapshot | LegSnapshot) -> CallSnapshot | LegSnapshot:
    """A copy for the record (the tracker keeps changing its own): the same fields, without
    `dataclasses.replace`'s call of __init__ (a quarter of its cost; these have no
    __post_init__)."""
    copy = object.__new__(type(snapshot))
    copy.__dict__.update(snapshot.__dict__)
    return copy
