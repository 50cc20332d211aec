"""Capacity on the real Asterisk: hotline against the same walk in plain dialplan (issue 20).

    python bench/capacity.py [--quick] [--rates 1,2,3] [--seconds 30]
                             [--variants twin,fastagi,classic] [--out FILE]
                             [--controllers 1,2 --database postgresql] [--drain SECONDS]

Starts the sandbox Asterisk (its own instance and ports), the controller and a SIPp agent
phone on every seat, then for each variant ramps the call rate in steps: SIPp callers (real
RTP, RFC 2833 keys) walk the 12333 main menu (silent through the greeting, the recording
notice, 2 in the main menu, 1 in the policy menu, 0 during the policy text, the hold prompt,
an agent who talks 2 s and hangs up). The variants, each recording the call from answer:

    twin     the walk as plain dialplan generated from the same flow (bench/twin.py)
    fastagi  hotline: the dialplan hands the call to the controller over FastAGI
    classic  hotline's classic entry: Asterisk starts a process per call

Per step: calls completed and failed (SIPp's own count), the greeting latency (Asterisk's
200 OK to the greeting's first RTP packet, as the caller's side of loopback sees them:
bench/rtpwatch.py) and the menu reaction latency (a key's end packet to the next prompt's
first packet), p50 and p99; CPU per call of Asterisk and of the controller (from /proc;
the classic entry's processes are Asterisk's children, counted as `asterisk_children`);
the largest RSS of each; and whether the step held: no failed call and p99 greeting
<= 300 ms. A variant's ramp stops at its first step that did not hold. The headline: the
highest rate each variant held and the ratios fastagi/twin and classic/twin, in one run (the
box is shared: absolute figures move with its load, ratios within a run are what count).

Takes the sandbox lock, as the real-stack tests do. Needs root (the chrooted Asterisk, the
packet watch). Results: bench/results/capacity-<UTC time>.json (`--out` elsewhere);
bench/capacity_plot.py draws them. `--quick`: one short step per variant (about 3 minutes).

Scale-out (issue 20, item 6): `--controllers 1,2` runs the FastAGI ramp once per count, with
that many controllers behind the one Asterisk (`[dialplan] agi_addresses`: the dialplan takes
them in turn), all sharing one database; `--database postgresql` starts a throw-away
PostgreSQL (hotline.sandbox.postgres.Cluster) and gives each count a fresh database of its
own. Per step: the calls each controller ran (its `event=ivr.start` lines) and the CPU per call
summed over the controllers; the headline's `controller_cpu_per_call_ratio` is N controllers'
summed CPU per call against one controller's at the same rate, in the same run.

Recordings backlog (item 5): during every step, every 5 s, the calls ended since the count
began whose recording is not processed yet (archive + QA; from the database); `--drain S`
keeps sampling up to S seconds after a count's last step, until the backlog is gone. Each
count starts from an empty recordings folder.
"""

from __future__ import annotations

import argparse
import array
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import wave
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from sqlalchemy import create_engine, func, or_, select  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402
from sqlalchemy.exc import OperationalError  # noqa: E402

from bench.twin import TWIN_NUMBER, render_twin  # noqa: E402
from hotline.pbx.dialplan import INBOUND_CONTEXT, render_inbound  # noqa: E402
from hotline.sandbox import commands as sandbox_cmd  # noqa: E402
from hotline.sandbox import sipp  # noqa: E402
from hotline.sandbox.demo import _build_prompts, _start_controller  # noqa: E402
from hotline.sandbox.instance import Instance  # noqa: E402
from hotline.sandbox.lock import stack_lock  # noqa: E402
from hotline.sandbox.postgres import Cluster  # noqa: E402
from hotline.sandbox.rootfs import DEFAULT_ROOTFS  # noqa: E402
from hotline.settings import Settings, dialplan_parts, load_settings  # noqa: E402
from hotline.store.models import Call, Recording  # noqa: E402
from ivr.flow import load_flow  # noqa: E402
from recordings.naming import mixmonitor_application  # noqa: E402

AMI_PORT, AGI_PORT, SIP_PORT, AGENT_PORT = 16038, 16573, 16060, 16071
POSTGRES_PORT = 16432
BACKLOG_EVERY = 5.0  # seconds between two samples of the recordings backlog
CALLER_ADDRESS = "127.0.0.2"
CLASSIC_NUMBER = "12335"
EXTRA_SEATS = 24  # beyond the four of config/seats.toml: the walk's agent leg never queues
GREETING_HELD_MS = 300.0
AGENT_TALK_MS = 2000
KEY_INTO_PROMPT_MS = 3000  # each key 3 s into the prompt it answers
# the prompts the walk plays, in order, and the key that ends each menu
WALK = ("welcome_lang", "recording_notice", "main_menu", "policy_menu", "policy_social_insurance")
NEXT_PROMPT = {"2": "policy_menu", "1": "policy_social_insurance", "0": "transfer_hold"}
VARIANTS = {"twin": TWIN_NUMBER, "fastagi": "12333", "classic": CLASSIC_NUMBER}
BUILD_INCLUDE = "bench-capacity.conf"


