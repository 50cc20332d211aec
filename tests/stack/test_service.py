"""`hotline serve` under systemd's notify protocol (contrib/systemd/hotline.service is
`Type=notify`): the real controller, on the sandbox Asterisk, tells the socket in NOTIFY_SOCKET
that it is ready once it takes calls, that it reloads on SIGHUP (`systemctl reload`), and that
it stops on SIGTERM, exiting 0."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.conftest import REPO
from tests.stack.conftest import Stack, wait_for


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
            [sys.executable, "-m", "ivr.cli", "-c", str(stack.config), "serve"],
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
