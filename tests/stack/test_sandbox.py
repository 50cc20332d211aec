"""`hotline sandbox` as an admin uses it: up, status, cli, down, with no process left behind."""

from __future__ import annotations

import os
from pathlib import Path

from tests.conftest import run_hotline, write_config
from tests.stack.conftest import Stack


def asterisk_processes(conf: str) -> list[str]:
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if "asterisk" in cmdline and conf in cmdline:
            found.append(pid)
    return found


def test_up_status_cli_down_reuse_the_cached_tree_and_leave_no_process(stack: Stack) -> None:
    config = write_config(
        stack.folder / "lifecycle",
        ami_port=15138,
        agi_port=14673,
        sip_port=15160,
        name="pytest-life",
    )
    conf = "/var/lib/hotline-sandbox/pytest-life/etc/asterisk.conf"

    up = run_hotline(config, "sandbox", "up")
    assert up.returncode == 0, up.stderr
    assert "built the Asterisk root filesystem" not in up.stdout  # the cached tree is reused
    assert "sandbox 'pytest-life' up" in up.stdout and "AMI 127.0.0.1:15138" in up.stdout
    try:
        assert "running" in run_hotline(config, "sandbox", "status").stdout
        version = run_hotline(config, "sandbox", "cli", "core", "show", "version")
        assert version.stdout.startswith("Asterisk 22."), version.stdout
        endpoints = run_hotline(config, "sandbox", "cli", "pjsip show endpoints").stdout
        for endpoint in ("agent1001", "agent1002", "agent2001", "callers"):
            assert endpoint in endpoints
        assert len(asterisk_processes(conf)) == 1
    finally:
        down = run_hotline(config, "sandbox", "down")
    assert down.returncode == 0 and "stopped" in down.stdout
    assert asterisk_processes(conf) == []
    assert "not running" in run_hotline(config, "sandbox", "status").stdout
