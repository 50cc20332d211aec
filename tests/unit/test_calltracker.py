"""Replays the AMI events Asterisk 22 sent for a real first call (recorded from the sandbox)."""

from __future__ import annotations

import json

from ivr.calltracker import CallSnapshot, CallTracker, LegSnapshot, endpoint_of
from tests.conftest import DATA


def replay() -> list[tuple[str, CallSnapshot | LegSnapshot]]:
    tracker = CallTracker("hotline-inbound", {"agent1001": "1001"}.get)
    changes = []
    for line in (DATA / "ami_first_call.jsonl").read_text().splitlines():
        changes.extend(tracker.handle(json.loads(line)))
    assert tracker.calls == {} and tracker.legs == {}  # nothing left live after the hang-up
    return changes


def test_recorded_first_call_folds_into_one_answered_call_with_one_leg() -> None:
    changes = replay()
    kinds = [kind for kind, _ in changes]
    assert kinds == [
        "call.started",
        "call.answered",
        "leg.ringing",
        "leg.answered",
        "leg.ended",
        "call.ended",
    ]
    call = changes[-1][1]
    assert isinstance(call, CallSnapshot)
    assert call.caller_number == "13800000004"
    assert call.did == "12333"
    assert call.outcome == "answered"
    assert call.recording == f"{call.linkedid}.wav"
    assert call.answered_at is not None and call.ended_at is not None
    assert call.started_at <= call.answered_at < call.ended_at
    leg = changes[4][1]
    assert isinstance(leg, LegSnapshot)
    assert (leg.endpoint, leg.agent_id, leg.dial_status) == ("agent1001", "1001", "ANSWER")
    assert leg.linkedid == call.linkedid
    assert leg.answered_at is not None and call.answered_at < leg.answered_at


def test_caller_hanging_up_before_any_agent_is_abandoned() -> None:
    tracker = CallTracker("hotline-inbound", lambda _e: None)
    base = {
        "Uniqueid": "1.1",
        "Linkedid": "1.1",
        "Context": "hotline-inbound",
        "Exten": "12333",
        "CallerIDNum": "13900000000",
    }
    tracker.handle({"Event": "Newchannel", **base, "Timestamp": "100.0"})
    tracker.handle({"Event": "Newstate", **base, "ChannelStateDesc": "Up", "Timestamp": "100.1"})
    ((kind, call),) = tracker.handle({"Event": "Hangup", **base, "Timestamp": "105.0"})
    assert kind == "call.ended" and isinstance(call, CallSnapshot) and call.outcome == "abandoned"


def test_channels_outside_the_hotline_context_are_not_calls() -> None:
    tracker = CallTracker("hotline-inbound", lambda _e: None)
    event = {"Event": "Newchannel", "Uniqueid": "2.1", "Linkedid": "2.1", "Context": "default"}
    assert tracker.handle(event) == []


def test_endpoint_name_is_taken_from_the_channel_name() -> None:
    assert endpoint_of("PJSIP/agent1001-0000000a") == "agent1001"
    assert endpoint_of("PJSIP/agent-x-1-00000001") == "agent-x-1"
