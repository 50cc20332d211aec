"""Faults on the real stack: the database away for a while, the controller killed mid-call, a
data source that never answers, Asterisk crashing with calls up, the recordings disk filling.
Callers still reach a person; nothing the controller had to store is lost."""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from hotline.sandbox import sipp
from hotline.settings import load_settings
from hotline.store.models import Callback, IvrStep, Recording, RouteDecision
from tests.conftest import run_hotline
from tests.stack.conftest import (
    AGENT_PORTS,
    SIP_PORT,
    Stack,
    agent_phone,
    callers_phone,
    place_call,
    running_controller,
    wait_for,
)
from tests.stack.test_ivr import ID, SKIP_GREETING, ZERO_IN_GREETING
from tests.stack.test_routing import AGENT_NOW, chain


def database_file(stack: Stack) -> str:
    return stack.settings.database_url.removeprefix("sqlite:///")


def book_callback(stack: Stack, number: str, district: str) -> None:
    """A callback due now, as a caller in line books it (test_queue books one by phone)."""
    now = datetime.now(UTC)
    engine = create_engine(stack.settings.database_url)
    try:
        with Session(engine) as session, session.begin():
            session.add(
                Callback(
                    linkedid=f"booked-{number}",
                    number=number,
                    post="",
                    business="pension",
                    district=district,
                    queued_at=now,
                    next_attempt_at=now,
                )
            )
    finally:
        engine.dispose()


def callbacks(stack: Stack, number: str) -> list[tuple[str, str | None]]:
    """The callbacks booked for `number`: (status, result)."""
    engine = create_engine(stack.settings.database_url)
    try:
        with Session(engine) as session:
            query = select(Callback.status, Callback.result).where(Callback.number == number)
            return [(status, result) for status, result in session.execute(query)]
    finally:
        engine.dispose()


def test_with_the_database_locked_calls_are_routed_and_their_rows_stored_afterwards(
    stack: Stack,
) -> None:
    caller = "13900000401"
    with running_controller(stack) as controller, agent_phone(stack, "db-a", "agent1001"):
        # another process holds the database's write lock for the whole call
        lock = sqlite3.connect(database_file(stack), isolation_level=None, timeout=10)
        lock.execute("BEGIN IMMEDIATE")
        try:
            place_call(stack, "db-away", caller, script=ZERO_IN_GREETING)
            wait_for(
                lambda: "event=store.unavailable" in controller.text(), 30, "writes to be held"
            )
            assert not stack.calls_from(caller)  # nothing could be written yet
        finally:
            lock.execute("ROLLBACK")
            lock.close()
        wait_for(lambda: "event=store.recovered" in controller.text(), 30, "the writes to land")
        call = stack.ended_call(caller)
    # everything the call produced is there: call, legs, IVR path, routing decision
    assert call.outcome == "answered"
    assert [(leg.agent_id, leg.dial_status) for leg in call.legs] == [("1001", "ANSWER")]
    path = stack.ivr_path(call.linkedid)
    assert path[-1] == ("to_agent", "answered")
    (decision,) = stack.decisions(call.linkedid)
    assert decision.answered_by == "1001"


def test_controller_killed_mid_call_the_caller_reaches_a_person_and_the_row_is_closed(
    stack: Stack,
) -> None:
    caller = "13900000402"
    work = stack.folder / "killed"
    agent = sipp.start_agent(  # the fallback queue's member answers once, then exits 0
        work,
        "agent1001",
        AGENT_PORTS[0],
        sipp.agent_scenario(sipp.party_audio(work, sipp.AGENT_HZ), talk_ms=2000),
        max_calls=1,
    )
    try:
        with running_controller(stack, killed=True) as first:
            # the caller listens to the menus and presses nothing
            silent = sipp.caller_scenario(sipp.party_audio(work, sipp.CALLER_HZ), caller)
            party = sipp.start_caller(work, "caller", silent, SIP_PORT, timeout_s=90)
            wait_for(lambda: "event=ivr.start" in first.text(), 20, "the call to enter the IVR")
            wait_for(lambda: stack.calls_from(caller), 10, "the call row")
            first.process.send_signal(signal.SIGKILL)
            first.process.wait(10)
        assert party.process.wait(60) == 0, party.log.read_text(errors="replace")[-1500:]
        assert agent.process.wait(10) == 0  # a person answered: the dialplan's fallback queue
    finally:
        agent.stop()
    (call,) = stack.calls_from(caller)
    assert call.outcome == "live"  # nobody was listening when it ended
    # a restarted controller finds the call gone from Asterisk and closes its row
    with running_controller(stack) as second:
        wait_for(lambda: "event=calls.closed-stale" in second.text(), 20, "the stale row closed")
    (call,) = stack.calls_from(caller)
    assert call.outcome == "unknown" and call.ended_at is not None
    steps = stack._query(
        lambda s: list(s.scalars(select(IvrStep).where(IvrStep.linkedid == call.linkedid)))
    )
    assert steps == []  # the killed session's path was never written, and nothing invented
    assert not stack._query(
        lambda s: list(
            s.scalars(select(RouteDecision).where(RouteDecision.linkedid == call.linkedid))
        )
    )


