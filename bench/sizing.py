"""How many Asterisk boxes and controllers a hotline needs at its busy hour (issue 20, item 6).

    python bench/sizing.py bench/results/capacity-<time>.json [--calls-per-day 30000]
        [--busy-hour-share 0.12] [--ivr-seconds 60] [--agent-share 0.6]
        [--handle-seconds 240] [--agent-leg-factor 2] [--cores-per-box 8] [--headroom 0.5]

The measured side comes from a capacity run (bench/capacity.py): the FastAGI variant's CPU
per call of Asterisk, of the controller and of the controller's children (ffmpeg archiving
the recordings), at one rate that held, with one controller. Everything else is an
ASSUMPTION given as an option (the defaults are placeholders, not facts about any city):
replace them with your own call statistics. The arithmetic, printed step by step:

    arrival rate      λ = calls per day × busy-hour share / 3600            (calls/s)
    Erlangs           IVR = λ × IVR seconds;  agents = λ × agent share × handle seconds
    Asterisk CPU      per call-second = measured CPU per walk / walk seconds;
                      cores = λ × (IVR s + agent share × handle s × agent-leg factor)
                              × CPU per call-second
    controller CPU    cores = λ × measured controller CPU per call (per call, not per second:
                      the flow, AMI and the database; the talk itself is Asterisk's)
    archive CPU       per recorded second = measured children CPU per walk / walk seconds;
                      cores = λ × (IVR s + agent share × handle s) × that (all of a call is
                      recorded from answer)
    boxes             ceil(cores / (cores per box × headroom)); a controller is one Python
                      process (one core for its event loop), so controllers =
                      max(2, ceil(controller cores / headroom)): two so one survives the other

Pure arithmetic (`size`), no I/O; `main` reads the result file and prints.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# the bench's agent answers 0.5 s after the ring and talks 2 s (bench/capacity.py's walk);
# with the keys' waits from answer that is one walk's length, answer to hang-up
AGENT_ANSWER_SECONDS = 0.5
AGENT_TALK_SECONDS = 2.0
MIN_CONTROLLERS = 2  # one survives the other's failure (README, "Two controllers")
CONTROLLER_CORES_EACH = 1.0  # one Python process: its event loop runs on one core
SHARES = ("busy_hour_share", "agent_share", "headroom")


class SizingError(Exception):
    """The result file cannot give the measured figures (one line)."""


@dataclass(frozen=True)
class Measured:
    """Per walk of the capacity bench, FastAGI, one controller."""

    rate: float  # calls/s of the step the figures come from
    walk_seconds: float  # one walk, answer to hang-up
    asterisk_ms_per_call: float  # Asterisk's CPU (and its children's)
    controller_ms_per_call: float  # the controller process itself
    archive_ms_per_call: float  # the controller's children: ffmpeg/ffprobe on the recording


@dataclass(frozen=True)
class Assumptions:
    calls_per_day: float = 30_000.0
    busy_hour_share: float = 0.12  # of the day's calls in its busiest hour
    ivr_seconds: float = 60.0  # average time in the menus, every call
    agent_share: float = 0.6  # calls that reach an agent
    handle_seconds: float = 240.0  # average talk with the agent
    agent_leg_factor: float = 2.0  # an agent call-second costs Asterisk this many IVR ones
    cores_per_box: float = 8.0
    headroom: float = 0.5  # share of a box's cores to use at the busy hour


@dataclass(frozen=True)
class Sizing:
    arrival_per_second: float
    ivr_erlangs: float
    agent_erlangs: float
    asterisk_ms_per_call_second: float
    asterisk_cores: float
    asterisk_boxes: int
    controller_cores: float
    controllers: int
    archive_ms_per_recorded_second: float
    recorded_seconds_per_second: float
    archive_cores: float
    archive_boxes: int


def size(m: Measured, a: Assumptions) -> Sizing:
    rate = a.calls_per_day * a.busy_hour_share / 3600
    ivr_erlangs = rate * a.ivr_seconds
    agent_erlangs = rate * a.agent_share * a.handle_seconds
    per_call_second = m.asterisk_ms_per_call / m.walk_seconds
    asterisk_cores = (ivr_erlangs + agent_erlangs * a.agent_leg_factor) * per_call_second / 1000
    controller_cores = rate * m.controller_ms_per_call / 1000
    per_recorded_second = m.archive_ms_per_call / m.walk_seconds
    recorded = ivr_erlangs + agent_erlangs  # seconds of audio recorded per second
    archive_cores = recorded * per_recorded_second / 1000
    budget = a.cores_per_box * a.headroom
    return Sizing(
        arrival_per_second=rate,
        ivr_erlangs=ivr_erlangs,
        agent_erlangs=agent_erlangs,
        asterisk_ms_per_call_second=per_call_second,
        asterisk_cores=asterisk_cores,
        asterisk_boxes=math.ceil(asterisk_cores / budget),
        controller_cores=controller_cores,
        controllers=max(
            MIN_CONTROLLERS, math.ceil(controller_cores / (CONTROLLER_CORES_EACH * a.headroom))
        ),
        archive_ms_per_recorded_second=per_recorded_second,
        recorded_seconds_per_second=recorded,
        archive_cores=archive_cores,
        archive_boxes=math.ceil(archive_cores / budget),
    )


def measured_from(result: dict[str, Any], rate: float | None) -> Measured:
    """The FastAGI step with one controller at `rate` (default: the highest rate that held)."""
    steps = [
        s
        for s in result.get("steps", [])
        if s.get("variant") == "fastagi" and s.get("controllers", 1) == 1
    ]
    held = [s for s in steps if s.get("held")]
    if rate is None:
        if not held:
            raise SizingError("no FastAGI step with one controller held in this run")
        step = max(held, key=lambda s: float(s["rate"]))
    else:
        found = [s for s in steps if float(s["rate"]) == rate]
        if not found:
            rates = ", ".join(f"{float(s['rate']):g}" for s in steps) or "none"
            raise SizingError(f"no FastAGI step at {rate:g} calls/s (the run has: {rates})")
        step = found[0]
    keys = result.get("walk", {}).get("keys", [])
    if not keys:
        raise SizingError("the result has no walk (walk.keys): not a capacity run's file")
    walk = sum(wait for wait, _key in keys) / 1000 + AGENT_ANSWER_SECONDS + AGENT_TALK_SECONDS
    return Measured(
        rate=float(step["rate"]),
        walk_seconds=walk,
        asterisk_ms_per_call=step["asterisk_cpu_ms_per_call"]
        + step["asterisk_children_cpu_ms_per_call"],
        controller_ms_per_call=step["controller_cpu_ms_per_call"],
        archive_ms_per_call=step["controller_children_cpu_ms_per_call"],
    )


def explain(m: Measured, a: Assumptions, s: Sizing) -> list[str]:
    """The arithmetic, line by line, with the numbers put in."""
    budget = a.cores_per_box * a.headroom
    return [
        f"measured (FastAGI, one controller, {m.rate:g} calls/s): one walk {m.walk_seconds:.1f} s;"
        f" per walk Asterisk {m.asterisk_ms_per_call:.0f} ms, controller "
        f"{m.controller_ms_per_call:.0f} ms, archive (ffmpeg) {m.archive_ms_per_call:.0f} ms CPU",
        f"assumed: {a.calls_per_day:g} calls/day, busy hour {a.busy_hour_share:.0%} of them, IVR "
        f"{a.ivr_seconds:g} s, {a.agent_share:.0%} reach an agent for {a.handle_seconds:g} s, an "
        f"agent second costs Asterisk {a.agent_leg_factor:g}x an IVR second, {a.cores_per_box:g} "
        f"cores per box used to {a.headroom:.0%}",
        f"1. arrival rate  λ = {a.calls_per_day:g} × {a.busy_hour_share:g} / 3600 = "
        f"{s.arrival_per_second:.3f} calls/s",
        f"2. Erlangs  IVR = {s.arrival_per_second:.3f} × {a.ivr_seconds:g} = {s.ivr_erlangs:.1f};"
        f"  agents = {s.arrival_per_second:.3f} × {a.agent_share:g} × {a.handle_seconds:g} = "
        f"{s.agent_erlangs:.1f}  (calls up at once: {s.ivr_erlangs + s.agent_erlangs:.1f})",
        f"3. Asterisk  {m.asterisk_ms_per_call:.0f} / {m.walk_seconds:.1f} = "
        f"{s.asterisk_ms_per_call_second:.2f} ms CPU per call-second;  cores = "
        f"({s.ivr_erlangs:.1f} + {s.agent_erlangs:.1f} × {a.agent_leg_factor:g}) × "
        f"{s.asterisk_ms_per_call_second:.2f} / 1000 = {s.asterisk_cores:.2f};  boxes = "
        f"ceil({s.asterisk_cores:.2f} / {budget:g}) = {s.asterisk_boxes}",
        f"4. controllers  cores = {s.arrival_per_second:.3f} × {m.controller_ms_per_call:.0f} / "
        f"1000 = {s.controller_cores:.3f};  processes = max({MIN_CONTROLLERS}, "
        f"ceil({s.controller_cores:.3f} / {CONTROLLER_CORES_EACH * a.headroom:g})) = "
        f"{s.controllers}",
        f"5. archive  {m.archive_ms_per_call:.0f} / {m.walk_seconds:.1f} = "
        f"{s.archive_ms_per_recorded_second:.2f} ms CPU per recorded second;  cores = "
        f"{s.recorded_seconds_per_second:.1f} × {s.archive_ms_per_recorded_second:.2f} / 1000 = "
        f"{s.archive_cores:.2f};  boxes' worth = ceil({s.archive_cores:.2f} / {budget:g}) = "
        f"{s.archive_boxes}",
    ]


def main(argv: list[str] | None = None) -> int:
    defaults = Assumptions()
    parser = argparse.ArgumentParser(
        prog="bench/sizing.py",
        description="Asterisk boxes and controllers for a busy hour, from a capacity run's "
        "per-call CPU and your assumptions (every option below is an assumption).",
    )
    parser.add_argument("result", type=Path, help="a bench/capacity.py result file")
    parser.add_argument(
        "--rate", type=float, default=None, help="the FastAGI step's rate (default: highest held)"
    )
    options = {
        "calls_per_day": "calls a day",
        "busy_hour_share": "share of the day's calls in the busiest hour",
        "ivr_seconds": "average seconds in the menus",
        "agent_share": "share of calls that reach an agent",
        "handle_seconds": "average seconds talking with the agent",
        "agent_leg_factor": "Asterisk's CPU for an agent call-second, in IVR call-seconds",
        "cores_per_box": "cores of one box",
        "headroom": "share of a box's cores to use at the busy hour",
    }
    for name, text in options.items():
        default = getattr(defaults, name)
        parser.add_argument(
            "--" + name.replace("_", "-"),
            type=float,
            default=default,
            help=f"{text} (default {default:g}, an assumption)",
        )
    args = parser.parse_args(argv)
    for name in options:
        value = getattr(args, name)
        if value <= 0 or (name in SHARES and value > 1):
            parser.error(f"--{name.replace('_', '-')} must be above 0 (a share: at most 1)")
    try:
        result = json.loads(args.result.read_text(encoding="utf-8"))
        measured = measured_from(result, args.rate)
    except KeyError as exc:
        print(
            f"sizing: error: {args.result}: a step has no {exc}: not a capacity result",
            file=sys.stderr,
        )
        return 1
    except (OSError, json.JSONDecodeError, SizingError) as exc:
        print(f"sizing: error: {args.result}: {exc}", file=sys.stderr)
        return 1
    assumptions = Assumptions(**{name: getattr(args, name) for name in options})
    for line in explain(measured, assumptions, size(measured, assumptions)):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