# --- configuration ----------------------------------------------------------------------


def write_configs(folder: Path) -> tuple[Path, Path]:
    """The bench's controller configuration (FastAGI) and its classic twin, and a seat
    directory with enough seats that no walk waits in line for an agent."""
    folder.mkdir(parents=True, exist_ok=True)
    recordings = "/var/lib/hotline-sandbox/capacity/recordings"
    rootfs = str(DEFAULT_ROOTFS)
    text = f"""
seats = "seats.toml"
[ami]
port = {AMI_PORT}
username = "hotline"
secret = "capacity-bench-secret"
admin_username = "hotline-admin"
admin_secret = "admin-capacity-bench-secret"
[fastagi]
bind = "127.0.0.1:{AGI_PORT}"
[database]
url = "sqlite:///{folder / "hotline.db"}"
[log]
file = "{folder / "hotline.log"}"
[recordings]
directory = "{rootfs}{recordings}"
asterisk_directory = "{recordings}"
[prompts]
catalogue = "{REPO / "config" / "prompts.toml"}"
build_directory = "{REPO / "var" / "prompts"}"
asterisk_directory = "/var/lib/hotline-sandbox/capacity/prompts"
[flows]
directory = "{REPO / "dialplans" / "flows"}"
[lookups.contributions]
kind = "sqlite-contributions"
database = "{folder / "contributions.db"}"
seed = "{REPO / "config" / "example-contributions.csv"}"
[dialplan]
agi_address = "127.0.0.1:{AGI_PORT}"
fallback_seats = ["agent1001", "agent1002"]
asterisk_config = "{rootfs}/var/lib/hotline-sandbox/capacity/etc"
classic_command = "/var/lib/hotline-sandbox/capacity/classic/bin/hotline-agi"
[sandbox]
rootfs = "{rootfs}"
name = "capacity"
sip_port = {SIP_PORT}
caller_match = ["{CALLER_ADDRESS}"]
[surveys]
enabled = false
"""
    (folder / "hotline.toml").write_text(text, encoding="utf-8")
    (folder / "classic.toml").write_text(
        text.replace("[dialplan]", '[dialplan]\nagi = "classic"'), encoding="utf-8"
    )
    seats = (REPO / "config" / "seats.toml").read_text(encoding="utf-8")
    seats = re.sub(r"@127\.0\.0\.1:\d+", f"@127.0.0.1:{AGENT_PORT}", seats)
    seats = re.sub(r'hours = \["mon-fri[^\]]*\]', 'hours = ["mon-sun 00:00-24:00"]', seats)
    extra = "".join(
        f'\n[[seat]]\nendpoint = "agent3{n:03d}"\noffice = "city"\n'
        f'contact = "sip:agent3{n:03d}@127.0.0.1:{AGENT_PORT}"\n'
        f'\n[[agent]]\nid = "3{n:03d}"\nname = "坐席{n}"\nseat = "agent3{n:03d}"\n'
        'office = "city"\nskills = ["pension", "medical", "employment", "labour", '
        '"personnel", "other"]\n'
        for n in range(1, EXTRA_SEATS + 1)
    )
    # seats and agents go before the posts (TOML arrays of tables may interleave: fine)
    (folder / "seats.toml").write_text(seats + extra, encoding="utf-8")
    return folder / "hotline.toml", folder / "classic.toml"


def controller_configs(base: Path, count: int, database_url: str) -> list[Path]:
    """`count` controllers from the bench's configuration: each its own FastAGI port and log,
    all on `database_url`; the dialplan (loaded from the first) takes them in turn."""
    text = base.read_text(encoding="utf-8")
    ports = [AGI_PORT + i for i in range(count)]
    addresses = ", ".join(f'"127.0.0.1:{port}"' for port in ports)
    text = re.sub(r'(?m)^url = ".*"$', f'url = "{database_url}"', text)
    if count > 1:
        text = text.replace("[dialplan]\n", f"[dialplan]\nagi_addresses = [{addresses}]\n")
    configs = []
    for i, port in enumerate(ports):
        own = text.replace(f'bind = "127.0.0.1:{AGI_PORT}"', f'bind = "127.0.0.1:{port}"')
        own = own.replace('hotline.log"', f'hotline-c{count}-{i}.log"')
        path = base.parent / f"hotline-c{count}-{i}.toml"
        path.write_text(own, encoding="utf-8")
        configs.append(path)
    return configs


