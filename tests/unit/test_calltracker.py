"""Replays the AMI events Asterisk 22 sent for a real first call (recorded from the sandbox)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from hotline.pbx.calltracker import CallSnapshot, CallTracker, LegSnapshot, endpoint_of
from tests.conftest import DATA


def replay() -> list[tuple[str, CallSnapshot | LegSnapshot]]:
    # the IVR reported the caller asking for a person (the tracker saw the agent answer)
    tracker = CallTracker("hotline-inbound", {"agent1001": "1001"}.get, lambda _call: "asked")
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
    tracker = CallTracker("hotline-inbound", lambda _e: None, lambda _call: "asked")
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


def test_a_call_no_ivr_reported_on_is_the_fallback_queues_and_an_ivr_query_is_self_service() -> (
    None
):
    """The hang-up is settled with the IVR's summary when it has come (usually first)."""
    ends = {"1.1": "served"}
    tracker = CallTracker("hotline-inbound", lambda _e: None, ends.get)
    outcomes = []
    for uid in ("1.1", "2.1"):
        base = {"Uniqueid": uid, "Linkedid": uid, "Context": "hotline-inbound", "Exten": "12333"}
        tracker.handle({"Event": "Newchannel", **base, "Timestamp": "100.0"})
        ((_kind, call),) = tracker.handle({"Event": "Hangup", **base, "Timestamp": "105.0"})
        assert isinstance(call, CallSnapshot)
        outcomes.append(call.outcome)
    assert outcomes == ["self_service", "fallback"]


def test_channels_outside_the_hotline_context_are_not_calls() -> None:
    tracker = CallTracker("hotline-inbound", lambda _e: None)
    event = {"Event": "Newchannel", "Uniqueid": "2.1", "Linkedid": "2.1", "Context": "default"}
    assert tracker.handle(event) == []


def test_endpoint_name_is_taken_from_the_channel_name() -> None:
    assert endpoint_of("PJSIP/agent1001-0000000a") == "agent1001"
    assert endpoint_of("PJSIP/agent-x-1-00000001") == "agent-x-1"


def test_our_own_calls_out_on_the_callers_trunk_are_not_calls_in() -> None:
    tracker = CallTracker("hotline-inbound", lambda _endpoint: None)
    survey_call = {
        "Event": "Newchannel",
        "Uniqueid": "7.0",
        "Linkedid": "7.0",
        "Channel": "PJSIP/callers-00000000",
        "Context": "hotline-inbound",
        "Exten": "s",
        "CallerIDNum": "12333",
    }
    assert tracker.handle(survey_call) == []
    assert tracker.calls == {}


def test_an_originated_local_caller_gets_its_caller_id_and_no_phantom_agent_leg() -> None:
    """Originate Local/12333@hotline-inbound: Asterisk makes the first half in the inbound
    context, then sets the caller ID (NewCallerid) and reports the origination as a dial of
    that same channel (DialBegin/DialEnd without a source): that is not an agent answering."""
    tracker = CallTracker("hotline-inbound", lambda _endpoint: None, lambda _call: "asked")
    first = {"Uniqueid": "9.1", "Linkedid": "9.1", "Channel": "Local/12333@hotline-inbound-1;1"}
    events = [
        {
            "Event": "Newchannel",
            **first,
            "Context": "hotline-inbound",
            "Exten": "12333",
            "CallerIDNum": "<unknown>",
            "CallerIDName": "<unknown>",
        },
        {"Event": "NewCallerid", **first, "CallerIDNum": "13700000001", "CallerIDName": "soak"},
        {
            "Event": "DialBegin",
            "DestUniqueid": "9.1",
            "DestLinkedid": "9.1",
            "DestChannel": first["Channel"],
            "DialString": "12333@hotline-inbound/n",
        },
        {"Event": "DialEnd", "DestUniqueid": "9.1", "DialStatus": "ANSWER"},
        {"Event": "NewCallerid", **first, "CallerIDNum": "12333", "CallerIDName": "agent"},
        {"Event": "Hangup", **first},
    ]
    changes = [c for e in events for c in tracker.handle(e)]
    assert [kind for kind, _ in changes] == ["call.started", "call.caller", "call.ended"]
    call = changes[-1][1]
    assert isinstance(call, CallSnapshot)
    assert (call.caller_number, call.caller_name, call.outcome) == (
        "13700000001",
        "soak",
        "abandoned",
    )


def test_after_a_reconnect_calls_asterisk_no_longer_has_are_forgotten_with_their_legs() -> None:
    """Asterisk crashed with two calls up (no Hangup event ever came); a third started after
    the channel list was asked for and must stay."""
    tracker = CallTracker("hotline-inbound", {"agent1001": "1001"}.get)
    for uid, at in (("1.1", "100.0"), ("2.1", "101.0"), ("3.1", "200.0")):
        call = {"Uniqueid": uid, "Linkedid": uid, "Context": "hotline-inbound", "Exten": "12333"}
        tracker.handle({"Event": "Newchannel", **call, "Timestamp": at})
    tracker.handle(
        {
            "Event": "DialBegin",
            "Linkedid": "1.1",
            "DestUniqueid": "1.2",
            "DestChannel": "PJSIP/agent1001-00000001",
            "Timestamp": "102.0",
        }
    )
    tracker.handle(
        {"Event": "DialEnd", "DestUniqueid": "1.2", "DialStatus": "ANSWER", "Timestamp": "103.0"}
    )
    asked = datetime.fromtimestamp(150.0, UTC)
    assert tracker.forget_gone({"2.1"}, asked) == ["1.1"]
    assert set(tracker.calls) == {"2.1", "3.1"}
    assert tracker.legs == {} and tracker.answered_calls == set()


@pytest.mark.parametrize("status", ["NOANSWER", "BUSY", "CANCEL", "CHANUNAVAIL"])
def test_a_seat_that_rang_and_was_not_answered_leaves_the_call_unanswered(status: str) -> None:
    """The caller hangs up while (or after) the agent's phone rings: no one answered, so the
    call must not be stored as answered (that would send the caller a survey)."""
    tracker = CallTracker("hotline-inbound", {"agent1001": "1001"}.get)
    caller = {
        "Uniqueid": "3.1",
        "Linkedid": "3.1",
        "Context": "hotline-inbound",
        "Exten": "12333",
        "CallerIDNum": "13900000001",
    }
    dial = {"DestUniqueid": "3.2", "DestLinkedid": "3.1", "DestChannel": "PJSIP/agent1001-0001"}
    events = [
        {"Event": "Newchannel", **caller, "Timestamp": "100.0"},
        {"Event": "Newstate", **caller, "ChannelStateDesc": "Up", "Timestamp": "100.2"},
        {"Event": "DialBegin", **dial, "DialString": "agent1001", "Timestamp": "130.0"},
        {"Event": "DialEnd", **dial, "DialStatus": status, "Timestamp": "138.0"},
        {"Event": "Hangup", "Uniqueid": "3.2", "Linkedid": "3.1", "Timestamp": "138.0"},
        {"Event": "Hangup", **caller, "Timestamp": "139.0"},
    ]
    changes = [c for e in events for c in tracker.handle(e)]
    kinds = [kind for kind, _ in changes]
    assert "leg.answered" not in kinds and "leg.unanswered" in kinds
    leg = next(snapshot for kind, snapshot in changes if kind == "leg.unanswered")
    assert isinstance(leg, LegSnapshot)
    assert (leg.agent_id, leg.dial_status, leg.answered_at) == ("1001", status, None)
    call = changes[-1][1]
    assert isinstance(call, CallSnapshot)
    assert call.outcome != "answered"
