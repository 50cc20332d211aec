"""The real stack: a sandbox Asterisk 22 (chrooted, on loopback), the controller as a process,
SIPp callers and agents. If the stack cannot be set up the tests fail, loudly; they never skip."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, inspect, select, text
from sqlalchemy.orm import Session, selectinload

from hotline.pbx.ami import AmiError
from hotline.sandbox import commands as sandbox_cmd
from hotline.sandbox import sipp
from hotline.sandbox.instance import Instance
from hotline.sandbox.lock import stack_lock
from hotline.sandbox.rootfs import SandboxError
from hotline.settings import Settings, load_settings
from hotline.store.models import Call, IvrStep, RouteDecision, Ticket
from recordings.wav import wav_info
from tests.conftest import REPO, write_config
from tests.stack.clock import ControlledClock

AMI_PORT, AGI_PORT, SIP_PORT = 15038, 14573, 15060
AGENT_PORTS = (15071, 15072, 15073, 15074)
ALWAYS_OPEN = '"mon-sun 00:00-24:00"'  # agents' hours for tests that need a person


@dataclass
class Stack:
    settings: Settings
    config: Path
    folder: Path
    instance: Instance

    def config_with(self, name: str, **changes: Any) -> Path:
        """Another controller configuration for the same sandbox (same ports)."""
        options: dict[str, Any] = {
            "ami_port": AMI_PORT,
            "agi_port": AGI_PORT,
            "sip_port": SIP_PORT,
            "name": "pytest",
            "agent_ports": AGENT_PORTS,
            "hours": ALWAYS_OPEN,
        }
        options.update(changes)
        config = write_config(self.folder / name, **options)
        # one database for all, so the tests read every call in one place
        text = config.read_text().replace(
            'url = "sqlite:///hotline.db"', f'url = "{self.settings.database_url}"'
        )
        config.write_text(text)
        return config

    def _query(self, fn: Callable[[Session], Any]) -> Any:
        engine = create_engine(self.settings.database_url)
        try:
            with Session(engine) as session:
                return fn(session)
        finally:
            engine.dispose()

    def calls_from(self, caller: str) -> list[Call]:
        """The caller's own calls in (not our callbacks and survey calls to them)."""
        query = (
            select(Call)
            .where(Call.caller_number == caller, Call.kind == "inbound")
            .options(selectinload(Call.legs))
        )
        return list(self._query(lambda s: list(s.scalars(query))))

    def ended_call(self, caller: str, timeout: float = 45) -> Call:
        wait_for(
            lambda: [c for c in self.calls_from(caller) if c.ended_at],
            timeout,
            f"the call from {caller} to be stored as ended",
        )
        (call,) = self.calls_from(caller)
        return call

    def settled_call(self, caller: str, timeout: float = 45) -> Call:
        """The call once both sides reported: Asterisk's hang-up and the IVR's summary, so
        its outcome is the settled one (ivr/outcome.py)."""
        wait_for(
            lambda: [c for c in self.calls_from(caller) if c.ended_at and c.ivr_end],
            timeout,
            f"the call from {caller} to be stored as ended, with the IVR's summary",
        )
        (call,) = self.calls_from(caller)
        return call

    def ivr_path(self, linkedid: str, timeout: float = 30) -> list[tuple[str, str]]:
        query = select(IvrStep).where(IvrStep.linkedid == linkedid).order_by(IvrStep.seq)

        def steps() -> list[tuple[str, str]]:
            return [(s.node, s.outcome) for s in self._query(lambda s: list(s.scalars(query)))]

        wait_for(steps, timeout, f"the IVR path of {linkedid}")
        return steps()

    def decisions(self, linkedid: str) -> list[RouteDecision]:
        query = select(RouteDecision).where(RouteDecision.linkedid == linkedid)
        return list(self._query(lambda s: list(s.scalars(query))))

    def tickets(self, linkedid: str) -> list[Ticket]:
        query = select(Ticket).where(Ticket.linkedid == linkedid)
        return list(self._query(lambda s: list(s.scalars(query))))

    def database_dump(self) -> str:
        """Every row of every table, as text: what a search for personal data must not find."""
        engine = create_engine(self.settings.database_url)
        try:
            with engine.connect() as db:
                return "\n".join(
                    str(tuple(row))
                    for table in inspect(engine).get_table_names()
                    for row in db.execute(text(f'SELECT * FROM "{table}"'))
                )
        finally:
            engine.dispose()

    def asterisk_log(self) -> str:
        return (self.instance.home / "log" / "messages.log").read_text(errors="replace")

    def log_mark(self) -> int:
        return len(self.asterisk_log())

    def played(self, call: Call, since: int) -> list[str]:
        """Prompt ids (or stock sound names) Asterisk played to the caller, from its log."""
        folder = self.settings.prompts.asterisk_directory
        return [
            prompt
            for line in self.asterisk_log()[since:].splitlines()
            if f"<{call.channel}>" in line and (prompt := played_prompt(line, folder))
        ]

    def prompt_seconds(self, prompt: str, language: str = "zh-CN") -> float:
        """How long a built prompt plays: the tests time key presses with it."""
        return wav_info(self.settings.prompts.build_directory / language / f"{prompt}.wav").seconds