def install_variants(settings: Settings, classic: Settings, instance: Instance) -> None:
    """The twin and the classic entry get numbers of their own beside hotline's 12333: all
    three variants are up at once, no reload between them."""
    flow = load_flow(settings.flows.directory / f"{settings.flows.entry}.yaml")
    twin = render_twin(
        flow,
        settings.prompts.asterisk_directory,
        mixmonitor_application(settings.recordings.asterisk_directory),
        "agent1001",
        INBOUND_CONTEXT,
        settings.prompts.languages[0],
    )
    classic_entry = render_inbound(dialplan_parts(classic)).replace(
        f"exten => {classic.dialplan.number},", f"exten => {CLASSIC_NUMBER},"
    )
    etc = instance.home / "etc"
    (etc / BUILD_INCLUDE).write_text(twin + "\n" + classic_entry, encoding="utf-8")
    main = etc / "extensions.conf"
    if f"#include {BUILD_INCLUDE}" not in main.read_text(encoding="utf-8"):
        with main.open("a", encoding="utf-8") as fh:
            fh.write(f"\n#include {BUILD_INCLUDE}\n")
    instance.cli("dialplan reload")
    shown = instance.cli(f"dialplan show {INBOUND_CONTEXT}")
    for number in VARIANTS.values():
        if f"'{number}' =>" not in shown:
            raise SystemExit(f"capacity: error: extension {number} missing after the reload")


def fingerprints(settings: Settings, prompts: tuple[str, ...]) -> dict[str, str]:
    """Each prompt's first 20 ms as Asterisk sends it: G.711 u-law of its first 160 samples."""
    out = {}
    language = settings.prompts.languages[0]
    for prompt in prompts:
        with wave.open(str(settings.prompts.build_directory / language / f"{prompt}.wav")) as w:
            samples = array.array("h", w.readframes(160))
        out[prompt] = bytes(lin2ulaw(v) for v in samples).hex()
    return out


def lin2ulaw(sample: int) -> int:
    """G.711 u-law of a 16-bit sample (as audioop did; audioop leaves Python in 3.13)."""
    sign = 0x80 if sample < 0 else 0
    magnitude = min(-sample if sample < 0 else sample, 32635) + 0x84
    exponent = max(0, min(7, (magnitude >> 7).bit_length() - 1))
    mantissa = (magnitude >> (exponent + 3)) & 0x0F
    return ~(sign | exponent << 4 | mantissa) & 0xFF


def prompt_ms(settings: Settings, prompt: str) -> float:
    language = settings.prompts.languages[0]
    with wave.open(str(settings.prompts.build_directory / language / f"{prompt}.wav")) as w:
        return float(w.getnframes() / w.getframerate() * 1000)


def key_script(settings: Settings) -> list[tuple[int, str]]:
    """(wait ms, key) from the answer: silent through the greeting (and its 1 s menu timeout)
    and the notice, then each key 3 s into the prompt it answers."""
    flow = load_flow(settings.flows.directory / f"{settings.flows.entry}.yaml")
    welcome = flow.nodes["welcome"]
    timeout_ms = getattr(welcome, "timeout", 1.0) * 1000
    to_menu = (
        prompt_ms(settings, "welcome_lang") + timeout_ms + prompt_ms(settings, "recording_notice")
    )
    first = int(to_menu + KEY_INTO_PROMPT_MS)
    return [(first, "2"), (KEY_INTO_PROMPT_MS, "1"), (KEY_INTO_PROMPT_MS, "0")]


