"""`hotline demo`: the sandbox Asterisk, the controller and simulated callers and agents.

Each simulated caller dials 12333 from SIPp with real RFC 2833 key presses; the seats' phones
are SIPp UAS that answer and talk. At the end every call is reported from the database.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from recordings.wav import NotAWav, wav_info
from sandbox import sipp
from store.db import open_engine, session_factory
from store.models import Call

from . import sandbox_cmd
from .config import Settings


@dataclass(frozen=True)
class DemoCall:
    caller: str
    keys: str
    story: str
    hangup_after_ms: int | None = None
    gap_ms: int = 3000


SCRIPT = [
    DemoCall("13800000001", "0", "presses 0 for an agent at the main menu"),
    DemoCall("13900000002", "10", "presses 1 (pension information), then 0 during it for an agent"),
    DemoCall("13700000003", "", "hangs up in the main menu", hangup_after_ms=3000),
    DemoCall("13600000004", "70", "presses a wrong key, hears 'invalid option', then presses 0"),
]


def run_demo(settings: Settings, calls: int = 3) -> int:
    workdir = settings.file.parent.parent / "var" / "demo"
    print("hotline demo: starting the sandbox Asterisk (first run builds it: about a minute) ...")
    sandbox_cmd.up(settings, say=lambda line: print("  " + line))
    controller = _start_controller(settings, workdir)
    agents = [
        sipp.start_agent(
            workdir,
            seat.endpoint,
            int(seat.contact.rsplit(":", 1)[1]),
            sipp.agent_scenario(sipp.party_audio(workdir, sipp.AGENT_HZ), talk_ms=3000),
        )
        for seat in settings.directory.seats.values()
        if seat.contact
    ]
    started = time.time()
    try:
        plan = [SCRIPT[i % len(SCRIPT)] for i in range(calls)]
        callers = []
        for n, call in enumerate(plan, 1):
            scenario = sipp.caller_scenario(
                sipp.party_audio(workdir, sipp.CALLER_HZ),
                call.caller,
                call.keys,
                gap_ms=call.gap_ms,
                hangup_after_ms=call.hangup_after_ms,
            )
            print(f"  call {n}: {call.caller} {call.story}")
            callers.append(
                sipp.start_caller(workdir, f"caller{n}", scenario, settings.sandbox.sip_port)
            )
            time.sleep(1.5)
        for n, party in enumerate(callers, 1):
            _progress(n, len(callers))
            party.process.wait(120)
        time.sleep(1.5)  # the last hang-up events reach the database
    finally:
        for agent in agents:
            agent.stop()
        controller.send_signal(signal.SIGTERM)
        controller.wait(15)
    print()
    _report(settings, plan, started)
    print(
        f"\nlogs: controller {settings.log_file}; Asterisk "
        f"{sandbox_cmd.instance_for(settings).home / 'log'}; SIPp {workdir}"
    )
    print(
        "dashboard: not built yet (issue 7). The sandbox keeps running: "
        "'hotline sandbox down' stops it."
    )
    return 0


def _start_controller(settings: Settings, workdir: Path) -> subprocess.Popen[bytes]:
    workdir.mkdir(parents=True, exist_ok=True)
    log = workdir / "controller.out"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "ivr.cli", "-c", str(settings.file), "serve"],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if "event=controller.ready" in log.read_text(errors="replace"):
            return process
        if process.poll() is not None:
            break
        time.sleep(0.2)
    process.kill()
    process.wait()
    tail = log.read_text(errors="replace").strip().splitlines()[-1:]
    raise SystemExit(f"hotline: error: the controller did not start: {' '.join(tail)}")


def _progress(done: int, total: int) -> None:
    bar = "#" * done + "." * (total - done)
    print(f"\r  waiting for calls to finish [{bar}] {done}/{total}", end="", flush=True)


def _report(settings: Settings, plan: list[DemoCall], started: float) -> None:
    sessions = session_factory(open_engine(settings.database_url))
    with sessions() as session:
        rows = {
            c.caller_number: c
            for c in session.scalars(
                select(Call)
                .options(selectinload(Call.legs))
                .where(Call.started_at >= _utc(started - 5))
            )
        }
    print(f"{'caller':<13} {'outcome':<10} {'agent':<14} {'talk':>6} {'recording'}")
    for call in plan:
        row = rows.get(call.caller)
        if row is None:
            print(f"{call.caller:<13} {'MISSING':<10} (no call row: see the logs)")
            continue
        answered = [leg for leg in row.legs if leg.answered_at]
        agent = f"{answered[0].agent_id} ({answered[0].endpoint})" if answered else "-"
        talk = (
            f"{(answered[0].ended_at - answered[0].answered_at).total_seconds():.1f}s"
            if answered and answered[0].ended_at and answered[0].answered_at
            else "-"
        )
        print(
            f"{call.caller:<13} {row.outcome:<10} {agent:<14} {talk:>6} {_recording(settings, row)}"
        )


def _recording(settings: Settings, row: Call) -> str:
    if not row.recording:
        return "-"
    path = settings.recordings.directory / row.recording
    try:
        return f"{path} ({wav_info(path).seconds:.1f}s)"
    except (OSError, NotAWav):
        return f"{path} (missing)"


def _utc(epoch: float) -> object:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(epoch, UTC)