def played_prompt(line: str, folder: str) -> str | None:
    """The prompt id (or stock sound name) an Asterisk log line says is starting to play."""
    if "Playing '" not in line:
        return None
    name = line.split("Playing '", 1)[1].split("'", 1)[0].rsplit(".", 1)[0]
    return name.removeprefix(folder + "/").split("/", 1)[-1] if name.startswith(folder) else name


# a caller's channel starting the dialplan (priority 1): calls already up are not new
NEW_CALLER_CHANNEL = re.compile(r'Executing \[[^@\]]+@[^:\]]+:1\] \w+\("(PJSIP/callers[\w-]*)"')
# after a go, SIPp presses the step's keys (sipp.busy_after_cues_ms) and resumes its voice;
# the next go waits for that and this margin
CUE_GAP_S = 0.35


class PromptCues:
    """Releases a cued caller's keys as the prompts they wait for start, seen in Asterisk's
    own log (the `Playing '<prompt>'` line of the caller's channel). Runs beside one SIPp
    caller; the caller's channel is the first callers' channel to start the dialplan after
    `start` in the log, so a cued call is placed while no other caller starts (calls already
    up may go on)."""

    def __init__(
        self,
        stack: Stack,
        cues: list[str],
        port: int,
        start: int,
        timeout: float,
        busy_ms: list[int] | None = None,
    ) -> None:
        self.log = stack.instance.home / "log" / "messages.log"
        self.folder = stack.settings.prompts.asterisk_directory
        self.cues = cues
        self.busy_s = [ms / 1000 for ms in busy_ms or [250] * len(cues)]
        self.port = port
        self.offset = start
        self.timeout = timeout  # per cue: as long as the whole call may take
        self.channel: str | None = None
        self.seen: list[str] = []  # the caller's prompts so far, for the failure message
        self.error: str | None = None
        self.done = threading.Event()  # the caller has ended
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _lines(self) -> list[str]:
        with self.log.open("rb") as log:
            log.seek(self.offset)
            chunk = log.read()
        complete = chunk.rfind(b"\n") + 1
        self.offset += complete
        return chunk[:complete].decode(errors="replace").splitlines()

    def _wait_for(self, prompt: str, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not self.done.is_set():
            for line in self._lines():
                if self.channel is None and (found := NEW_CALLER_CHANNEL.search(line)):
                    self.channel = found.group(1)
                if self.channel is None or f"<{self.channel}>" not in line:
                    continue
                name = played_prompt(line, self.folder)
                if name is not None:
                    self.seen.append(name)
                    if name == prompt:
                        return True
            time.sleep(0.05)
        return False

    def _run(self) -> None:
        try:
            cue_socket = sipp.CueSocket(self.port)
        except sipp.SippError as exc:
            self.error = str(exc)
            return
        try:
            ready_at = 0.0  # when the caller waits for its next go
            for prompt, busy in zip(self.cues, self.busy_s, strict=True):
                if not self._wait_for(prompt, self.timeout):
                    when = (
                        "before the call ended" if self.done.is_set() else f"in {self.timeout:g} s"
                    )
                    self.error = (
                        f"the cue {prompt!r} never started on {self.channel or 'the call'} "
                        f"{when}; the caller heard {self.seen}"
                    )
                    return  # closing the socket ends the caller: the call fails loudly
                time.sleep(max(0.0, ready_at - time.monotonic()))
                cue_socket.go()
                ready_at = time.monotonic() + busy + CUE_GAP_S
            self.done.wait()
        finally:
            cue_socket.close()

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.done.set()
        self.thread.join(10)


def free_tcp_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(predicate: Callable[[], object], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with stack_lock(), cpu_hog(os.environ.get("HOTLINE_CPU_HOG", "")):
        yield from _stack(tmp_path_factory)


@contextmanager
def cpu_hog(workers: str) -> Iterator[None]:
    """With HOTLINE_CPU_HOG=N, N stress-ng CPU workers run beside the whole stack session:
    the tests must hold on a busy host (scripts/stack-under-load)."""
    if not workers:
        yield
        return
    if not workers.isdigit() or int(workers) < 1:
        pytest.fail(f"HOTLINE_CPU_HOG={workers!r}: give a number of CPU workers, e.g. 2")
    if shutil.which("stress-ng") is None:
        pytest.fail("stress-ng is missing: scripts/setup installs Debian's stress-ng")
    hog = subprocess.Popen(
        ["stress-ng", "--cpu", workers, "--quiet"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield
    finally:
        hog.terminate()
        hog.wait(15)


def _stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    if os.geteuid() != 0:
        pytest.fail(
            "the real-stack tests need root (the sandbox Asterisk runs chrooted): "
            "run scripts/test as root"
        )
    if shutil.which("sipp") is None:
        pytest.fail("sipp is missing: scripts/setup installs Debian's sip-tester")
    folder = tmp_path_factory.mktemp("stack")
    config = write_config(
        folder,
        ami_port=AMI_PORT,
        agi_port=AGI_PORT,
        sip_port=SIP_PORT,
        name="pytest",
        agent_ports=AGENT_PORTS,
        hours=ALWAYS_OPEN,
    )
    built = subprocess.run(
        [sys.executable, "-m", "hotline.cli.main", "-c", str(config), "prompts", "build"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    if built.returncode != 0:
        pytest.fail(f"the prompts could not be built: {built.stderr.strip()[-500:]}")
    settings = load_settings(config)
    sandbox_cmd.instance_for(settings).stop()  # a leftover from an interrupted run
    try:
        instance = sandbox_cmd.up(settings, say=lambda _line: None)
    except (SandboxError, AmiError) as exc:
        pytest.fail(f"the sandbox Asterisk could not be started: {exc}")
    stack = Stack(settings, config, folder, instance)
    yield stack
    stack.instance.stop()  # the one running now (a test may have restarted Asterisk)


@dataclass
class ControllerProcess:
    process: subprocess.Popen[bytes]
    log: Path

    def text(self) -> str:
        return self.log.read_text(errors="replace")


# Waits for an event, not timing limits: they only bound how long a broken start or stop
# hangs the session. Under scripts/stack-under-load (stress-ng on both cores beside other
# work) a controller's start-up, mostly imports, took more than 20 s.
READY_WITHIN = 90
STOPPED_WITHIN = 30


@contextmanager
def running_controller(
    stack: Stack,
    config: Path | None = None,
    killed: bool = False,
    clock: ControlledClock | None = None,
) -> Iterator[ControllerProcess]:
    """`hotline serve` as a process; on exit it must stop cleanly on SIGTERM (exit 0), unless
    the test `killed` it on purpose. Given a `clock`, its wall clock is that controlled clock
    (tests/stack/clock.py)."""
    log = stack.folder / f"controller-{time.monotonic_ns()}.log"
    entry = ["tests.stack.clock"] if clock is not None else ["hotline.cli.main"]
    env = os.environ | clock.env() if clock is not None else None
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", *entry, "-c", str(config or stack.config), "serve"],
            cwd=REPO,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    proc = ControllerProcess(process, log)
    try:
        wait_for(
            lambda: "event=controller.ready" in proc.text() or process.poll() is not None,
            READY_WITHIN,
            "the controller to be ready",
        )
        if process.poll() is not None:
            pytest.fail(f"the controller exited at start:\n{proc.text()}")
        yield proc
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(STOPPED_WITHIN)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
                pytest.fail(f"the controller did not stop within {STOPPED_WITHIN} s of SIGTERM")
    if killed:
        assert process.returncode == -signal.SIGKILL, proc.text()
        return
    assert process.returncode == 0, proc.text()
    assert "event=controller.stopped" in proc.text()


@pytest.fixture
def controller(stack: Stack) -> Iterator[ControllerProcess]:
    with running_controller(stack) as proc:
        yield proc


SEAT_PORTS = dict(
    zip(("agent1001", "agent1002", "agent2001", "agent2002"), AGENT_PORTS, strict=True)
)


@contextmanager
def agent_phone(
    stack: Stack,
    name: str,
    endpoint: str = "agent1001",
    talk_ms: int = 3000,
    max_calls: int | None = None,
    behaviour: str = "answer",
    transfer_to: str = "",
) -> Iterator[sipp.SippParty]:
    """A seat's phone: 'answer' (rings 0.5 s, talks, hangs up), 'busy' (486), 'no-answer', or
    'transfer' (answers, talks, then blind-transfers the caller to agent `transfer_to`)."""
    work = stack.folder / name
    scenario = {
        "answer": lambda: sipp.agent_scenario(
            sipp.party_audio(work, sipp.AGENT_HZ), talk_ms=talk_ms
        ),
        "transfer": lambda: sipp.transferring_agent_scenario(
            sipp.party_audio(work, sipp.AGENT_HZ), transfer_to, talk_ms=talk_ms
        ),
        "busy": sipp.busy_agent_scenario,
        "no-answer": sipp.unanswered_agent_scenario,
    }[behaviour]()
    party = sipp.start_agent(work, endpoint, SEAT_PORTS[endpoint], scenario, max_calls=max_calls)
    try:
        yield party
    finally:
        party.stop()


@contextmanager
def callers_phone(
    stack: Stack, name: str, talk_ms: int = 3000, max_calls: int = 1, keys: str = ""
) -> Iterator[sipp.SippParty]:
    """A caller's own phone beyond the callers' trunk, where callbacks and survey calls ring
    (the sandbox's callers contact). It answers with the caller's tone and talks `talk_ms`,
    or, given `keys`, presses them 3 s in and waits for the hotline to hang up."""
    work = stack.folder / name
    audio = sipp.party_audio(work, sipp.CALLER_HZ)
    scenario = (
        sipp.answering_scenario(audio, [(3000, keys)])
        if keys
        else sipp.agent_scenario(audio, talk_ms=talk_ms)
    )
    party = sipp.start_agent(
        work, name, SIP_PORT + 20, scenario, max_calls=max_calls, address="127.0.0.3"
    )
    try:
        yield party
    finally:
        party.stop()


def place_call(
    stack: Stack,
    name: str,
    caller: str,
    script: Sequence[tuple[int | str, str]] | None = None,
    hangup_after_ms: int | None = None,
    timeout: float = 120,
    asterisk: str = "127.0.0.1",
    inband: bool = False,
) -> None:
    """One SIPp call to 12333 (on the Asterisk at `asterisk`, the stack's SIP port) pressing
    keys per `script` ((wait, keys) steps); waits for it to end and asserts SIPp saw it
    through. A wait is milliseconds after the previous step, or a prompt id: the keys are
    pressed as that prompt starts playing to this caller (the next time it does), so the
    script holds on a slow or busy host."""
    work = stack.folder / name
    cues = [wait for wait, _ in script or [] if isinstance(wait, str)]
    port = free_tcp_port() if cues else None
    watch = (
        PromptCues(
            stack,
            cues,
            port,
            log_size(stack),
            timeout,
            sipp.busy_after_cues_ms(script or [], inband),
        )
        if port is not None
        else None
    )
    scenario = sipp.caller_scenario(
        sipp.party_audio(work, sipp.CALLER_HZ),
        caller,
        script=script or [],
        hangup_after_ms=hangup_after_ms,
        inband=inband,
    )
    party = sipp.start_caller(
        work,
        "caller",
        scenario,
        SIP_PORT,
        timeout_s=int(timeout),
        asterisk=asterisk,
        address=sipp.INBAND_CALLER_ADDRESS if inband else "127.0.0.2",
        cues=port,
    )
    if watch is not None:
        watch.start()
    try:
        code = party.process.wait(timeout + 10)
    finally:
        party.stop()
        if watch is not None:
            watch.stop()
    assert watch is None or watch.error is None, watch.error
    assert code == 0, party.log.read_text(errors="replace")[-2000:]


def log_size(stack: Stack) -> int:
    return (stack.instance.home / "log" / "messages.log").stat().st_size