# --- measuring --------------------------------------------------------------------------


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> tuple[float, float]:
    """(own CPU, reaped children's CPU) of a process, in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    utime, stime, cutime, cstime = (int(v) for v in fields[11:15])
    return (utime + stime) / CLOCK_TICKS, (cutime + cstime) / CLOCK_TICKS


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def recordings_backlog(engine: Engine, since: datetime) -> int | None:
    """Calls ended since `since` whose recording is not processed yet (no catalogue row, or a
    row still waiting for its archive and QA: the catalogue's own `pending_processing`); None
    when the database is busy (SQLite) this time."""
    query = (
        select(func.count())
        .select_from(Call)
        .outerjoin(Recording, Recording.linkedid == Call.linkedid)
        .where(Call.ended_at.is_not(None), Call.started_at >= since)
        .where(or_(Recording.linkedid.is_(None), Recording.processed_at.is_(None)))
    )
    try:
        with engine.connect() as connection:
            return int(connection.execute(query).scalar_one())
    except OperationalError:
        return None


def handled_calls(log: Path) -> int:
    """Calls a controller ran the flow for, from its log."""
    return log.read_text(errors="replace").count("event=ivr.start")


@dataclass
class CallTrace:
    answered: float
    prompts: list[tuple[float, str]] = field(default_factory=list)
    keys: list[tuple[float, str]] = field(default_factory=list)


def read_traces(events: Path, since: float, until: float) -> list[CallTrace]:
    """The calls answered in [since, until) with what their callers heard and pressed."""
    owner: dict[str, CallTrace] = {}
    traces: list[CallTrace] = []
    with events.open(encoding="ascii") as fh:
        for line in fh:
            parts = line.split()
            if len(parts) < 4:
                continue  # a line the watch was writing when it was read
            kind, when, port = parts[0], float(parts[1]), parts[2]
            if kind == "answer":
                if since <= when < until:
                    owner[port] = CallTrace(when)
                    traces.append(owner[port])
                else:
                    owner.pop(port, None)
            elif (trace := owner.get(port)) is not None:
                (trace.prompts if kind == "prompt" else trace.keys).append((when, parts[3]))
    return traces


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@dataclass
class Step:
    variant: str
    rate: float
    calls: int
    completed: int
    failed: int
    greetings_heard: int
    greeting_ms_p50: float | None
    greeting_ms_p99: float | None
    reactions: int
    reaction_ms_p50: float | None
    reaction_ms_p99: float | None
    wrong_prompts: int  # a key followed by another prompt than the walk's next one
    asterisk_cpu_ms_per_call: float
    asterisk_children_cpu_ms_per_call: float
    controller_cpu_ms_per_call: float
    controller_children_cpu_ms_per_call: float
    asterisk_rss_mb: float
    controller_rss_mb: float
    started: float  # epoch s: the events file's calls of this step are answered from here
    seconds: float
    controllers: int
    calls_per_controller: list[int]  # the calls each controller ran the flow for
    backlog: list[tuple[float, int]]  # (s since the step started, recordings not processed)
    held: bool


def summarise(
    variant: str, rate: float, calls: int, sipp_counts: tuple[int, int], traces: list[CallTrace]
) -> dict[str, object]:
    greeting = [
        (next(t for t, p in tr.prompts if WALK[0] in p.split("|")) - tr.answered) * 1000
        for tr in traces
        if any(WALK[0] in p.split("|") for _, p in tr.prompts)
    ]
    reaction, wrong = [], 0
    for tr in traces:
        for at, key in tr.keys:
            after = [(t, p) for t, p in tr.prompts if t > at]
            if not after:
                continue
            if NEXT_PROMPT.get(key) not in after[0][1].split("|"):
                wrong += 1
                continue
            reaction.append((after[0][0] - at) * 1000)
    completed, failed = sipp_counts
    p99 = percentile(greeting, 0.99)
    return {
        "variant": variant,
        "rate": rate,
        "calls": calls,
        "completed": completed,
        "failed": failed,
        "greetings_heard": len(greeting),
        "greeting_ms_p50": percentile(greeting, 0.5),
        "greeting_ms_p99": p99,
        "reactions": len(reaction),
        "reaction_ms_p50": percentile(reaction, 0.5),
        "reaction_ms_p99": percentile(reaction, 0.99),
        "wrong_prompts": wrong,
        "held": (
            failed == 0
            and completed == calls
            and len(greeting) == calls
            and p99 is not None
            and p99 <= GREETING_HELD_MS
        ),
    }


def sipp_counts(log: Path) -> tuple[int, int]:
    """(successful, failed) calls from SIPp's final statistics screen (cumulative column)."""
    text = log.read_text(errors="replace")
    done = re.findall(r"Successful call\s*\|\s*\d+\s*\|\s*(\d+)", text)
    failed = re.findall(r"Failed call\s*\|\s*\d+\s*\|\s*(\d+)", text)
    return (int(done[-1]) if done else 0, int(failed[-1]) if failed else 0)


# --- running ----------------------------------------------------------------------------


@dataclass
class Controllers:
    """The controller processes of one scale-out count, their logs and their database."""

    processes: list[subprocess.Popen[bytes]]
    logs: list[Path]
    engine: Engine
    since: datetime  # the backlog counts calls from here

    def cpu(self) -> tuple[float, float]:
        """(own, reaped children's) CPU seconds summed over the controllers."""
        pairs = [cpu_seconds(p.pid) for p in self.processes]
        return sum(a for a, _ in pairs), sum(b for _, b in pairs)

    def rss_mb(self) -> float:
        return sum(rss_mb(p.pid) for p in self.processes)

    def handled(self) -> list[int]:
        return [handled_calls(log) for log in self.logs]

    def backlog(self) -> int | None:
        return recordings_backlog(self.engine, self.since)

    def stop(self) -> None:
        for process in self.processes:
            process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.engine.dispose()


@dataclass
class Bench:
    settings: Settings
    instance: Instance
    controllers: Controllers
    events: Path
    work: Path
    script: list[tuple[int, str]]
    steps_run: int = 0

    def count_work(self, variant: str) -> dict[str, int]:
        """One walk alone, with Asterisk's AGI debug on: the dialplan applications it ran
        and the AGI commands the controller (or the classic process) sent, from Asterisk's
        log. The twin's applications against hotline's commands is where a gap starts."""
        log = self.instance.home / "log" / "messages.log"
        mark = log.stat().st_size
        self.instance.cli("agi set debug on")
        try:
            self.step(variant, 1.0, 1.0)
        finally:
            self.instance.cli("agi set debug off")
        with log.open("rb") as fh:
            fh.seek(mark)
            text = fh.read().decode("utf-8", "replace")
        return {
            "applications": text.count("Executing ["),
            "agi_commands": text.count("AGI Rx << "),
        }

    def step(self, variant: str, rate: float, seconds: float) -> Step:
        self.steps_run += 1
        n = self.steps_run
        calls = max(1, round(rate * seconds))
        work = self.work / f"step{n:02d}-{variant}-{rate:g}"
        work.mkdir(parents=True, exist_ok=True)
        audio = sipp.party_audio(work, sipp.CALLER_HZ)
        scenario = sipp.caller_scenario(audio, f"1371{n:02d}000000"[:11], script=self.script)
        xml = work / "callers.xml"
        xml.write_text(scenario, encoding="utf-8")
        log = work / "callers.log"
        # SIPp's rate is calls per period: a rate below 1/s is one call every 1/rate s
        per, period = (rate, 1000) if rate >= 1 else (1, round(1000 / rate))
        command = [
            sipp.sipp_binary(),
            "-sf", str(xml),
            "-i", CALLER_ADDRESS,
            "-p", str(17000 + n),
            "-mi", CALLER_ADDRESS,
            "-mp", str(36000 + n * 4),
            "-m", str(calls),
            "-r", f"{per:g}",
            "-rp", str(period),
            "-s", VARIANTS[variant],
            "-nostdin",
            "-timeout", f"{int(seconds + 150)}s",
            "-timeout_error",
            "-trace_err",
            "-error_file", str(work / "callers.errors.log"),
            f"127.0.0.1:{SIP_PORT}",
        ]  # fmt: skip
        ctl = self.controllers
        ast_pid = self.instance.pid() or 0
        ast0, ctl0, handled0 = cpu_seconds(ast_pid), ctl.cpu(), ctl.handled()
        ast_rss = ctl_rss = 0.0
        backlog: list[tuple[float, int]] = []
        start = next_sample = time.time()
        with log.open("wb") as out:
            process = subprocess.Popen(
                command, cwd=work, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT
            )
        try:
            while process.poll() is None:
                ast_rss, ctl_rss = max(ast_rss, rss_mb(ast_pid)), max(ctl_rss, ctl.rss_mb())
                if time.time() >= next_sample:
                    next_sample += BACKLOG_EVERY
                    if (waiting := ctl.backlog()) is not None:
                        backlog.append((round(time.time() - start, 1), waiting))
                time.sleep(1)
        finally:
            if process.poll() is None:
                process.terminate()
                process.wait(10)
        took = time.time() - start
        ast1, ctl1, handled1 = cpu_seconds(ast_pid), ctl.cpu(), ctl.handled()
        time.sleep(0.5)  # the watch's last lines reach its file
        traces = read_traces(self.events, start, start + took)
        summary = summarise(variant, rate, calls, sipp_counts(log), traces)
        per_call = 1000 / calls  # every placed call costs, completed or not
        return Step(
            **summary,  # type: ignore[arg-type]
            asterisk_cpu_ms_per_call=(ast1[0] - ast0[0]) * per_call,
            asterisk_children_cpu_ms_per_call=(ast1[1] - ast0[1]) * per_call,
            controller_cpu_ms_per_call=(ctl1[0] - ctl0[0]) * per_call,
            controller_children_cpu_ms_per_call=(ctl1[1] - ctl0[1]) * per_call,
            asterisk_rss_mb=ast_rss,
            controller_rss_mb=ctl_rss,
            started=start,
            seconds=took,
            controllers=len(ctl.processes),
            calls_per_controller=[b - a for a, b in zip(handled0, handled1, strict=True)],
            backlog=backlog,
        )


def _fmt(value: float | None) -> str:
    return "   -" if value is None else f"{value:6.0f}"


def label(step: Step) -> str:
    """The variant, and how many controllers served it when more than one."""
    return step.variant if step.controllers == 1 else f"{step.variant}x{step.controllers}"


def print_step(step: Step) -> None:
    each = "+".join(str(n) for n in step.calls_per_controller)
    waiting = max((n for _, n in step.backlog), default=0)
    print(
        f"  {label(step):10s} {step.rate:5.2f}/s  calls {step.completed:4d}/{step.calls:<4d} "
        f"failed {step.failed:3d}  greeting p50 {_fmt(step.greeting_ms_p50)} "
        f"p99 {_fmt(step.greeting_ms_p99)} ms  keys p50 {_fmt(step.reaction_ms_p50)} "
        f"p99 {_fmt(step.reaction_ms_p99)} ms  CPU/call asterisk "
        f"{step.asterisk_cpu_ms_per_call + step.asterisk_children_cpu_ms_per_call:5.0f} "
        f"controller {step.controller_cpu_ms_per_call:5.0f} ms (ran {each})  "
        f"backlog max {waiting}  {'held' if step.held else 'NOT held'}",
        flush=True,
    )


def headline(steps: list[Step], variants: list[str]) -> dict[str, object]:
    labels = list(dict.fromkeys([*variants, *(label(s) for s in steps)]))
    held = {
        v: max((s.rate for s in steps if label(s) == v and s.held), default=0.0) for v in labels
    }
    ratios: dict[str, float | None] = {}
    for v in labels:
        if v != "twin" and "twin" in held:
            ratios[f"{v}/twin"] = held[v] / held["twin"] if held["twin"] else None
    # Asterisk's CPU per call (its children included: the classic entry's processes), each
    # variant against the twin at the rates both ran
    cpu: dict[str, dict[str, float]] = {}
    twin = {s.rate: s for s in steps if s.variant == "twin"}
    for s in steps:
        if s.variant != "twin" and s.rate in twin and twin[s.rate].asterisk_cpu_ms_per_call:
            own = s.asterisk_cpu_ms_per_call / twin[s.rate].asterisk_cpu_ms_per_call
            cpu.setdefault(f"{label(s)}/twin", {})[f"{s.rate:g}"] = round(own, 2)
    return {
        "held_rate": held,
        "held_rate_ratio": ratios,
        "asterisk_cpu_per_call_ratio": cpu,
        "controller_cpu_per_call_ratio": scale_out_ratios(steps),
    }


def scale_out_ratios(steps: list[Step]) -> dict[str, dict[str, dict[str, float]]]:
    """N controllers against one at the same rate: the controllers' CPU per call summed, own
    and with their children (the leader's ffmpeg). 1.0: calls/s per controller CPU unchanged."""
    one = {s.rate: s for s in steps if s.variant == "fastagi" and s.controllers == 1}
    out: dict[str, dict[str, dict[str, float]]] = {}
    for s in steps:
        base = one.get(s.rate)
        if s.variant != "fastagi" or s.controllers == 1 or base is None:
            continue
        if not base.controller_cpu_ms_per_call:
            continue
        own = s.controller_cpu_ms_per_call / base.controller_cpu_ms_per_call
        with_children = (s.controller_cpu_ms_per_call + s.controller_children_cpu_ms_per_call) / (
            base.controller_cpu_ms_per_call + base.controller_children_cpu_ms_per_call
        )
        out.setdefault(f"{s.controllers}/1", {})[f"{s.rate:g}"] = {
            "own": round(own, 2),
            "with_children": round(with_children, 2),
        }
    return out


def tree_commit() -> str:
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=REPO, capture_output=True, text=True, check=False
        ).stdout.strip()

    return git("rev-parse", "--short", "HEAD") + ("+dirty" if git("status", "--porcelain") else "")


