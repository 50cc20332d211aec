"""Secure pause (issue 16, item 2) without Asterisk: which steps mute the recording, the AMI
actions sent for them, the spans kept, and how the catalogue lists them."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from hotline.store.db import open_engine, session_factory, write
from hotline.store.models import MutedSpan, Recording
from ivr.interpreter import FlowRun
from ivr.runtime import run_call
from recordings.catalogue import Catalogue
from recordings.secure_pause import AmiRecordingPause, PausePolicy
from tests.unit.test_runtime import FLOW, ScriptedChannel, services

ID = "330106198005126726"
CHANNEL = "PJSIP/callers-00000007"
# the 12333 query: past the greeting, 1 at the main menu, the ID, 1 to confirm, the PIN
QUERY = ["", "1", ID, "1", "123456"]


class FakeAmi:
    def __init__(self, reply: str = "Success") -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []
        self.reply = reply

    async def action(self, name: str, **headers: Any) -> dict[str, str]:
        self.sent.append((name, headers))
        return {"Response": self.reply}


def ticking(start: datetime) -> Callable[[], datetime]:
    """A clock that moves one second per reading: the spans' times are known by hand."""
    times: Iterator[datetime] = (start + timedelta(seconds=n) for n in range(1000))
    return lambda: next(times)


def query_call(policy: PausePolicy, ami: FakeAmi) -> list[tuple[str, Callable[[Session], None]]]:
    kept: list[tuple[str, Callable[[Session], None]]] = []
    svc = services()
    start = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
    svc.pause = AmiRecordingPause(
        policy, {"main": ami.action}, lambda what, job: kept.append((what, job)), ticking(start)
    )
    run = FlowRun(FLOW, variables={"mode": "menu", "district": ""})
    asyncio.run(run_call(run, ScriptedChannel([*QUERY, None]), svc, "1795.3", "", "main", CHANNEL))
    return kept


def mutes(ami: FakeAmi) -> list[tuple[str, str, str]]:
    return [
        (h["Channel"], h["Direction"], h["State"]) for n, h in ami.sent if n == "MixMonitorMute"
    ]


def test_the_recording_is_muted_while_the_pin_is_keyed_and_only_then() -> None:
    ami = FakeAmi()
    kept = query_call(PausePolicy(), ami)
    # only the PIN: the ID is keyed and read back with the recording running
    assert mutes(ami) == [(CHANNEL, "read", "1"), (CHANNEL, "read", "0")]
    assert [what for what, _ in kept] == ["recording_mute"]


def test_with_pause_readback_the_ids_read_back_is_muted_both_ways() -> None:
    ami = FakeAmi()
    query_call(PausePolicy(readback=True), ami)
    assert mutes(ami) == [
        (CHANNEL, "both", "1"),  # "you entered 3 3 0 1 0 6 ..., 1 to confirm"
        (CHANNEL, "both", "0"),
        (CHANNEL, "read", "1"),  # the PIN
        (CHANNEL, "read", "0"),
    ]


def test_secure_pause_off_sends_nothing() -> None:
    ami = FakeAmi()
    assert query_call(PausePolicy(enabled=False), ami) == [] and ami.sent == []


def test_a_mute_asterisk_refuses_is_not_listed_as_a_muted_span() -> None:
    ami = FakeAmi(reply="Error")
    kept = query_call(PausePolicy(), ami)
    assert mutes(ami) == [(CHANNEL, "read", "1")]  # nothing to undo
    assert kept == []


def test_the_catalogue_lists_spans_in_seconds_from_the_recordings_start(tmp_path: Path) -> None:
    sessions = session_factory(open_engine(f"sqlite:///{tmp_path / 'h.db'}"))
    ami = FakeAmi()
    start = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
    for _, job in query_call(PausePolicy(readback=True), ami):
        with write(sessions) as session:
            job(session)
    with write(sessions) as session:
        session.add(
            Recording(
                linkedid="1795.3",
                path="1795.3.wav",
                started_at=start - timedelta(seconds=10),
                catalogued_at=start,
            )
        )
    with sessions() as session:
        spans = session.query(MutedSpan).order_by(MutedSpan.id).all()
        row = session.query(Recording).one()
    # the clock reads 0, 1, 2, 3 s after `start`: the read-back muted from its 1st reading
    # (after Asterisk confirmed) to its 2nd (before the unmute), the PIN from 3rd to 4th;
    # the recording began 10 s before `start`
    utc = [
        (s.kind, s.started_at.replace(tzinfo=UTC), s.ended_at.replace(tzinfo=UTC)) for s in spans
    ]
    assert utc == [
        ("id", start, start + timedelta(seconds=1)),
        ("pin", start + timedelta(seconds=2), start + timedelta(seconds=3)),
    ]
    assert Catalogue(sessions, tmp_path).muted(row) == [(10.0, 11.0, "id"), (12.0, 13.0, "pin")]


def test_a_caller_who_hangs_up_while_keying_the_pin_leaves_a_span_and_no_unmute() -> None:
    ami = FakeAmi()
    kept: list[tuple[str, Callable[[Session], None]]] = []
    svc = services()
    svc.pause = AmiRecordingPause(
        PausePolicy(), {"main": ami.action}, lambda what, job: kept.append((what, job))
    )
    run = FlowRun(FLOW, variables={"mode": "menu", "district": ""})
    # the PIN's collect: the caller hangs up instead of keying
    channel = ScriptedChannel([*QUERY[:-1], None])
    report = asyncio.run(run_call(run, channel, svc, "1795.4", "", "main", CHANNEL))
    assert report.hung_up and report.steps[-1].node == "query_pin"
    assert mutes(ami) == [(CHANNEL, "read", "1")]
    assert [what for what, _ in kept] == ["recording_mute"]
