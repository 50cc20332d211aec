"""The recordings pipeline without Asterisk: retention decisions, QA measures on synthetic
audio, the catalogue against a folder (crash leftovers included), archive copies (ffmpeg)."""

from __future__ import annotations

import asyncio
import json
import math
import os
import shutil
import struct
import subprocess
import time
import wave
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from hotline.controller.recorder import Recorder
from hotline.store.db import open_engine, session_factory, write
from hotline.store.models import Call, Leg, Recording, RouteDecision, Ticket
from recordings.catalogue import Catalogue, Filters
from recordings.processing import ArchiveSettings, frame_levels, process
from recordings.qa import measure, playback_gain
from recordings.retention import (
    DiskState,
    PurgeCandidate,
    RetentionPolicy,
    category_of,
    decide_purge,
    disk_verdict,
)
from recordings.settings import RecordingSettings

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def probe_seconds(path: Path) -> float:
    """The duration ffprobe reads from the file itself (not the code under test's reading)."""
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "json", str(path)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return float(json.loads(out)["format"]["duration"])


def tone_spans(path: Path, seconds: float, spans: list[tuple[float, float]], hz: int = 440) -> None:
    """8 kHz mono 16-bit: a tone inside each (start, end) span, silence elsewhere."""
    frames = bytearray()
    for n in range(int(8000 * seconds)):
        t = n / 8000
        on = any(a <= t < b for a, b in spans)
        frames += struct.pack("<h", int(8000 * math.sin(2 * math.pi * hz * t)) if on else 0)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(bytes(frames))


def unfinalise(path: Path) -> None:
    data = bytearray(path.read_bytes())
    struct.pack_into("<I", data, 4, 0)
    struct.pack_into("<I", data, 40, 0)
    path.write_bytes(bytes(data))


@pytest.fixture
def store(tmp_path: Path) -> sessionmaker[Session]:
    return session_factory(open_engine(f"sqlite:///{tmp_path / 'h.db'}"))


@pytest.fixture
def root(tmp_path: Path) -> Path:
    folder = tmp_path / "rec"
    folder.mkdir()
    return folder


# --- retention --------------------------------------------------------------------------


def test_complaint_calls_are_kept_longer_than_general_ones() -> None:
    policy = RetentionPolicy()
    assert policy.keep_until("complaint", NOW) > policy.keep_until("general", NOW)
    assert category_of(["message", "complaint"]) == "complaint"
    assert category_of([]) == "general"


def test_a_legal_hold_blocks_purging_an_expired_recording() -> None:
    expired = NOW - timedelta(days=1)
    assert decide_purge(PurgeCandidate(1, "a", expired, False, False), NOW).purge
    held = decide_purge(PurgeCandidate(2, "b", expired, True, False), NOW)
    assert (held.purge, held.reason) == (False, "legal hold")
    later = NOW + timedelta(days=1)
    assert not decide_purge(PurgeCandidate(3, "c", later, False, False), NOW).purge
    assert not decide_purge(PurgeCandidate(4, "d", None, False, False), NOW).purge


