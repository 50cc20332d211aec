"""Running hotline as a service, on the sandbox Asterisk with the real controller:
- systemd's notify protocol (contrib/systemd/hotline.service is `Type=notify`): it tells the
  socket in NOTIFY_SOCKET that it is ready once it takes calls, that it reloads on SIGHUP
  (`systemctl reload`), and that it stops on SIGTERM, exiting 0;
- `/metrics` moving with real calls, and `/healthz` turning 503 while Asterisk is down;
- `hotline asterisk check` finding every piece, and naming the ones taken away."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from hotline.sandbox import commands as sandbox_cmd
from tests.conftest import REPO, run_hotline
from tests.stack.conftest import (
    ControllerProcess,
    Stack,
    place_call,
    running_controller,
    wait_for,
)


def next_message(sock: socket.socket) -> dict[str, str]:
    data = sock.recv(4096).decode()
    return dict(line.split("=", 1) for line in data.splitlines())


def test_under_systemd_the_controller_reports_ready_reloading_and_stopping(stack: Stack) -> None:
    folder = Path(tempfile.mkdtemp(prefix="hl-notify-"))  # short: a socket path has 108 bytes
    path = folder / "notify"
    log = stack.folder / "controller-notify.log"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock, log.open("wb") as out:
        sock.bind(str(path))
        sock.settimeout(30)
        process = subprocess.Popen(
            [sys.executable, "-m", "hotline.cli.main", "-c", str(stack.config), "serve"],
            cwd=REPO,
            env={**os.environ, "NOTIFY_SOCKET": str(path)},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            ready = next_message(sock)
            assert ready["READY"] == "1"
            assert ready["STATUS"].startswith("taking calls on 127.0.0.1:")
            assert "event=controller.ready" in log.read_text()  # not before it takes calls

            process.send_signal(signal.SIGHUP)
            reloading = next_message(sock)
            assert reloading["RELOADING"] == "1" and int(reloading["MONOTONIC_USEC"]) > 0
            assert next_message(sock) == {"READY": "1"}
            wait_for(lambda: "event=directory.reloaded" in log.read_text(), 10, "the reload")

            process.send_signal(signal.SIGTERM)
            assert next_message(sock) == {"STOPPING": "1"}
            assert process.wait(30) == 0
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
            path.unlink(missing_ok=True)
            folder.rmdir()


METRICS = "127.0.0.1:19233"


def scrape() -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    with urllib.request.urlopen(f"http://{METRICS}/metrics", timeout=10) as reply:
        body = reply.read().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(body)
        for sample in family.samples
    }


def health() -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(f"http://{METRICS}/healthz", timeout=10) as reply:
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def total(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str) -> float:
    return sum(value for (sample, _labels), value in samples.items() if sample == name)


def test_metrics_follow_real_calls_and_health_follows_asterisk(stack: Stack) -> None:
    """Prometheus' view of two real calls, and /healthz turning 503 while Asterisk is down."""
    config = stack.config_with("metrics", extra=f'[metrics]\nenabled = true\nbind = "{METRICS}"\n')
    with running_controller(stack, config) as controller:
        status, report = health()
        assert (status, report["ami"], report["database"]) == (200, {"main": True}, "writable")
        before = scrape()
        for n, caller in enumerate(("13700000201", "13700000202")):
            # gone half a second into the greeting (on its cue), as before 4 s into it
            place_call(
                stack, f"metrics-{n}", caller, script=[("welcome_lang", "")], hangup_after_ms=500
            )
        for caller in ("13700000201", "13700000202"):
            stack.ended_call(caller)
        after = scrape()
        # counted by hand: two calls ended, both in the IVR, none up any more
        assert total(after, "hotline_calls_total") - total(before, "hotline_calls_total") == 2
        assert after[("hotline_calls_in_progress", ())] == 0
        assert after[("hotline_ami_connected", (("site", "main"),))] == 1
        assert after[("hotline_leader", ())] == 1
        # every AGI command of the two calls was timed (at least the greeting's, per call)
        count = "hotline_agi_command_seconds_count"
        assert after[(count, ())] - before.get((count, ()), 0) >= 2

        stack.instance.stop()
        try:
            wait_for(lambda: "event=ami.disconnected" in controller.text(), 20, "AMI down")
            status, report = health()
            assert (status, report["healthy"], report["ami"]) == (503, False, {"main": False})
        finally:
            stack.instance = sandbox_cmd.up(stack.settings, say=lambda _line: None)
        wait_for(lambda: health()[0] == 200, 30, "healthy again once Asterisk is back")


def test_asterisk_check_finds_every_piece_and_names_the_one_taken_away(
    stack: Stack, controller: ControllerProcess
) -> None:
    """The sandbox is configured with the same pieces `hotline asterisk render` writes; with
    the controller up, `check` finds all of them. Then a module is unloaded and features.conf
    loses hotline's line, as an admin's box might: `check` names each, with the fix."""
    done = run_hotline(stack.config, "asterisk", "check")
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[-1] == f"{len(lines) - 1} present, 0 missing"
    assert all(line.startswith("ok ") for line in lines[:-1])
    features = stack.settings.dialplan.asterisk_config / "features.conf"
    kept = features.read_text()
    stack.instance.cli("module unload app_mixmonitor.so")
    features.write_text("[applicationmap]\n")
    try:
        done = run_hotline(stack.config, "asterisk", "check")
    finally:
        features.write_text(kept)
        stack.instance.cli("module load app_mixmonitor.so")
    missing = [line for line in done.stdout.splitlines() if line.startswith("MISSING")]
    assert done.returncode == 1
    user = stack.settings.ami.username
    assert missing == [
        "MISSING  module app_mixmonitor.so (every call is recorded): module load app_mixmonitor.so",
        f"MISSING  AMI user {user} may send MixMonitorMute (write = call): "
        "load app_mixmonitor.so first",
        "MISSING  features.conf has hotline-survey (an agent's *5 sends the caller to the "
        f"survey): append the features.conf snippet to {features}",
    ]
    assert done.stdout.splitlines()[-1].endswith(", 3 missing")
    again = run_hotline(stack.config, "asterisk", "check")  # and all back as it was
    assert again.returncode == 0, again.stdout
