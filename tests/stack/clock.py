"""A controlled clock for a real controller process (issue 18's "controlled clock"): the
controller runs under libfaketime (Debian's `faketime` package, scripts/setup installs it),
whose wall clock is the real one plus an offset the test writes to a file; moving the clock
is rewriting the file. Only the wall clock moves (`FAKETIME_DONT_FAKE_MONOTONIC=1`): the
event loop, its timeouts and APScheduler's waits keep real time, so the controller's calendar,
due times and callback slots see the moved clock while AMI, AGI and Asterisk (real clock) do
not notice. Move it forward only, and never behind the real clock: APScheduler waits for its
next run time by the wall clock (a clock moved back holds every timed job until it catches
up), and the controller compares Asterisk's event times (real) with its own.

Run as `python -m tests.stack.clock <hotline arguments>` it is `hotline` itself under that
clock, with one repair: libfaketime 0.9.10 (Debian 12) breaks `clock_nanosleep` on the
monotonic clock with an absolute deadline when the monotonic clock is not faked
(wolfcw/libfaketime#426), which is how Python 3.11's `time.sleep` waits (EINVAL); `time.sleep`
waits on a timed event instead, the same monotonic wait without that call."""

from __future__ import annotations

import glob
import json
import os
import runpy
import sys
import threading
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import SupportsIndex

LIBFAKETIME = "/usr/lib/*/faketime/libfaketime.so.1"


def libfaketime() -> str:
    found = sorted(glob.glob(LIBFAKETIME))
    if not found:
        raise RuntimeError(f"no {LIBFAKETIME}: run scripts/setup (it installs faketime)")
    return found[0]


class ControlledClock:
    """The clock of the processes started with `env()`: real time plus an offset, which
    `move_to` changes. `now()` is the same clock for the test's own services."""

    def __init__(self, file: Path, at: datetime) -> None:
        self.file = file
        self.offset = timedelta(0)
        self.move_to(at)

    def env(self) -> dict[str, str]:
        return {
            "LD_PRELOAD": libfaketime(),
            "FAKETIME_TIMESTAMP_FILE": str(self.file),
            "FAKETIME_DONT_FAKE_MONOTONIC": "1",
            # the file is read again at most a second after a move
            "FAKETIME_CACHE_DURATION": "1",
        }

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def move_to(self, at: datetime) -> None:
        """The clock reads `at` now, and runs on from there."""
        if at.tzinfo is None:
            raise ValueError("a clock time needs its time zone")
        offset = at - datetime.now(UTC)
        if offset < max(self.offset, timedelta(0)):
            # behind the real clock, Asterisk's event times (real) would lie in the
            # controller's future: an agent's last call would end after "now", forever in
            # wrap-up
            raise ValueError("the controlled clock only moves forward, from the real time on")
        self.offset = offset
        # libfaketime's relative form: "+<seconds>" (fractions allowed); written whole, then
        # renamed, so a reader never sees half a line
        part = self.file.with_suffix(".part")
        part.write_text(f"+{offset.total_seconds():.3f}\n", encoding="utf-8")
        part.replace(self.file)


def controller_time(healthz: str) -> datetime:
    """The controller's own wall clock, as its health check reports it ([metrics] enabled)."""
    try:
        with urllib.request.urlopen(healthz, timeout=5) as reply:
            report = json.loads(reply.read())
    except urllib.error.HTTPError as unhealthy:  # 503 still carries the report
        report = json.loads(unhealthy.read())
    return datetime.fromtimestamp(float(report["checked_at"]), UTC)


def _sleep(seconds: float | SupportsIndex) -> None:
    wait = float(seconds)
    if wait < 0:
        raise ValueError("sleep length must be non-negative")
    threading.Event().wait(wait)


if __name__ == "__main__":
    time.sleep = _sleep
    os.environ.pop("LD_PRELOAD", None)  # not for the controller's own child processes
    sys.argv[0] = "hotline"
    runpy.run_module("hotline.cli.main", run_name="__main__", alter_sys=True)
