"""The real stack: a sandbox Asterisk 22 (chrooted, on loopback), the controller as a process,
SIPp callers and agents. If the stack cannot be set up the tests fail, loudly; they never skip."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session, selectinload

from ivr import sandbox_cmd
from ivr.ami import AmiError
from ivr.config import Settings, load_settings
from sandbox.instance import Instance
from sandbox.rootfs import SandboxError
from store.models import Call
from tests.conftest import REPO, write_config

AMI_PORT, AGI_PORT, SIP_PORT = 15038, 14573, 15060
AGENT_PORTS = (15071, 15072, 15073)


@dataclass
class Stack:
    settings: Settings
    config: Path
    folder: Path
    instance: Instance

    def calls_from(self, caller: str) -> list[Call]:
        engine = create_engine(self.settings.database_url)
        try:
            with Session(engine) as session:
                query = (
                    select(Call)
                    .where(Call.caller_number == caller)
                    .options(selectinload(Call.legs))
                )
                return list(session.scalars(query))
        finally:
            engine.dispose()

    def asterisk_log(self) -> str:
        return (self.instance.home / "log" / "messages.log").read_text(errors="replace")


def wait_for(predicate: Callable[[], object], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
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
    )
    settings = load_settings(config)
    sandbox_cmd.instance_for(settings).stop()  # a leftover from an interrupted run
    try:
        instance = sandbox_cmd.up(settings, say=lambda _line: None)
    except (SandboxError, AmiError) as exc:
        pytest.fail(f"the sandbox Asterisk could not be started: {exc}")
    yield Stack(settings, config, folder, instance)
    instance.stop()


@dataclass
class ControllerProcess:
    process: subprocess.Popen[bytes]
    log: Path

    def text(self) -> str:
        return self.log.read_text(errors="replace")


def start_controller(
    stack: Stack, config: Path | None = None, name: str = "controller"
) -> ControllerProcess:
    log = stack.folder / f"{name}-{time.monotonic_ns()}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "ivr.cli", "-c", str(config or stack.config), "serve"],
            cwd=REPO,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return ControllerProcess(process, log)


@pytest.fixture
def controller(stack: Stack) -> Iterator[ControllerProcess]:
    proc = start_controller(stack)
    try:
        wait_for(
            lambda: "event=controller.ready" in proc.text() or proc.process.poll() is not None,
            20,
            "the controller to be ready",
        )
        if proc.process.poll() is not None:
            pytest.fail(f"the controller exited at start:\n{proc.text()}")
        yield proc
    finally:
        if proc.process.poll() is None:
            proc.process.send_signal(signal.SIGTERM)
            try:
                proc.process.wait(15)
            except subprocess.TimeoutExpired:
                proc.process.kill()
                pytest.fail("the controller did not stop within 15 s of SIGTERM")
    assert proc.process.returncode == 0, proc.text()
    assert "event=controller.stopped" in proc.text()
