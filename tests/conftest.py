"""Shared helpers for every test layer."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from hotline.sandbox.rootfs import DEFAULT_ROOTFS

REPO = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"


def run_hotline(
    config: Path | str, *args: str, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """The `hotline` command as a user runs it (a process), its output captured."""
    return subprocess.run(
        [sys.executable, "-m", "hotline.cli.main", "-c", str(config), *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=timeout,
        check=False,
    )


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
    extra: str = "",
) -> Path:
    """A complete controller configuration in `folder` (hotline.toml + seats.toml).

    `hours` replaces the agents' hours (e.g. '"mon-sun 00:00-24:00"' for always open, '' for
    never); `flows` adds lines to [flows]; `surveys` is the [surveys] table (off by default:
    only the survey tests hear surveys); `extra` adds tables at the end."""
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
