"""The live board folds the call tracker's changes: a recorded real call, then alerts."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from hotline.pbx.calltracker import CallSnapshot, CallTracker, LegSnapshot
from hotline.settings import load_directory
from hotline.supervisor.live import Board, Thresholds
from routing.presence import Presence
from tests.conftest import DATA, REPO

DIRECTORY = load_directory(REPO / "config" / "seats.toml")


def test_a_recorded_call_shows_ringing_then_talking_then_leaves_the_board() -> None:
    tracker = CallTracker("hotline-inbound", {"agent1001": "1001"}.get)
    board = Board(DIRECTORY, Presence(DIRECTORY).snapshot)
    seen = []
    for line in (DATA / "ami_first_call.jsonl").read_text().splitlines():
        event = json.loads(line)
        if board.apply(tracker.handle(event)):
            now = datetime.fromtimestamp(float(event.get("Timestamp", "0")), UTC)
            calls = board.snapshot(now)["calls"]
            assert isinstance(calls, list)
            seen.append([(c["state"], c["agent_id"], c["caller"]) for c in calls])
    assert seen[0] == [("ivr", None, "138****0004")]
    assert ("ringing", "1001", "138****0004") in [s[0] for s in seen if s]
    assert ("talking", "1001", "138****0004") in [s[0] for s in seen if s]
    assert seen[-1] == []


def test_alerts_for_a_long_wait_a_long_call_and_a_district_with_every_seat_away() -> None:
    t0 = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)
    presence = Presence(DIRECTORY, started=t0)
    for agent in ("2001", "2002"):
        presence.logout(agent, t0)
    board = Board(DIRECTORY, presence.snapshot, thresholds=Thresholds(60, 600, 10))
    board.apply(
        [
            ("call.started", CallSnapshot("A", "PJSIP/c-1", "13900000001", "", "12333", t0)),
            ("leg.ringing", LegSnapshot("a1", "A", "PJSIP/agent1001-1", "agent1001", "1001", t0)),
            ("call.started", CallSnapshot("B", "PJSIP/c-2", "13900000002", "", "12333", t0)),
            ("leg.ringing", LegSnapshot("b1", "B", "PJSIP/agent1002-1", "agent1002", "1002", t0)),
            (
                "leg.answered",
                LegSnapshot("b1", "B", "PJSIP/agent1002-1", "agent1002", "1002", t0, t0),
            ),
        ]
    )
    snap = board.snapshot(t0 + timedelta(seconds=700))
    kinds = sorted((a["kind"], a.get("linkedid", a.get("district"))) for a in snap["alerts"])  # type: ignore[union-attr]
    assert kinds == [("district-away", "xihu"), ("long-call", "B"), ("long-wait", "A")]
    districts = {d["id"]: d for d in snap["districts"]}  # type: ignore[union-attr]
    assert districts["xihu"]["away"] == 2 and districts["city"]["calls"] == 2
    assert len(districts) == 14  # the city centre and the 13 districts and counties


def test_a_caller_in_hotlines_line_shows_queued_with_the_longest_wait_first() -> None:
    t0 = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)
    line = [("B", t0 + timedelta(seconds=30)), ("A", t0 + timedelta(seconds=10))]
    board = Board(
        DIRECTORY,
        Presence(DIRECTORY, started=t0).snapshot,
        waiting=lambda: line,
        node_of={"C": "main_menu"}.get,
    )
    board.apply(
        [
            ("call.started", CallSnapshot(cid, "PJSIP/c", f"1390000000{n}", "", "12333", t0))
            for n, cid in enumerate("ABC")
        ]
    )
    snap = board.snapshot(t0 + timedelta(seconds=40))
    states = {c["linkedid"]: (c["state"], c["node"]) for c in snap["calls"]}  # type: ignore[union-attr]
    assert states == {"A": ("queued", ""), "B": ("queued", ""), "C": ("ivr", "main_menu")}
    assert [w["linkedid"] for w in snap["queue"]] == ["A", "B"]  # type: ignore[union-attr]


def test_an_agent_paused_for_unanswered_rings_is_an_alert_and_a_lunch_break_is_not() -> None:
    t0 = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)
    presence = Presence(DIRECTORY, started=t0)
    presence.pause("2001", "no-answer", t0)  # what the routing desk does after 2 rings out
    presence.pause("1002", "lunch", t0)
    board = Board(DIRECTORY, presence.snapshot)
    snap = board.snapshot(t0)
    alerts = [a for a in snap["alerts"] if a["kind"] == "no-answer-pause"]  # type: ignore[union-attr]
    assert alerts == [{"kind": "no-answer-pause", "agent_id": "2001", "district": "xihu"}]
    agents = {a["id"]: (a["state"], a["reason"]) for a in snap["agents"]}  # type: ignore[union-attr]
    assert agents["2001"] == ("paused", "no-answer")
