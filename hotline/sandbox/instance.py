"""Start, stop, query and talk to one sandbox Asterisk (a chrooted `asterisk -f`)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

from hotline.sandbox.asterisk_conf import SandboxSpec, render_all
from hotline.sandbox.rootfs import SandboxError, is_built

SUBDIRS = ("etc", "lib", "spool", "run", "log", "cache")

# Asterisk processes this Python process started, by pid file: whichever Instance object
# stops one reaps it (no zombie, no "subprocess still running" at exit).
_started: dict[Path, subprocess.Popen[bytes]] = {}


class Instance:
    def __init__(self, rootfs: Path, spec: SandboxSpec) -> None:
        self.rootfs = rootfs
        self.spec = spec
        self.home = rootfs / spec.home.lstrip("/")
        self.pidfile = self.home / "hotline-sandbox.pid"
        self.console_log = self.home / "log" / "console.log"

    # paths as Asterisk sees them, inside the chroot
    @property
    def conf(self) -> str:
        return f"{self.spec.home}/etc/asterisk.conf"

    def host_path(self, inside: str) -> Path:
        return self.rootfs / inside.lstrip("/")

    def write_config(self) -> None:
        for sub in SUBDIRS:
            (self.home / sub).mkdir(parents=True, exist_ok=True)
        self.host_path(self.spec.recordings_dir).mkdir(parents=True, exist_ok=True)
        for name, text in render_all(self.spec).items():
            (self.home / "etc" / name).write_text(text, encoding="utf-8")

    def pid(self) -> int | None:
        """The running Asterisk's pid, or None. One this process started and that has exited
        is not running, though os.kill still finds it until it is reaped (poll reaps it)."""
        try:
            pid = int(self.pidfile.read_text().strip())
        except (OSError, ValueError):
            return None
        child = _started.get(self.pidfile)
        if child is not None and child.pid == pid and child.poll() is not None:
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        return pid

    def start(self) -> int:
        """Write the configuration and start Asterisk; returns its pid (already running: same)."""
        if not is_built(self.rootfs):
            raise SandboxError(
                f"no sandbox root filesystem at {self.rootfs}: run 'hotline sandbox up'"
            )
        running = self.pid()
        if running:  # already up: apply the configuration written now
            self.write_config()
            self.cli("core reload")
            return running
        self.write_config()
        with self.console_log.open("ab") as out:
            proc = subprocess.Popen(
                ["chroot", str(self.rootfs), "/usr/sbin/asterisk", "-f", "-n", "-C", self.conf],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        _started[self.pidfile] = proc
        self.pidfile.write_text(f"{proc.pid}\n")
        time.sleep(0.3)
        if proc.poll() is not None:
            raise SandboxError(
                f"Asterisk exited at once (code {proc.returncode}): see {self.console_log}"
            )
        return proc.pid

    def cli(self, command: str, timeout: float = 20) -> str:
        """Run one Asterisk CLI command through the instance's control socket."""
        result = subprocess.run(
            ["chroot", str(self.rootfs), "/usr/sbin/asterisk", "-C", self.conf, "-rx", command],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if result.returncode != 0:
            raise SandboxError(
                f"asterisk -rx {command!r} failed: {(result.stderr or result.stdout).strip()}"
            )
        return result.stdout

    def stop(self, timeout: float = 15) -> bool:
        """Stop Asterisk and wait for the process to be gone. False when it was not running."""
        pid = self.pid()
        if pid is None:
            self.pidfile.unlink(missing_ok=True)
            _started.pop(self.pidfile, None)
            return False
        with contextlib.suppress(SandboxError, subprocess.TimeoutExpired):
            self.cli("core stop now", timeout=timeout)
        if not self._wait_gone(pid, timeout):
            _signal_group(pid, signal.SIGTERM)
            if not self._wait_gone(pid, 5):
                _signal_group(pid, signal.SIGKILL)
                self._wait_gone(pid, 5)
        self.pidfile.unlink(missing_ok=True)
        _started.pop(self.pidfile, None)
        return True

    def _wait_gone(self, pid: int, timeout: float) -> bool:
        child = _started.get(self.pidfile)
        if child is not None and child.pid == pid:
            try:
                child.wait(timeout)  # our child: reap it through Popen
                return True
            except subprocess.TimeoutExpired:
                return False
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return True
            time.sleep(0.1)
        return False


def _signal_group(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, sig)