def load_dialplan(config: Path) -> None:
    """hotline's dialplan from `config` (its controllers' addresses), reloaded over AMI."""
    done = subprocess.run(
        [sys.executable, "-m", "hotline.cli.main", "-c", str(config), "dialplan", "load"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"capacity: error: dialplan load failed: {done.stderr.strip()[-300:]}")


def clear_recordings(settings: Settings) -> None:
    """The bench's recordings folder emptied: a fresh database would otherwise catalogue and
    process every earlier run's files, work that is not the step's calls."""
    folder = settings.recordings.directory
    if "capacity" not in folder.parts:  # never anything but the bench's own sandbox folder
        raise SystemExit(f"capacity: error: {folder} is not the bench's recordings folder")
    for path in folder.glob("*"):
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()


def start_controllers(configs: list[Path], work: Path) -> Controllers:
    """One `hotline serve` per configuration, each ready; the first leads (it starts first)."""
    processes: list[subprocess.Popen[bytes]] = []
    logs: list[Path] = []
    since = datetime.now(UTC)
    try:
        for config in configs:
            folder = work / config.stem
            folder.mkdir(exist_ok=True)
            processes.append(_start_controller(load_settings(config), folder))
            logs.append(folder / "controller.out")
    except BaseException:
        for process in processes:
            process.kill()
            process.wait()
        raise
    engine = create_engine(load_settings(configs[0]).database_url)
    return Controllers(processes, logs, engine, since)


def drain(controllers: Controllers, seconds: float) -> dict[str, object]:
    """The backlog after the calls stopped, every 5 s until it is gone or `seconds` passed,
    and the controllers' CPU meanwhile (their children's: the archive catching up)."""
    samples: list[tuple[float, int]] = []
    start = time.time()
    own0, children0 = controllers.cpu()
    while time.time() - start <= seconds:
        waiting = controllers.backlog()
        if waiting is not None:
            samples.append((round(time.time() - start, 1), waiting))
            if waiting == 0:
                break
        time.sleep(BACKLOG_EVERY)
    own1, children1 = controllers.cpu()
    return {
        "samples": samples,
        "controller_cpu_s": round(own1 - own0, 2),
        "controller_children_cpu_s": round(children1 - children0, 2),
    }


def whole_count(steps: list[Step], drained: dict[str, object]) -> dict[str, object] | None:
    """CPU per call over a count's steps and its drain: every recording of the count processed
    within it (the drain reached 0), so the archive's CPU is all there; None otherwise."""
    samples = drained["samples"]
    if not steps or not isinstance(samples, list) or not samples or samples[-1][1] != 0:
        return None
    calls = sum(s.calls for s in steps)
    own = sum(s.controller_cpu_ms_per_call * s.calls for s in steps)
    children = sum(s.controller_children_cpu_ms_per_call * s.calls for s in steps)
    own += float(drained["controller_cpu_s"]) * 1000  # type: ignore[arg-type]
    children += float(drained["controller_children_cpu_s"]) * 1000  # type: ignore[arg-type]
    return {
        "calls": calls,
        "controller_cpu_ms_per_call": round(own / calls, 1),
        "controller_children_cpu_ms_per_call": round(children / calls, 1),
    }


def run(args: argparse.Namespace) -> int:
    work = REPO / "var" / "capacity"
    config, classic_config = write_configs(work)
    settings, classic = load_settings(config), load_settings(classic_config)
    for stale in work.glob("step*"):
        subprocess.run(["rm", "-rf", str(stale)], check=False)
    # the bench's own SQLite database is a run's scratch: one left by an older checkout has an
    # older schema, and the controller refuses to start on it
    for stale in work.glob("hotline.db*"):
        stale.unlink()
    _build_prompts(settings)
    sandbox_cmd.instance_for(settings).stop()  # a leftover from an interrupted run
    instance = sandbox_cmd.up(settings, say=lambda line: print("  " + line))
    install_variants(settings, classic, instance)
    spec = sandbox_cmd.sandbox_spec(settings)
    prints = work / "fingerprints.json"
    prints.write_text(json.dumps(fingerprints(settings, (*WALK, "transfer_hold"))))
    events = work / "events.txt"
    watch = subprocess.Popen(
        [
            sys.executable, str(REPO / "bench" / "rtpwatch.py"),
            "--fingerprints", str(prints), "--caller", CALLER_ADDRESS,
            "--sip-port", str(SIP_PORT),
            "--rtp", f"{spec.rtp_start}-{spec.rtp_start + spec.rtp_ports - 1}",
            "--out", str(events),
        ]
    )  # fmt: skip
    cluster = Cluster(work / "postgres", POSTGRES_PORT) if args.database == "postgresql" else None
    agent = sipp.start_agent(
        work,
        "agents",
        AGENT_PORT,
        sipp.agent_scenario(sipp.party_audio(work, sipp.AGENT_HZ), talk_ms=AGENT_TALK_MS),
    )
    bench: Bench | None = None
    steps: list[Step] = []
    counts: dict[str, dict[str, int]] = {}
    drains: dict[str, dict[str, object]] = {}
    try:
        if cluster is not None:
            cluster.stop(remove=True)  # a leftover from an interrupted run
            cluster.start()
        time.sleep(1)
        if watch.poll() is not None:
            raise SystemExit("capacity: error: the packet watch (bench/rtpwatch.py) exited")
        for count in args.controllers:
            # each count on a fresh database of its own (PostgreSQL); SQLite's one file is
            # told apart by time (the backlog counts calls from the count's start)
            url = cluster.database(f"capacity_c{count}") if cluster else settings.database_url
            configs = controller_configs(config, count, url)
            load_dialplan(configs[0])
            clear_recordings(settings)
            install_variants(settings, classic, instance)
            controllers = start_controllers(configs, work)
            try:
                if bench is None:
                    bench = Bench(
                        settings, instance, controllers, events, work, key_script(settings)
                    )
                bench.controllers = controllers
                for variant in args.variants:
                    for rate in args.rates:
                        step = bench.step(variant, rate, args.seconds)
                        steps.append(step)
                        print_step(step)
                        if not step.held:
                            break
                if args.drain:
                    drained = drain(controllers, args.drain)
                    drained["whole_count"] = whole_count(
                        [s for s in steps if s.controllers == count], drained
                    )
                    drains[str(count)] = drained
                    print(f"  after the calls: {drained}")
                # three more walks, once: --quick stays within its few minutes
                if not args.quick and not counts:
                    counts = {v: bench.count_work(v) for v in args.variants}
            finally:
                controllers.stop()
    finally:
        agent.stop()
        watch.send_signal(signal.SIGTERM)
        watch.wait(10)
        instance.stop()
        if cluster is not None:
            cluster.stop(remove=True)
    # the watch's last line: packets it lost (a lost 200 OK is a call without figures)
    drops = events.read_text(encoding="ascii").rsplit("drops ", 1)[-1].split("\n")[0]
    head = headline(steps, args.variants)
    # hotline that sent Asterisk no AGI command never ran the flow (the dialplan's fallback
    # queue took the calls): its steps measure the fallback, not hotline
    void = [v for v, n in counts.items() if v != "twin" and n["agi_commands"] == 0]
    for variant in void:
        print(f"capacity: warning: {variant}'s walk ran no AGI command: its steps are void")
    report = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join(sys.argv),
        "tree_commit": tree_commit(),
        "machine": {"host": socket.gethostname(), "cpus": os.cpu_count()},
        "walk": {"keys": key_script(settings), "prompts": [*WALK, "transfer_hold"]},
        "seconds_per_step": args.seconds,
        "controllers": args.controllers,
        "database": args.database,
        "backlog_drain": drains,
        "work_per_walk": counts,
        "watch_drops": drops,
        "void_variants": void,
        **head,
        "steps": [asdict(s) for s in steps],
    }
    out = (
        args.out
        or REPO / "bench" / "results" / f"capacity-{datetime.now(UTC):%Y-%m-%dT%H%M%S}.json"
    )
    out.write_text(json.dumps(report, indent=1), encoding="utf-8")
    held = head["held_rate"]
    print("highest rate held (calls/s): " + ", ".join(f"{v} {r:g}" for v, r in held.items()))  # type: ignore[attr-defined]
    for name, ratio in head["held_rate_ratio"].items():  # type: ignore[attr-defined]
        print(f"  {name}: {'-' if ratio is None else f'{ratio:.2f}'}")
    for name, by_rate in head["controller_cpu_per_call_ratio"].items():  # type: ignore[attr-defined]
        print(f"  controller CPU per call, {name} controllers: {by_rate}")
    print(f"results: {out}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="one short step per variant")
    parser.add_argument("--rates", default="1,2,3,4,6", help="calls per second, in steps")
    parser.add_argument("--seconds", type=float, default=30.0, help="how long each step calls")
    parser.add_argument("--variants", default="twin,fastagi,classic")
    parser.add_argument("--out", type=Path, default=None, help="the results file")
    parser.add_argument(
        "--controllers",
        default="1",
        help="controller counts to run the FastAGI ramp with, e.g. 1,2 (scale-out)",
    )
    parser.add_argument(
        "--database",
        choices=("sqlite", "postgresql"),
        default="sqlite",
        help="the controllers' database: postgresql starts a throw-away server",
    )
    parser.add_argument(
        "--drain",
        type=float,
        default=0.0,
        help="seconds to keep sampling the recordings backlog after the last step",
    )
    parser.add_argument(
        "--no-lock",
        action="store_true",
        help="the caller holds the sandbox lock already (tests/stack/test_capacity.py)",
    )
    args = parser.parse_args()
    args.rates = [float(r) for r in ("1" if args.quick else args.rates).split(",")]
    if args.quick:
        args.seconds = min(args.seconds, 8.0)
    args.variants = args.variants.split(",")
    unknown = [v for v in args.variants if v not in VARIANTS]
    if unknown:
        parser.error(f"unknown variant {unknown[0]!r}: choose from {', '.join(VARIANTS)}")
    try:
        args.controllers = [int(n) for n in args.controllers.split(",")]
    except ValueError:
        parser.error(f"--controllers {args.controllers!r}: counts like 1,2")
    if any(not 1 <= n <= 8 for n in args.controllers):
        parser.error("--controllers: each count from 1 to 8")
    if args.controllers != [1] and args.variants != ["fastagi"]:
        parser.error("--controllers other than 1 scales the FastAGI path: add --variants fastagi")
    if max(args.controllers) > 1 and args.database != "postgresql":
        parser.error("controllers share a database server: add --database postgresql")
    if os.geteuid() != 0:
        parser.error("needs root: the sandbox Asterisk runs chrooted and the watch reads packets")
    if args.no_lock:
        return run(args)
    with stack_lock(lambda: print("capacity: waiting for the sandbox lock (a test run has it)")):
        return run(args)


if __name__ == "__main__":
    sys.exit(main())
