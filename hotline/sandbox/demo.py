"""`hotline demo`: the sandbox Asterisk, the controller and simulated callers and agents.

Each simulated caller dials the hotline ([dialplan] number) from SIPp with real RFC 2833 key
presses, timed from the built prompts' lengths; the seats' phones are SIPp UAS that answer and
talk. The controller runs with the agents on duty around the clock (config/seats.toml keeps
the real hours). At the end every call is reported from the database: outcome, agent, IVR
path, ticket, recording.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from hotline.controller.assembly import open_database
from hotline.sandbox import commands as sandbox_cmd
from hotline.sandbox import sipp
from hotline.sandbox.settings import load_sandbox_settings
from hotline.settings import Settings
from hotline.store.models import Call, IvrStep, Recording, Survey, Ticket
from ivr.prompts import build, load_catalogue
from recordings.wav import wav_info

Seconds = Callable[[str], float]  # a prompt's length


@dataclass(frozen=True)
class DemoCall:
    caller: str
    story: str
    script: Callable[[Seconds], list[tuple[int, str]]]  # (wait ms, keys) steps
    hangup_after_ms: int | None = None


def _menu(s: Seconds) -> int:
    """From the greeting key to 1.5 s into the main menu."""
    return int((s("recording_notice") + 1.5) * 1000)


def _survey(s: Seconds, key: str) -> tuple[int, str]:
    """From pressing 0 to inside the survey question: hold prompt, ring, 3 s of talk."""
    return (int((s("transfer_hold") + 0.5 + 3 + 2.5) * 1000), key)


SKIP = (2000, "5")  # a key during the greeting: Mandarin, go on
DEMO_ID = "330106198005126726"  # config/example-contributions.csv, PIN 123456

SCRIPT = [
    DemoCall(
        "13800000001",
        "presses 0 during the greeting: an agent at once; rates the call 1 (very satisfied)",
        lambda s: [(3000, "0"), _survey(s, "1")],
    ),
    DemoCall(
        "13900000002",
        "policy information (2), then 0 from the submenu: an agent; rates it 2 (satisfied)",
        lambda s: [SKIP, (_menu(s), "2"), (1500, "0"), _survey(s, "2")],
    ),
    DemoCall(
        "057187000003",
        "a Xihu landline: 0 reaches the Xihu post's A agent",
        lambda s: [SKIP, (_menu(s), "0")],
    ),
    DemoCall(
        "13700000004",
        "stays silent in the main menu, then hangs up",
        lambda s: [SKIP],
        hangup_after_ms=20_000,
    ),
    DemoCall(
        "13600000005",
        "queries contributions by ID number and PIN, hears the record",
        lambda s: [
            SKIP,
            (_menu(s), "1"),
            (1500, DEMO_ID + "#"),
            (int((s("you_entered") + 6.5) * 1000), "1"),
            (1500, "123456"),
        ],
        hangup_after_ms=30_000,  # after the whole record (self-service), in the "done" menu
    ),
    DemoCall(
        "13500000006",
        "files a labour-inspection complaint (4, 2) and speaks 4 s",
        lambda s: [SKIP, (_menu(s), "4"), (1500, "2"), (int((s("message_intro") + 5) * 1000), "#")],
    ),
]


def run_demo(settings: Settings, calls: int = len(SCRIPT)) -> int:
    workdir = settings.file.parent.parent / "var" / "demo"
    workdir.mkdir(parents=True, exist_ok=True)
    print(
        "hotline demo: building prompts and starting the sandbox Asterisk "
        "(the first run builds both: about two minutes) ..."
    )
    _build_prompts(settings)
    sandbox_cmd.up(settings, say=lambda line: print("  " + line))
    controller = _start_controller(settings, workdir)
    agents = start_agents(settings, workdir)
    started = datetime.now(UTC)
    plan = [SCRIPT[i % len(SCRIPT)] for i in range(calls)]
    try:
        callers = []
        for n, call in enumerate(plan, 1):
            scenario = sipp.caller_scenario(
                sipp.party_audio(workdir, sipp.CALLER_HZ),
                call.caller,
                script=call.script(lambda p: _seconds(settings, p)),
                hangup_after_ms=call.hangup_after_ms,
            )
            print(f"  call {n}: {call.caller} {call.story}")
            callers.append(
                sipp.start_caller(
                    workdir,
                    f"caller{n}",
                    scenario,
                    load_sandbox_settings(settings.file).sip_port,
                    number=settings.dialplan.number,
                    timeout_s=150,
                )
            )
            time.sleep(1.0)
        for n, party in enumerate(callers, 1):
            party.process.wait(170)
            _progress(n, len(callers))
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
    if settings.web.enabled:
        print(
            f"dashboard: http://{settings.web.host}:{settings.web.port}/ while `hotline serve` "
            "runs (an account first: hotline users add NAME --role supervisor)"
        )
    print("The sandbox keeps running: 'hotline sandbox down' stops it.")
    return 0


def start_agents(settings: Settings, workdir: Path) -> list[sipp.SippParty]:
    """A SIPp phone on every seat with a static contact: rings, answers, talks 3 s."""
    return [
        sipp.start_agent(
            workdir,
            seat.endpoint,
            int(seat.contact.rsplit(":", 1)[1]),
            sipp.agent_scenario(sipp.party_audio(workdir, sipp.AGENT_HZ), talk_ms=3000),
        )
        for seat in settings.directory.seats.values()
        if seat.contact
    ]


def _build_prompts(settings: Settings) -> None:
    catalogue = load_catalogue(settings.prompts.catalogue, settings.prompts.languages)
    summary = build(catalogue, settings.prompts.build_directory, progress=sys.stderr)
    if summary.failed:
        raise SystemExit(f"hotline: error: prompts failed to build: {summary.failed[0]}")


def _seconds(settings: Settings, prompt: str) -> float:
    language = settings.prompts.languages[0]
    return wav_info(settings.prompts.build_directory / language / f"{prompt}.wav").seconds


def _start_controller(settings: Settings, workdir: Path) -> subprocess.Popen[bytes]:
    log = workdir / "controller.out"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "hotline.cli.main",
                "-c",
                str(settings.file),
                "serve",
                "--agents-always-on-duty",
            ],
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
    end = "\n" if done == total else ""
    print(f"\r  calls finished [{bar}] {done}/{total}", end=end, flush=True)


def _report(settings: Settings, plan: list[DemoCall], started: datetime) -> None:
    sessions = open_database(settings)
    with sessions() as session:
        calls = {
            c.caller_number: c
            for c in session.scalars(
                select(Call)
                .options(selectinload(Call.legs))
                .where(Call.started_at >= started, Call.kind == "inbound")
            )
        }
        for demo in plan:
            call = calls.get(demo.caller)
            print(f"\n{demo.caller}: {demo.story}")
            if call is None:
                print("  MISSING: no call row (see the logs)")
                continue
            answered = [leg for leg in call.legs if leg.answered_at]
            who = f"agent {answered[0].agent_id} ({answered[0].endpoint})" if answered else "-"
            print(f"  outcome {call.outcome}; answered by {who}")
            steps = session.scalars(
                select(IvrStep).where(IvrStep.linkedid == call.linkedid).order_by(IvrStep.seq)
            ).all()
            print("  IVR: " + " > ".join(f"{s.node}[{s.outcome}]" for s in steps))
            for ticket in session.scalars(select(Ticket).where(Ticket.linkedid == call.linkedid)):
                print(
                    f"  ticket {ticket.number} ({ticket.category}, {ticket.seconds:.1f} s message)"
                )
            survey = session.scalar(select(Survey).where(Survey.linkedid == call.linkedid))
            if survey is not None:
                print(f"  survey: {survey.rating} ({survey.channel}, agent {survey.agent_id})")
            print(f"  recording {_recording(session, call)}")


def _recording(session: Session, call: Call) -> str:
    """The catalogue's word on the call's recording (the WAV may be archived by now)."""
    rec = session.scalar(select(Recording).where(Recording.linkedid == call.linkedid))
    if rec is None:
        return "not catalogued yet (see `hotline recordings reconcile`)"
    where = rec.archive_path or rec.path
    return f"{where} ({rec.seconds:.1f} s, {rec.state})"