def test_the_disk_guard_warns_before_space_runs_out() -> None:
    gib = 2**30
    assert disk_verdict(DiskState(50 * gib, 100 * gib, 1e6), 10, gib).level == "ok"
    warn = disk_verdict(DiskState(5 * gib, 100 * gib, 1e9), 10, gib)
    assert warn.level == "warning" and "for about 5.4 h" in warn.message
    assert disk_verdict(DiskState(gib // 2, 100 * gib, 1e9), 10, gib).level == "critical"


# --- QA measures ------------------------------------------------------------------------


def test_qa_measures_talk_overlap_and_long_silences_from_levels() -> None:
    loud, quiet = 3000, 10
    # 50 frames/s: caller talks 0-10 s, agent 8-20 s, then 40 s of silence, agent 60-62 s
    caller = [loud] * 500 + [quiet] * 2600
    agent = [quiet] * 400 + [loud] * 600 + [quiet] * 2000 + [loud] * 100
    qa = measure(caller, agent)
    assert (qa.caller_talk, qa.agent_talk, qa.overlap) == (10.0, 14.0, 2.0)
    assert qa.long_silences == 1 and qa.longest_silence == 40.0
    assert qa.talk_ratio == pytest.approx(10 / 14, abs=0.001)


def test_the_playback_gain_brings_speech_to_minus_20_dbfs_within_bounds() -> None:
    assert playback_gain([3277] * 10 + [0] * 100) == pytest.approx(0.0, abs=0.01)
    assert playback_gain([328] * 10) == pytest.approx(20.0, abs=0.02)  # -40 dBFS: +20 dB
    assert playback_gain([32000] * 10) == -10.0  # bounded
    assert playback_gain([0] * 10) == 0.0  # nobody spoke


def test_short_pauses_inside_speech_count_as_speech() -> None:
    levels = [3000] * 50 + [0] * 10 + [3000] * 50  # a 200 ms breath
    assert measure(levels, []).caller_talk == 2.2


def test_levels_streamed_from_a_file_show_who_spoke(root: Path) -> None:
    tone_spans(root / "c.wav", 4.0, [(0.0, 1.0)])
    (levels,) = frame_levels(root / "c.wav")
    assert len(levels) == 200
    assert min(levels[:45]) > 3000 and max(levels[55:]) == 0
    tone_spans(root / "a.wav", 3.0, [(2.0, 3.0)], hz=1000)  # shorter: padded with silence
    caller, agent = frame_levels(root / "c.wav", root / "a.wav")
    assert caller == levels and len(agent) == 200
    assert max(agent[:95]) == 0 and min(agent[105:145]) > 3000 and max(agent[150:]) == 0


# --- the catalogue ----------------------------------------------------------------------


def seed_call(store: sessionmaker[Session], linkedid: str, category: str | None = None) -> None:
    with write(store) as s:
        s.add(
            Call(
                linkedid=linkedid,
                caller_number="057188001234",
                started_at=NOW,
                answered_at=NOW,
                ended_at=NOW + timedelta(seconds=3),
                outcome="answered",
            )
        )
        s.add(
            Leg(
                uniqueid=linkedid + "1",
                linkedid=linkedid,
                channel="PJSIP/agent1001-1",
                endpoint="agent1001",
                agent_id="1001",
                ring_at=NOW,
                answered_at=NOW,
            )
        )
        s.add(RouteDecision(linkedid=linkedid, decided_at=NOW, post="pension-xihu", chain="x"))
        if category:
            s.add(
                Ticket(
                    number="T1",
                    linkedid=linkedid,
                    caller_number="1",
                    category=category,
                    recording="",
                    created_at=NOW,
                )
            )


def call_files(root: Path, linkedid: str, seconds: float = 3.0) -> None:
    tone_spans(root / f"{linkedid}.wav", seconds, [(0, seconds)])
    tone_spans(root / f"{linkedid}-caller.wav", seconds, [(0.0, 1.0)])
    tone_spans(root / f"{linkedid}-agent.wav", seconds, [(1.5, seconds)], hz=1000)


def test_a_finished_call_is_catalogued_with_its_links(
    store: sessionmaker[Session], root: Path
) -> None:
    seed_call(store, "1700.1", "complaint")
    call_files(root, "1700.1")
    cat = Catalogue(store, root, district_of=lambda post, _n: post.split("-")[-1])
    row = cat.catalogue("1700.1")
    assert row is not None
    assert (row.seconds, row.state, row.agents, row.post, row.district, row.category) == (
        3.0,
        "ok",
        "1001",
        "pension-xihu",
        "xihu",
        "complaint",
    )
    assert (row.caller_path, row.agent_path) == ("1700.1-caller.wav", "1700.1-agent.wav")
    assert row.keep_until is not None and row.keep_until.year == 2029
    cat.catalogue("1700.1")  # again: the same row
    with store() as s:
        assert s.scalar(select(func.count()).select_from(Recording)) == 1
    assert [r.linkedid for r in cat.find(Filters(agent="1001", category="complaint"))] == ["1700.1"]
    assert cat.find(Filters(agent="100")) == []


def test_a_recording_catalogued_while_the_disk_is_full_is_flagged_not_passed_for_whole(
    store: sessionmaker[Session], root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """MixMonitor stopped writing when the disk filled; the call went on; the file left is a
    valid, shorter WAV."""
    seed_call(store, "1700.6")
    call_files(root, "1700.6", seconds=0.5)
    usage = shutil.disk_usage(root)
    monkeypatch.setattr(shutil, "disk_usage", lambda _p: usage._replace(free=4096))
    row = Catalogue(store, root).catalogue("1700.6")
    assert row is not None and row.state == "flagged"
    assert row.note.startswith("the recordings disk was full (4096 bytes free)")
    monkeypatch.setattr(shutil, "disk_usage", lambda _p: usage._replace(free=2**30))
    again = Catalogue(store, root).catalogue("1700.6")  # space freed: the file is still cut
    assert again is not None and (again.state, again.note) == ("flagged", row.note)


def test_reconciliation_leaves_no_orphans_no_phantoms_and_no_duplicates(
    store: sessionmaker[Session], root: Path
) -> None:
    cat = Catalogue(store, root)
    call_files(root, "1700.1")
    cat.catalogue("1700.1")
    call_files(root, "1700.2")  # a crash lost its hook: an orphan file
    call_files(root, "1700.3")
    unfinalise(root / "1700.3.wav")  # cut by the crash, long since idle
    old = time.time() - 120
    os.utime(root / "1700.3.wav", (old, old))
    call_files(root, "1700.4")
    unfinalise(root / "1700.4.wav")  # still being written: a live call
    call_files(root, "1700.5")
    cat.catalogue("1700.5")
    (root / "1700.5.wav").unlink()  # a row whose file vanished
    (root / "msg-1700.1-1.wav").write_bytes(b"x")  # not a call recording: ignored

    report = cat.reconcile(settle_seconds=30)
    assert (report.catalogued, report.repaired, report.waiting, report.missing) == (
        ["1700.2", "1700.3"],
        ["1700.3"],
        ["1700.4"],
        ["1700.5"],
    )
    assert cat.get("1700.3") is not None and cat.get("1700.3").seconds == 3.0  # type: ignore[union-attr]
    assert cat.get("1700.5").state == "missing"  # type: ignore[union-attr]
    again = cat.reconcile(settle_seconds=30)
    assert again.catalogued == [] and again.refreshed == []
    with store() as s:
        assert s.scalar(select(func.count()).select_from(Recording)) == 4


def test_verify_finds_corrupt_and_missing_files(store: sessionmaker[Session], root: Path) -> None:
    cat = Catalogue(store, root)
    for lid in ("1.1", "1.2", "1.3"):
        call_files(root, lid)
        cat.catalogue(lid)
    with (root / "1.2.wav").open("r+b") as fh:
        fh.seek(100)
        fh.write(b"\xff\xff")
    (root / "1.3.wav").unlink()
    statuses = {r.linkedid: r.status for r in cat.verify(cat.find())}
    assert statuses == {"1.1": "ok", "1.2": "corrupt", "1.3": "missing"}


def test_purge_keeps_held_and_unexpired_recordings(
    store: sessionmaker[Session], root: Path
) -> None:
    cat = Catalogue(store, root, RetentionPolicy(days={"general": 0}, default_days=0))
    for lid in ("2.1", "2.2"):
        call_files(root, lid)
        cat.catalogue(lid)
    cat.hold("2.2", True, "court case 17", "legal-li")
    later = datetime.now(UTC) + timedelta(days=1)
    plan = {d.linkedid: d for d in cat.purge_plan(later)}
    assert plan["2.1"].purge and not plan["2.2"].purge
    removed = cat.purge_one(plan["2.1"], "admin", later)
    assert "2.1.wav" in removed and not (root / "2.1.wav").exists()
    assert (root / "2.2.wav").exists()
    assert cat.get("2.1").state == "purged"  # type: ignore[union-attr]


@pytest.mark.parametrize("fmt", ["mp3", "opus"])
def test_archive_copies_verify_before_the_source_is_removed(
    store: sessionmaker[Session], root: Path, fmt: str
) -> None:
    cat = Catalogue(store, root)
    call_files(root, "3.1", seconds=5.0)
    cat.catalogue("3.1")
    result = process(root, "3.1", ArchiveSettings(format=fmt, remove_source=True))
    assert result.ok, result.problems
    assert result.archive_path == f"archive/3.1.{fmt}"
    assert abs(probe_seconds(root / result.archive_path) - 5.0) < 0.3
    sources = ["3.1-agent.wav", "3.1-caller.wav", "3.1.wav"]
    assert sorted(result.removable) == sources
    # the WAVs go only once the row names the archive (apply_processed, below)
    assert all((root / name).is_file() for name in sources)
    assert result.qa is not None and result.qa.caller_talk == pytest.approx(1.0, abs=0.1)
    assert result.qa.agent_talk == pytest.approx(3.5, abs=0.1)
    assert result.playback_path and abs(probe_seconds(root / result.playback_path) - 5.0) < 0.3
    cat.apply_processed(result)
    row = cat.get("3.1")
    assert row is not None and row.state == "archived"
    assert not any((root / name).exists() for name in sources)
    assert [v.status for v in cat.verify([row])] == ["ok"]
    # the per-party archive copies hold the right party: the caller's is quiet after 1 s
    (levels,) = frame_levels(root / f"archive/3.1-caller.{fmt}")
    assert max(levels[:40]) > 1000 and max(levels[75:]) < 300


def test_catalogue_writes_wait_out_a_locked_database(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hundreds of calls ending together keep SQLite's writers queued past the busy timeout
    (the 300-caller soak): the recorder tries again instead of dropping the catalogue row."""
    from sqlalchemy.exc import OperationalError

    from hotline.controller import recorder

    monkeypatch.setattr(recorder, "LOCKED_RETRIES", (0.0, 0.0))
    calls: list[str] = []

    def write(linkedid: str) -> str:
        calls.append(linkedid)
        if len(calls) < 3:
            raise OperationalError("BEGIN IMMEDIATE", {}, Exception("database is locked"))
        return f"row {linkedid}"

    assert asyncio.run(recorder._stored(write, "1795.1")) == "row 1795.1"
    assert calls == ["1795.1"] * 3
    calls.clear()

    def never(linkedid: str) -> str:
        calls.append(linkedid)
        raise OperationalError("BEGIN IMMEDIATE", {}, Exception("database is locked"))

    with pytest.raises(OperationalError):  # the caller logs it; reconciliation catalogues later
        asyncio.run(recorder._stored(never, "1795.2"))
    assert len(calls) == 3


def test_a_file_that_goes_while_the_folder_is_reconciled_is_passed_over(
    store: sessionmaker[Session], root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Processing removes archived WAVs while reconciliation walks the folder (the 300-caller
    soak): a file listed but gone by the time it is read is passed over, not a failed pass."""
    cat = Catalogue(store, root)
    call_files(root, "5.1", seconds=1.0)
    listed = cat.spool()
    listed["5.2"] = {None, "caller", "agent"}  # listed, then archived and removed
    monkeypatch.setattr(cat, "spool", lambda: listed)
    report = cat.reconcile(settle_seconds=0.0)
    assert report.catalogued == ["5.1"]
    assert cat.get("5.2") is None


def test_a_stopping_controller_ends_the_reconciliation_between_two_calls(
    store: sessionmaker[Session], root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A new database beside a folder of thousands of recordings: the pass takes minutes in a
    worker thread, which the process waits for; once `stop` is set it ends after the call in
    hand, says so, and marks nothing missing (the next pass goes on)."""
    import threading

    cat = Catalogue(store, root)
    for n in range(1, 6):
        call_files(root, f"6.{n}", seconds=0.2)
    cat.catalogue("6.5")
    (root / "6.5.wav").unlink()  # a row whose file is gone: not judged by a stopped pass
    stop = threading.Event()
    catalogue_one = cat.catalogue

    def then_stop(linkedid: str) -> object:  # the controller stops during the second file
        row = catalogue_one(linkedid)
        if linkedid == "6.2":
            stop.set()
        return row

    monkeypatch.setattr(cat, "catalogue", then_stop)
    report = cat.reconcile(settle_seconds=0.0, stop=stop)
    assert report.stopped and report.catalogued == ["6.1", "6.2"] and report.missing == []
    assert report.summary().startswith("stopped-early catalogued=2 ")
    assert cat.get("6.5").state != "missing"  # type: ignore[union-attr]
    assert cat.reconcile(settle_seconds=0.0).catalogued == ["6.3", "6.4"]  # the next pass


def test_a_recording_is_processed_once_however_often_it_is_asked_for(
    store: sessionmaker[Session], root: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A fresh call's task and a maintenance pass's (stale) list both ask for the same
    recording: ffmpeg runs for it once."""
    call_files(root, "4.1", seconds=2.0)
    settings = RecordingSettings(directory=root, asterisk_directory=str(root))

    async def no_wait() -> None:
        return None

    async def scenario() -> None:
        recorder = Recorder(settings, Catalogue(store, root), no_wait)
        assert recorder.catalogue.catalogue("4.1") is not None
        await asyncio.gather(recorder.process("4.1"), recorder.process("4.1"))  # at once
        await recorder.process("4.1")  # later, from a list read before it was processed

    caplog.set_level("INFO", logger="hotline.recordings")
    asyncio.run(scenario())
    assert caplog.text.count("event=recording.processed linkedid=4.1 ") == 1
    row = Catalogue(store, root).get("4.1")
    assert row is not None and row.processed_at is not None
