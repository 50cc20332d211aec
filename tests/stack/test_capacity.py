"""A smoke of the capacity benchmark (`bench/capacity.py --quick`, docs/PERFORMANCE.md): two
callers walk the 12333 menu on the pure-dialplan twin and on hotline over FastAGI, and the
report has every call completed, every greeting and key reaction measured at the caller, and
no key followed by the wrong prompt. No latency is asserted: that is the benchmark's job."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO
from tests.stack.conftest import Stack

KEYS_PER_WALK = 3  # 2 in the main menu, 1 in the policy menu, 0 during the policy text


def test_the_capacity_bench_walks_both_variants_and_measures_every_call(
    stack: Stack, tmp_path: Path
) -> None:
    # `stack` holds the sandbox lock for this session: the bench must not wait for it
    out = tmp_path / "capacity.json"
    run = subprocess.run(
        [sys.executable, "bench/capacity.py", "--quick", "--seconds", "2",
         "--variants", "twin,fastagi", "--no-lock", "--out", str(out)],
        cwd=REPO, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    report = json.loads(out.read_text())
    steps = {s["variant"]: s for s in report["steps"]}
    assert set(steps) == {"twin", "fastagi"}
    for step in steps.values():
        assert step["calls"] == 2
        assert (step["completed"], step["failed"]) == (2, 0)
        assert step["greetings_heard"] == 2
        assert step["reactions"] == 2 * KEYS_PER_WALK
        assert step["wrong_prompts"] == 0
        assert step["asterisk_cpu_ms_per_call"] > 0
    assert set(report["held_rate"]) == {"twin", "fastagi"}
    assert "fastagi/twin" in report["held_rate_ratio"]
