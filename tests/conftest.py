"""Shared helpers for every test layer."""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from unittest import mock

import pytest
from sqlalchemy import Engine

from hotline.cli.main import main
from hotline.sandbox.rootfs import DEFAULT_ROOTFS
from hotline.store import db

REPO = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(autouse=True)
def engines_disposed(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every engine a test opened through hotline.store.db is disposed when the test ends.

    In the product an engine lives as long as its process (the controller, one CLI command);
    in a test it would be left to the garbage collector, and from Python 3.13 on a SQLite
    connection collected unclosed is a ResourceWarning, an error under our warning filter,
    raised in whichever later test the collector happens to run."""
    made: list[Engine] = []
    real = db._engine

    def tracked(url: str) -> Engine:
        engine = real(url)
        made.append(engine)
        return engine

    monkeypatch.setattr(db, "_engine", tracked)
    yield
    for engine in made:
        engine.dispose()


def run_hotline(
    config: Path | str, *args: str, timeout: float = 120, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The `hotline` command as a user runs it (a process), its output captured; `env` adds
    to the environment (a stack test's controlled clock)."""
    return subprocess.run(
        [sys.executable, "-m", "hotline.cli.main", "-c", str(config), *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=timeout,
        check=False,
        env=os.environ | dict(env) if env is not None else None,
    )


def free_port() -> int:
    """A loopback port free now: unit tests run two at a time (and beside other sessions)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def hotline_in_process(
    config: Path | str, *args: str, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    """The `hotline` command's main() in this process, with `stdin` as its standard input and
    its output captured, answered as run_hotline answers. For tests whose point is what a
    command does and prints, not the process: a process spends a second or two of CPU
    importing the command line before it does anything, and the slowest unit tests ran a dozen
    each. A command that sets up logging (serve, agi) takes over the root logger: run those as
    a process."""
    argv = ["-c", str(config), *args]
    out, err = io.StringIO(), io.StringIO()
    with (
        redirect_stdout(out),
        redirect_stderr(err),
        mock.patch.object(sys, "stdin", io.StringIO(stdin)),
    ):
        try:
            code = main(argv)
        except SystemExit as exit_:  # argparse: --help, a usage error
            code = exit_.code if isinstance(exit_.code, int) else int(exit_.code is not None)
    return subprocess.CompletedProcess(["hotline", *argv], code, out.getvalue(), err.getvalue())


def write_config(
    folder: Path,
    *,
    ami_port: int = 5038,
    agi_port: int = 4573,
    sip_port: int = 5060,
    name: str = "default",
    rootfs: str = str(DEFAULT_ROOTFS),
    secret: str = "sandbox-only-secret",
    agent_ports: tuple[int, ...] = (5071, 5072, 5073, 5074),
    hours: str | None = None,
    flows: str = "",
    surveys: str = "enabled = false",
    matters: str = "",
    extra: str = "",
) -> Path:
    """A complete controller configuration in `folder` (hotline.toml + seats.toml).

        `hours` replaces the agents' hours (e.g. '"mon-sun 00:00-24:00"' for always open, '' for
        never); `flows` adds lines to [flows]; `surveys` is the [surveys] table (off by default:
        only the survey tests hear surveys); `matters` adds lines to [matters] (the shipped
    departments and notices are named); `extra` adds tables at the end."""
    folder.mkdir(parents=True, exist_ok=True)
    recordings = f"/var/lib/hotline-sandbox/{name}/recordings"
    (folder / "hotline.toml").write_text(
        f"""
seats = "seats.toml"
[ami]
port = {ami_port}
username = "hotline"
secret = "{secret}"
admin_username = "hotline-admin"
admin_secret = "admin-{secret}"
connect_timeout = 3
[fastagi]
bind = "127.0.0.1:{agi_port}"
[database]
url = "sqlite:///hotline.db"
[log]
file = "hotline.log"
[recordings]
directory = "{rootfs}{recordings}"
asterisk_directory = "{recordings}"
[prompts]
catalogue = "{REPO / "config" / "prompts.toml"}"
build_directory = "{REPO / "var" / "prompts"}"
asterisk_directory = "/var/lib/hotline-sandbox/{name}/prompts"
[flows]
directory = "{REPO / "dialplans" / "flows"}"
{flows}
[lookups.contributions]
kind = "sqlite-contributions"
database = "contributions.db"
seed = "{REPO / "config" / "example-contributions.csv"}"
[dialplan]
agi_address = "127.0.0.1:{agi_port}"
fallback_seats = ["agent1001", "agent1002"]
asterisk_config = "{rootfs}/var/lib/hotline-sandbox/{name}/etc"
classic_command = "/opt/hotline/bin/hotline-agi"
[sandbox]
rootfs = "{rootfs}"
name = "{name}"
sip_port = {sip_port}
caller_match = ["127.0.0.2"]
callers_contact = "sip:127.0.0.3:{sip_port + 20}"
[surveys]
{surveys}
[matters]
departments = "{REPO / "config" / "departments.toml"}"
notices = "{REPO / "config" / "notices.toml"}"
{matters}
{extra}
""",
        encoding="utf-8",
    )
    seats = (REPO / "config" / "seats.toml").read_text(encoding="utf-8")
    for default, port in zip((5071, 5072, 5073, 5074), agent_ports, strict=True):
        seats = seats.replace(f"@127.0.0.1:{default}", f"@127.0.0.1:{port}")
    if hours is not None:
        old = 'hours = ["mon-fri 08:30-12:00", "mon-fri 13:30-17:00"]'
        assert old in seats
        seats = seats.replace(old, f"hours = [{hours}]")
    (folder / "seats.toml").write_text(seats, encoding="utf-8")
    return folder / "hotline.toml"
