"""The controller is the one composition root: the AMI events it follows are exactly what its
attached parts declare, each part reacts only to events it declares, and features attach
through the hooks (event, changes, call end, timed jobs)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hotline.controller.app import Controller
from hotline.controller.callbacks import CallbackDispatcher
from hotline.controller.hooks import Hooks
from hotline.pbx.calltracker import CallSnapshot, CallTracker, Change, LegSnapshot
from hotline.pbx.dialplan import AGENT_EVENT
from hotline.pbx.presence_events import PresenceFeed
from hotline.settings import load_directory, load_settings
from hotline.supervisor.attach import SupervisorSide
from hotline.supervisor.monitor import MonitorDesk
from routing.presence import Presence
from tests.conftest import REPO, write_config

T0 = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
WEB_ON = "[web]\nenabled = true\n"  # built, never started: its default address is unused


def recorded_event_names() -> set[str]:
    """Every event name a real Asterisk sent during a recorded first call."""
    lines = (REPO / "tests" / "data" / "ami_first_call.jsonl").read_text().splitlines()
    names = set()
    for line in lines:
        message = json.loads(line)
        if isinstance(message, dict) and "Event" in message:
            names.add(message["Event"])
    return names


@pytest.mark.parametrize("web", [False, True], ids=["web-off", "web-on"])
def test_the_controller_follows_exactly_the_events_its_readers_declare(
    tmp_path: Path, web: bool
) -> None:
    controller = Controller(load_settings(write_config(tmp_path, extra=WEB_ON if web else "")))
    readers = controller.hooks.readers
    # the parts that read AMI events are attached, the dashboard only when it is on
    assert controller.presence_feed in readers
    assert controller.callbacks in readers
    assert all(tracker in readers for tracker in controller.trackers.values())
    assert (controller.web in readers) is web
    declared = set().union(*(r.events for r in readers))
    # by hand: presence (device states, the seats' feature codes), callbacks' results, the
    # call tracker's fold and, with the dashboard, the listening desk's
    expected = {"DeviceStateChange", "UserEvent"} | set(CallTracker._handlers)
    if web:
        expected |= {"OriginateResponse", "ChanSpyStart", "ChanSpyStop", "Hangup"}
    assert declared == expected
    for client in controller.amis.values():
        assert client.events == declared | {"FullyBooted"}
    controller.store.close()


def test_each_reader_reacts_only_to_events_it_declares() -> None:
    """A reader that handled an event it does not declare would never see it: the AMI client
    drops undeclared events before they are converted."""
    assert set(CallTracker._handlers) <= CallTracker.events
    assert set(MonitorDesk._handlers) <= MonitorDesk.events <= SupervisorSide.events
    assert CallbackDispatcher.events == {"UserEvent"}  # on_result reads the dialplan's UserEvent
    directory = load_directory(REPO / "config" / "seats.toml")
    endpoint = next(iter(directory.seats))
    agent = next(iter(directory.agents))
    names = recorded_event_names() | PresenceFeed.events | {"AgentLogin", "QueueMemberStatus"}
    reacted = set()
    for name in sorted(names):
        feed = PresenceFeed(Presence(directory), directory)
        # one event carrying every field presence could read, under each name in turn
        event = {
            "Event": name,
            "Device": f"PJSIP/{endpoint}",
            "State": "INUSE",
            "UserEvent": AGENT_EVENT,
            "Agent": agent,
            "Change": "login",
        }
        if feed.apply(event, T0) is not None:
            reacted.add(name)
    assert reacted == {"DeviceStateChange", "UserEvent"}
    assert reacted <= PresenceFeed.events


class Seen:
    events = frozenset({"Hangup"})

    def __init__(self) -> None:
        self.calls: list[tuple[str, int, bool]] = []

    def on_event(
        self, event: dict[str, str], changes: list[Change], presence_changed: bool
    ) -> None:
        self.calls.append((event["Event"], len(changes), presence_changed))


def ended(linkedid: str) -> Change:
    return ("call.ended", CallSnapshot(linkedid, "c", "13800000001", "", "12333", T0))


def test_hooks_hand_each_event_to_what_is_attached_on_the_right_box_and_controller() -> None:
    hooks = Hooks()
    everywhere, main, leader = Seen(), Seen(), Seen()
    hooks.on_event(everywhere)
    hooks.on_event(main, main_only=True)
    hooks.on_event(leader, leader_only=True)
    changed: list[int] = []
    leader_changed: list[int] = []
    ends: list[str] = []
    hooks.on_changes(lambda c: changed.append(len(c)), leader_only=False)
    hooks.on_changes(lambda c: leader_changed.append(len(c)), leader_only=True)
    hooks.on_call_end(lambda call: ends.append(call.linkedid))
    leg: Change = ("leg.ended", LegSnapshot("2.2", "1.1", "a", "agent1001", "1001", T0))
    hooks.event_seen("main", {"Event": "Hangup"}, [leg, ended("1.1")], False, is_leader=True)
    hooks.event_seen("xihu-box", {"Event": "Hangup"}, [ended("3.3")], True, is_leader=False)
    hooks.event_seen("main", {"Event": "Newexten"}, [], False, is_leader=False)
    assert everywhere.calls == [("Hangup", 2, False), ("Hangup", 1, True), ("Newexten", 0, False)]
    assert main.calls == [("Hangup", 2, False), ("Newexten", 0, False)]
    assert leader.calls == [("Hangup", 2, False)]
    assert changed == [2, 1]  # not called for an event that changed no call
    assert leader_changed == [2]
    assert ends == ["1.1", "3.3"]  # each ended call, whichever box, not its legs
    assert hooks.followed_events() == {"Hangup"}


def test_timed_jobs_attach_on_the_leader_unless_said_otherwise() -> None:
    async def job() -> None:
        return None

    hooks = Hooks()
    hooks.every(2, job, "a")
    hooks.every(1, job, "b", leader_only=False)
    assert [(j.id, j.every, j.leader_only) for j in hooks.jobs] == [("a", 2, True), ("b", 1, False)]