def test_a_lookup_that_never_answers_ends_at_a_person_and_the_next_call_is_served(
    stack: Stack,
) -> None:
    # The contribution records sit on a share whose server is gone: opening the file blocks
    # for ever (as on a hard-mounted NFS share). Here the database is a FIFO nobody writes:
    # sqlite's open() blocks the same way, in the lookup's thread.
    config = stack.config_with("lookup-hangs", extra="[routing]\nwrap_up_seconds = 0")
    share = config.parent / "contributions-on-a-dead-share.db"
    os.mkfifo(share)
    text = config.read_text().replace('database = "contributions.db"', f'database = "{share}"')
    assert str(share) in text
    config.write_text(text)
    caller, next_caller = "13900000403", "13900000404"
    try:
        with (
            running_controller(stack, config) as controller,
            agent_phone(stack, "lookup-hangs-agent", talk_ms=1500),
        ):
            place_call(
                stack,
                "lookup-hangs",
                caller,
                script=[
                    SKIP_GREETING,
                    ("main_menu", "1"),
                    ("query_enter_id", ID + "#"),
                    ("confirm_reenter", "1"),  # 1 confirms the number read back
                    ("query_enter_pin", "123456"),
                ],
            )
            call = stack.ended_call(caller)
            assert "event=lookup.failed" in controller.text()
            # the lookup's thread is still stuck in open(): the next caller is served all the same
            place_call(
                stack,
                "after-the-hang",
                next_caller,
                script=ZERO_IN_GREETING,
            )
            following = stack.ended_call(next_caller)
        # ...and the controller still stopped cleanly (running_controller: exit 0 on SIGTERM)
    finally:
        _unblock(share)
    path = stack.ivr_path(call.linkedid)
    assert path[-4:] == [
        ("query_lookup", "error"),
        ("query_error", "done"),
        ("agent_hours", "open"),
        ("to_agent", "answered"),
    ]
    assert call.outcome == "answered" and call.ended_at is not None
    assert following.outcome == "answered" and following.legs[0].agent_id == "1001"


def _unblock(fifo: os.PathLike[str]) -> None:
    """Let a reader stuck opening `fifo` go (it then reads an empty file)."""
    with contextlib.suppress(OSError):  # ENXIO: nobody is waiting on it any more
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))


