"""Soak: hundreds of simultaneous callers on the sandbox Asterisk for minutes.

    python bench/soak.py [-c config/hotline.toml] [--concurrent 300] [--minutes 10]

Starts the sandbox (as `hotline demo` does) and a controller, SIPp agents on every seat, then
keeps about `--concurrent` simulated callers up on Local channels (hotline/sandbox/load.py: a mix of
self-service only, an agent then the survey, a caller who gives up) for `--minutes`. Every
10 s it samples the callers and channels up and the controller's RSS; afterwards it accounts
for every call (ended call row, catalogued recording, survey state) and reports the controller's
overhead on the greeting step per minute (p50/p99) and its memory over time, so a leak or a
growing latency shows as a slope. Results go to bench/results/soak-<time>.json. Needs root.
The CI runs a reduced version (tests/stack/test_soak.py).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import subprocess
import sys
import time
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from sqlalchemy.exc import OperationalError  # noqa: E402

from hotline.sandbox import commands as sandbox_cmd  # noqa: E402
from hotline.sandbox.demo import _build_prompts, _seconds, _start_controller, start_agents  # noqa: E402
from hotline.sandbox.load import Account, account, place_load  # noqa: E402
from hotline.sandbox.lock import stack_lock  # noqa: E402
from hotline.settings import load_settings  # noqa: E402
from hotline.store.db import open_engine, session_factory  # noqa: E402

MIX = {"self-service": 5.0, "agent": 3.0, "gives-up": 2.0}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-c", "--config", default=str(REPO / "config" / "hotline.toml"))
    parser.add_argument("--concurrent", type=int, default=300, help="callers up at once")
    parser.add_argument("--minutes", type=float, default=10.0, help="how long to place calls")
    args = parser.parse_args()
    with stack_lock():  # not beside the real-stack tests: they share ports and the CPUs
        return soak(args)


def soak(args: argparse.Namespace) -> int:
    settings = load_settings(Path(args.config))
    workdir = REPO / "var" / "soak"
    workdir.mkdir(parents=True, exist_ok=True)
    _build_prompts(settings)
    sandbox_cmd.up(settings, say=lambda line: print("  " + line))
    controller = _start_controller(settings, workdir)
    agents = start_agents(settings, workdir)
    sessions = session_factory(open_engine(settings.database_url))
    try:
        print(f"soak: ~{args.concurrent} callers at once for {args.minutes:g} min")
        result = asyncio.run(
            place_load(
                settings,
                args.concurrent,
                args.minutes * 60,
                MIX,
                lambda prompt: _seconds(settings, prompt),
                controller.pid,
                progress=lambda line: print("  " + line, flush=True),
            )
        )
        placed = [p for p in result.placed if p.accepted]
        welcome_ms = (_seconds(settings, "welcome_lang") + 1) * 1000

        def count() -> Account:
            for _ in range(30):  # SQLite: the controller's writers may hold it past the timeout
                try:
                    return account(sessions, placed, welcome_ms)
                except OperationalError:
                    time.sleep(2)
            return account(sessions, placed, welcome_ms)

        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:  # the last calls end, their recordings land
            tally = count()
            if tally.ended == tally.calls and tally.recorded == tally.calls:
                break
            time.sleep(5)
        tally = count()
    finally:
        for agent in agents:
            agent.stop()
        controller.send_signal(signal.SIGTERM)
        controller.wait(30)
    # what the controller had not catalogued yet (its recorder lags behind under this load)
    # is picked up by the reconciliation pass, as at the controller's next start
    subprocess.run(
        [sys.executable, "-m", "hotline.cli.main", "-c", args.config, "recordings", "reconcile"],
        cwd=REPO,
        check=False,
        capture_output=True,
    )
    reconciled = count()
    report = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "concurrent_target": args.concurrent,
        "minutes": args.minutes,
        "placed": len(result.placed),
        "refused": len(result.placed) - len(placed),
        "accounting": asdict(tally),
        "recorded_after_reconciliation": reconciled.recorded,
        "channels_up": result.concurrency,
        "callers_up": result.callers,
        "controller_rss_kb": result.memory,
    }
    out = REPO / "bench" / "results" / f"soak-{datetime.now(UTC):%Y-%m-%dT%H%M%S}.json"
    out.write_text(json.dumps(report, indent=1))
    peak = max((up for _, up in result.concurrency), default=0)
    callers = sorted(up for at, up in result.callers if at > 60)
    print(
        f"calls {tally.calls}: ended {tally.ended}, recorded {tally.recorded}, missing "
        f"{len(tally.missing)}; agent-answered {tally.agent_answered}, with a survey state "
        f"{tally.survey_state}; peak channels up {peak}; callers up after the first minute: "
        f"median {callers[len(callers) // 2] if callers else 0}, "
        f"range {callers[0] if callers else 0}-{callers[-1] if callers else 0}"
    )
    for minute, p50, p99 in tally.welcome_overhead_ms:
        print(f"  minute {minute:3.0f}: greeting overhead p50 {p50:6.0f} ms  p99 {p99:6.0f} ms")
    rss = [kb for _, kb in result.memory]
    if rss:
        print(f"controller RSS: first {rss[0] / 1024:.0f} MB, last {rss[-1] / 1024:.0f} MB")
    print(
        f"recorded by the controller within 3 min of the last call: {tally.recorded}; after "
        f"a reconciliation pass (as on the controller's next start): {reconciled.recorded}"
    )
    print(f"results: {out}")
    ok = not tally.missing and tally.ended == tally.calls and reconciled.recorded == tally.calls
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
