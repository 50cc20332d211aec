"""FastAGI servers' instructions per session, counted by valgrind (cachegrind), not timed.

On a shared, loaded machine the benchmark's rates and CPU times move by tens of percent from
one run to the next; instruction counts do not (within about 1 % with PYTHONHASHSEED fixed).
Each server of bench/agi_bench.py (h hotline, s hotline's session layer, p bare panoramisk) is
started under `valgrind --tool=cachegrind --cache-sim=no`, driven by agi_bench's generator with
the same walk, 50 at a time, and stopped; it is run twice, with WARMUP and with WARMUP + N
sessions, and the difference over N is the server's user-space instructions per session (its
start-up and warm-up cancel out). The generator runs natively, in this process.

    python bench/agi_instructions.py                       # h s p, 500 sessions each
    python bench/agi_instructions.py --tree /tmp/other --servers hs

Needs valgrind. Results are printed and written to bench/results/agi-instructions-<date>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import re
import signal
import sys
import tempfile
from pathlib import Path
from typing import Any

import agi_bench as bench

SERVE = {"h": "hotline", "s": "hotline-replay", "p": "panoramisk"}
WARMUP = 50


async def count(kind: str, tree: Path, sessions: int, commands_file: Path, walk: str) -> int:
    """Instructions of one server process serving WARMUP + `sessions` sessions."""
    with tempfile.TemporaryDirectory(prefix="agi-instructions-") as scratch:
        log = Path(scratch) / "valgrind.log"
        argv = ["valgrind", "--tool=cachegrind", "--cache-sim=no"]
        argv += ["--cachegrind-out-file=/dev/null", f"--log-file={log}"]
        argv += [sys.executable, str(Path(bench.__file__).resolve())]
        argv += ["--serve", SERVE[kind], "--tree", str(tree)]
        if kind != "h":  # the others replay the lines h sent
            argv += ["--commands", str(commands_file)]
        env = {**os.environ, "PYTHONHASHSEED": "0"}  # the same dict layouts in every run
        proc = await asyncio.create_subprocess_exec(
            *argv, cwd=tree, stdout=asyncio.subprocess.PIPE, env=env
        )
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), 300)
        if not line.startswith(b"READY "):
            raise SystemExit(f"agi_instructions: the {kind} server did not start")
        port = int(line.split()[1])
        if not commands_file.stat().st_size:  # the first server (h) records the walk
            commands_file.write_text(json.dumps(await bench.record_walk(port, walk)))
        expected = len(json.loads(commands_file.read_text(encoding="utf-8")))
        stats, _ = await bench.drive(
            bench.tcp_starter(port), WARMUP + sessions, 50, walk, expected, 1
        )
        proc.send_signal(signal.SIGTERM)
        await proc.wait()
        if stats.failures:
            raise SystemExit(f"agi_instructions: {kind} sessions failed: {stats.reasons}")
        found = re.search(r"I\s+refs:\s+([\d,]+)", log.read_text())
        if found is None:
            raise SystemExit(f"agi_instructions: no count from valgrind for {kind}")
        return int(found.group(1).replace(",", ""))


async def run(args: argparse.Namespace) -> dict[str, Any]:
    tree = Path(args.tree).resolve()
    per_session: dict[str, int] = {}
    with tempfile.TemporaryDirectory(prefix="agi-instructions-") as scratch:
        commands_file = Path(scratch) / "commands.json"
        commands_file.write_text("")
        for kind in "h" + args.servers.replace("h", ""):
            base = await count(kind, tree, 0, commands_file, args.walk)
            more = await count(kind, tree, args.sessions, commands_file, args.walk)
            per_session[kind] = (more - base) // args.sessions
            print(f"{kind} {bench.NAMES[kind]:<24}{per_session[kind]:>12,} instructions/session")
        commands = json.loads(commands_file.read_text(encoding="utf-8"))
    ratios = {
        f"{a}/{b}": round(per_session[b] / per_session[a], 3)
        for a, b in (("h", "p"), ("s", "p"), ("h", "s"))
        if a in per_session and b in per_session
    }
    for name, value in ratios.items():
        print(f"{name} (instructions of the second over the first's): {value:.3f}")
    return {
        "benchmark": "fastagi-instructions",
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "tree": str(tree),
        "tree_commit": bench.commit_of(tree),
        "walk": args.walk,
        "commands_per_session": len(commands),
        "sessions": args.sessions,
        "warmup": WARMUP,
        "instructions_per_session": per_session,
        "efficiency": ratios,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", default=str(bench.ROOT), help="the hotline tree to serve")
    parser.add_argument("--servers", default="hsp", help="h s p, as in agi_bench (hsp)")
    parser.add_argument("--sessions", type=int, default=500, help="counted sessions (500)")
    parser.add_argument("--walk", default="-21", help="as in agi_bench (-21)")
    parser.add_argument("--no-output", action="store_true", help="write no JSON file")
    args = parser.parse_args()
    bench.settle_malloc()
    result = asyncio.run(run(args))
    if not args.no_output:
        bench.RESULTS.mkdir(parents=True, exist_ok=True)
        out = bench.RESULTS / f"agi-instructions-{dt.datetime.now():%Y-%m-%dT%H%M%S}.json"
        out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        print(f"written: {out}")


if __name__ == "__main__":
    main()