def test_asterisk_crashing_with_calls_up_leaves_no_live_row_and_no_busy_agent_after_restart(
    stack: Stack,
) -> None:
    """Asterisk dies as in a crash (SIGKILL: no Hangup event, no BYE) while one caller talks
    to agent 1001, one rings agent 1002, one listens to the menu, and a booked callback has
    agent 2001 talking to its caller; it is started again."""
    from hotline.sandbox import commands as sandbox_cmd

    config = stack.config_with("asterisk-crash", extra="[routing]\nwrap_up_seconds = 0")
    talking, ringing, in_menu = "13900000405", "13900000406", "13900000407"
    work = stack.folder / "asterisk-crash"
    called_back = "057187000409"  # a Xihu caller who booked a callback: post other-xihu, A 2001
    with running_controller(stack, config) as controller:
        with ExitStack() as up:
            up.enter_context(callers_phone(stack, "called-back", talk_ms=60_000, max_calls=2))
            up.enter_context(agent_phone(stack, "crash-c", "agent2001", talk_ms=60_000))
            book_callback(stack, called_back, "xihu")
            wait_for(
                lambda: "event=callback.answered" in controller.text(), 30, "the callback placed"
            )
            wait_for(  # the agent's leg and the caller's leg
                lambda: "2 active channels" in stack.instance.cli("core show channels count"),
                20,
                "the callback's caller to answer",
            )
            up.enter_context(agent_phone(stack, "crash-a", "agent1001", talk_ms=60_000))
            up.enter_context(agent_phone(stack, "crash-b", "agent1002", behaviour="no-answer"))
            for number, script in ((talking, AGENT_NOW), (ringing, AGENT_NOW), (in_menu, [])):
                scenario = sipp.caller_scenario(
                    sipp.party_audio(work, sipp.CALLER_HZ), number, script=script
                )
                party = sipp.start_caller(work, number, scenario, SIP_PORT, timeout_s=90)
                up.callback(party.stop)
                wait_for(lambda n=number: stack.calls_from(n), 20, f"the call from {number}")
                if number == talking:
                    wait_for(
                        lambda: "endpoint=agent1001 state=INUSE" in controller.text(),
                        20,
                        "agent 1001 talking",
                    )
                elif number == ringing:
                    wait_for(
                        lambda: "endpoint=agent1002 agent=1002 status=-" in controller.text(),
                        20,
                        "agent 1002 rung",
                    )
            wait_for(
                lambda: controller.text().count("event=ivr.start") == 3, 20, "the third caller"
            )
            pid = stack.instance.pid()
            assert pid is not None
            os.killpg(pid, signal.SIGKILL)
            stack.instance.stop()  # reaps it
            wait_for(lambda: "event=ami.disconnected" in controller.text(), 20, "AMI down")
            mark = len(controller.text())
            stack.instance = sandbox_cmd.up(stack.settings, say=lambda _line: None)
            wait_for(
                lambda: "event=presence.resync" in controller.text()[mark:],
                30,
                "presence read again after the reconnect",
            )
            # the callback whose call Asterisk lost ends 'unknown': never placed twice
            wait_for(
                lambda: "event=callback.unknown" in controller.text()[mark:],
                20,
                "the lost callback settled",
            )
        # nothing was replayed to the new Asterisk: it has no channel before the next call
        assert "0 active channels" in stack.instance.cli("core show channels count")
        assert callbacks(stack, called_back) == [
            ("unknown", "Asterisk no longer had the call when the AMI link came back")
        ]
        assert controller.text().count("event=callback.dialing") == 1
        # the dead calls' rows are closed, none left 'live'
        for number in (talking, ringing, in_menu):
            wait_for(
                lambda n=number: stack.calls_from(n)[0].ended_at is not None,
                20,
                f"the row of {number} closed",
            )
            (call,) = stack.calls_from(number)
            assert call.outcome == "unknown"
            assert all(leg.ended_at is not None for leg in call.legs)
        # both agents are free again (1001 not left talking, 1002 not left ringing or
        # claimed): the next call rings A, who is busy on the phone, then B, who answers
        with (
            agent_phone(stack, "crash-a2", "agent1001", behaviour="busy"),
            agent_phone(stack, "crash-b2", "agent1002", max_calls=1, talk_ms=1500) as b,
        ):
            place_call(stack, "after-the-crash", "13900000408", script=ZERO_IN_GREETING)
            assert b.process.wait(10) == 0
    assert chain(stack, "13900000408").endswith("| rang: 1001 BUSY, 1002 ANSWER")


SMALL_DISK = "/var/lib/hotline-sandbox/pytest/recordings-small"  # as Asterisk sees it


@contextmanager
def small_recordings_disk(stack: Stack, megabytes: int) -> Iterator[Path]:
    """A tmpfs of its own for the recordings, inside the sandbox's root (the chrooted Asterisk
    writes there): filling it endangers nothing else. Unmounted after."""
    folder = stack.instance.host_path(SMALL_DISK)
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={megabytes}m", "hotline-test-disk", str(folder)],
        check=True,
    )
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=True)


def fill(folder: Path, name: str, leave_bytes: int) -> None:
    """A ballast file that leaves `leave_bytes` free on the folder's filesystem (0: full)."""
    free = os.statvfs(folder).f_bavail * os.statvfs(folder).f_frsize
    with (folder / name).open("ab") as ballast, contextlib.suppress(OSError):  # ENOSPC
        for _ in range(max(0, free - leave_bytes) // 4096):
            ballast.write(b"\0" * 4096)
            ballast.flush()


def recording_of(stack: Stack, linkedid: str) -> Recording | None:
    query = select(Recording).where(Recording.linkedid == linkedid)
    return stack._query(lambda s: s.scalars(query).first())  # type: ignore[no-any-return]


def test_the_recordings_disk_filling_up_alarms_early_and_no_recording_stops_silently(
    stack: Stack,
) -> None:
    with small_recordings_disk(stack, megabytes=4) as disk:
        config = stack.config_with("disk-full", extra="[routing]\nwrap_up_seconds = 0")
        usual = stack.settings.recordings
        text = config.read_text().replace(
            f'directory = "{usual.directory}"\nasterisk_directory = "{usual.asterisk_directory}"',
            f'directory = "{disk}"\nasterisk_directory = "{SMALL_DISK}"\n'
            "reconcile_every = 1\ndisk_warn_free_percent = 50\ndisk_min_free_mb = 1\n"
            "process_after_call = false",
        )
        # its own database: a controller reconciles the catalogue against its folder, and the
        # session's other recordings are not on this disk
        text = text.replace(stack.settings.database_url, "sqlite:///hotline.db")
        assert SMALL_DISK in text and "sqlite:///hotline.db" in text
        config.write_text(text)
        own = replace(stack, settings=load_settings(config))
        loaded = run_hotline(config, "dialplan", "load")  # MixMonitor now writes to the disk
        assert loaded.returncode == 0, loaded.stderr
        try:
            fill(disk, "ballast-1", leave_bytes=2_000_000)  # of 4 MB: 48% free, under the 50%
            with running_controller(stack, config) as controller:
                wait_for(
                    lambda: "event=recordings.disk-warning" in controller.text(),
                    20,
                    "the early disk alarm",
                )
                # while the alarm stands, calls are recorded whole
                with agent_phone(stack, "disk-a", talk_ms=3000):
                    place_call(stack, "disk-early", "13900000409", script=ZERO_IN_GREETING)
                early = own.ended_call("13900000409")
                wait_for(lambda: recording_of(own, early.linkedid), 20, "the recording")
                first = recording_of(own, early.linkedid)
                assert first is not None and first.state == "ok" and first.seconds > 3
                # the disk fills up while the next caller talks to the agent
                work = stack.folder / "disk-full"
                scenario = sipp.caller_scenario(
                    sipp.party_audio(work, sipp.CALLER_HZ), "13900000410", script=AGENT_NOW
                )
                with agent_phone(stack, "disk-b", talk_ms=4000):
                    party = sipp.start_caller(work, "caller", scenario, SIP_PORT)
                    try:
                        wait_for(
                            lambda: controller.text().count("event=leg.answered") == 2,
                            30,
                            "the second call answered",
                        )
                        fill(disk, "ballast-2", leave_bytes=0)
                        assert party.process.wait(60) == 0  # the call itself went on
                    finally:
                        party.stop()
                full = own.ended_call("13900000410")
                wait_for(lambda: recording_of(own, full.linkedid), 20, "the cut recording")
                wait_for(
                    lambda: "event=recordings.disk-critical" in controller.text(),
                    20,
                    "the critical disk alarm",
                )
                cut = recording_of(own, full.linkedid)
                assert cut is not None
                assert cut.state == "flagged" and "disk was full" in cut.note, cut.note
        finally:
            restored = run_hotline(stack.config, "dialplan", "load")
            assert restored.returncode == 0, restored.stderr


def test_an_agi_command_that_hangs_moves_the_call_on_to_a_person_after_its_timeout(
    stack: Stack,
) -> None:
    # Asterisk stops answering mid-command (frozen: SIGSTOP, as a box stuck on a dead disk or
    # swapping would be) for longer than the controller's command timeout. The controller
    # gives the session up; when Asterisk runs again, the dialplan's fallback queue takes the
    # caller to a person, and the controller serves the next call.
    limit = int(stack.prompt_seconds("welcome_lang")) + 3  # the first prompt still fits
    config = stack.config_with("agi-hangs", extra="[routing]\nwrap_up_seconds = 0")
    text = config.read_text()
    config.write_text(text.replace("[fastagi]\n", f"[fastagi]\ncommand_timeout = {limit}\n", 1))
    caller = "13900000409"
    work = stack.folder / "agi-hangs"
    asterisk = stack.instance.pid()
    assert asterisk is not None
    mark = stack.log_mark()
    with (
        # the fallback queue's member: answers one call, then exits 0
        agent_phone(stack, "agi-hangs-agent", talk_ms=2000, max_calls=1) as agent,
        running_controller(stack, config) as controller,
    ):
        silent = sipp.caller_scenario(sipp.party_audio(work, sipp.CALLER_HZ), caller)
        party = sipp.start_caller(work, "caller", silent, SIP_PORT, timeout_s=120)
        wait_for(lambda: "event=ivr.start" in controller.text(), 20, "the call in the IVR")
        os.killpg(asterisk, signal.SIGSTOP)
        try:
            wait_for(
                lambda: "event=agi.timeout" in controller.text(),
                limit + 15,
                "the controller to give the command up",
            )
        finally:
            os.killpg(asterisk, signal.SIGCONT)
        assert party.process.wait(90) == 0, party.log.read_text(errors="replace")[-1500:]
        assert agent.process.wait(10) == 0  # a person answered: the fallback queue
        call = stack.ended_call(caller, timeout=30)
        assert call.outcome == "answered"
        # the IVR path up to the command Asterisk never answered is stored
        assert stack.ivr_path(call.linkedid)[-1][1] == "no-reply"
        # the controller is healthy: the next caller is served through the IVR
        with agent_phone(stack, "agi-hangs-next", "agent1001", talk_ms=1500):
            place_call(stack, "agi-hangs-next", "13900000410", script=ZERO_IN_GREETING)
        assert chain(stack, "13900000410").startswith("post other-city A: 1001")
    assert "controller did not handle the call" in stack.asterisk_log()[mark:]
