"""AMI ingestion benchmark: hotline's path from AMI bytes to presence and call records against
raw panoramisk parsing of the same bytes, and the lag from an event's send to presence applied.

The stream: tests/data/ami_first_call.jsonl (what Asterisk 22 sent for one real call in the
sandbox: 53 events after FullyBooted, 8.3 s from Newchannel to the last DeviceStateChange)
rendered back to AMI's wire format (`Key: Value\\r\\n` lines, a blank line after each event; the
one header the recording joined from a repeated one, `State: CallIDChange, CallIDChange`, goes
out repeated again) and replicated into --calls distinct calls, --concurrency of them overlapping
(each call starts call-length/concurrency after the previous one; the events of all calls merged
by time). Per copy: new Uniqueid/Linkedid/DestUniqueid, channel names, CallID, BridgeUniqueid,
recording file, caller number (mobiles and Hangzhou landlines), timestamps, and the agent's seat
(agent1001 in the recording) becomes a seat of router_bench's synthetic 2,000-seat directory.
Per copy, presence traffic from the rest of the centre is added: another seat rung and not
answered (DeviceStateChange RINGING, then NOT_INUSE), another seat's own call (INUSE, then
NOT_INUSE), and for one call in five a seat's feature-code UserEvent (HotlineAgent login,
logout, pause with a reason or resume, naming only the Endpoint, as the rendered dialplan does).
That is 57.2 events per call on average, 7.2 of them reaching presence.

Throughput mode (the default): the whole stream is fed, in --chunk byte reads (4 KiB: what a
busy AMI socket hands over per read), to `data_received` of a protocol object with a dummy
transport, its `encoding` set to utf8 as panoramisk's Manager sets it. Each round gives every
row a fresh protocol, Presence and CallTracker and feeds them the whole stream, the rows taking
turns every --slice reads (32 reads, about 350 events; the order rotating), so that all rows see
the same background load; ratios are formed per round, the median over rounds is reported. The
stream's event dicts are dropped before measuring (only its bytes are kept), so that they do not
weigh on the measured rows' garbage collections. Rows:

  raw       panoramisk.ami_protocol.AMIProtocol, a factory whose dispatch counts the messages:
            panoramisk's own parsing, nothing else (the reference)
  utf8      hotline's hotline.pbx.ami._Utf8Protocol (incremental UTF-8 decoding first), counting
  plain     + hotline.pbx.ami.plain_event on every message
  presence  + event_time and hotline.pbx.presence_events.apply_event into routing.presence.Presence
  hotline   + hotline.pbx.calltracker.CallTracker.handle (agent_for_endpoint as the controller's:
            Directory.agent_at_seat): the controller's _on_event minus the record writer and
            logging, every event converted
  manager   the same, handed on as AmiClient does it (hotline.pbx.ami._Manager's one callback, then
            AmiClient._dispatch), every event converted
  followed  manager, with AmiClient told the events the controller follows (FOLLOWED below,
            as hotline.controller.app.followed_events gives them with the dashboard on): the others
            are dropped on their name before conversion. The production path: followed/raw
            is the ratio with the goal (>= 0.7)

Lag mode (--lag, after the throughput rows unless --lag-only): a separate process runs an
asyncio TCP server that plays Asterisk's AMI (banner, Login answered with Success and a
FullyBooted event, every other action answered with Success, as tests/protocol/test_ami.py's
FakeAmi) and streams the same events at a given rate on request (a `BenchStream` action sent
with AmiClient.action). Each event is stamped, at the moment it is written, with the sender's
wall clock in its Timestamp header (time.time(), 6 decimals, as Asterisk writes it). The client
is an hotline.pbx.ami.AmiClient given the followed events, whose on_event does what the controller's
does (apply_event, then
CallTracker.handle); the lag of an event is the receiver's time.time() right after apply_event
minus its Timestamp (same host, same clock). Presence starts from router_bench's busy steady
state. Per rate, once alone and once with routing decisions (Presence.snapshot + find_post +
plan_call, drained) on the same event loop at --lag-decisions per second, as in the controller's one
loop. Per row, beside the lag percentiles: the client's CPU share, its involuntary context
switches (preemption by other processes), the garbage collections by generation and the longest
collection pause, and the decisions' mean and longest cost.

    python bench/ami_bench.py                  # the documented sizes (throughput, then lag)
    python bench/ami_bench.py --quick          # a smoke run, a few seconds

Results are printed and written to bench/results/ami-<date>.json. See docs/PERFORMANCE.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import gc
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import router_bench as rb  # puts the tree to measure (--tree, else this one) on sys.path
from panoramisk import Manager
from panoramisk.ami_protocol import AMIProtocol

import hotline.pbx.ami
from hotline.controller.callbacks import CallbackDispatcher
from hotline.pbx.ami import AmiClient, Event, _Utf8Protocol, plain_event
from hotline.pbx.calltracker import CallTracker, event_time
from hotline.pbx.dialplan import INBOUND_CONTEXT
from hotline.pbx.presence_events import PresenceFeed, apply_event
from hotline.supervisor.attach import SupervisorSide
from routing.directory import Directory
from routing.presence import Presence
from routing.router import find_post, plan_call

ROOT = rb.ROOT
RECORDING = ROOT / "tests" / "data" / "ami_first_call.jsonl"
RESULTS = ROOT / "bench" / "results"
BANNER = "Asterisk Call Manager/9.0.0\r\n"
GOAL = 0.7  # hotline's events/s at least this share of raw panoramisk's
# The events hotline's controller follows with the dashboard on (the larger set): what its readers
# declare (hotline.controller.hooks: presence's, the call tracker's, callbacks' UserEvent and
# the supervisors' monitor's). The "followed" row and the lag client pass them to AmiClient, as
# the controller does.
FOLLOWED = (
    PresenceFeed.events | CallbackDispatcher.events | CallTracker.events | SupervisorSide.events
)
ROWS: tuple[str, ...] = ("raw", "utf8", "plain", "presence", "hotline", "manager", "followed")
CALLER_UID, AGENT_UID = "1795817906.6", "1795817911.7"
CALLER_CHAN, AGENT_CHAN = "callers-00000006", "agent1001-00000007"
EXTRA_CHANGES = ("login", "logout", "pause", "resume")


# --- the stream ----------------------------------------------------------------------------


def load_recording() -> tuple[dict[str, str], list[dict[str, str]]]:
    """(FullyBooted, the call's events) from the recorded stream, without panoramisk's
    `content` key."""
    events = []
    for line in RECORDING.read_text(encoding="utf-8").splitlines():
        event = json.loads(line)
        event.pop("content", None)
        events.append(event)
    return events[0], events[1:]


def render(event: Mapping[str, str]) -> str:
    lines = []
    for key, value in event.items():
        parts = value.split(", ")
        if len(parts) > 1 and len(set(parts)) == 1:  # a repeated header, joined when recorded
            lines += [f"{key}: {part}\r\n" for part in parts]
        else:
            lines.append(f"{key}: {value}\r\n")
    return "".join(lines) + "\r\n"


def seat_channel_fields(seat: str, uid: str, stamp: float, exten: str) -> dict[str, str]:
    """What Asterisk puts in a UserEvent raised from a seat's feature-code call."""
    return {
        "Event": "UserEvent",
        "Privilege": "user,all",
        "Timestamp": f"{stamp:.6f}",
        "Channel": f"PJSIP/{seat}-{int(uid.split('.')[1]):08x}",
        "ChannelState": "6",
        "ChannelStateDesc": "Up",
        "CallerIDNum": seat,
        "CallerIDName": "<unknown>",
        "ConnectedLineNum": "<unknown>",
        "ConnectedLineName": "<unknown>",
        "Language": "zh",
        "AccountCode": "",
        "Context": "hotline-seats",
        "Exten": exten,
        "Priority": "2",
        "Uniqueid": uid,
        "Linkedid": uid,
    }


def build_stream(
    directory: Directory, calls: int, concurrency: int, seed: int
) -> list[dict[str, str]]:
    """The recorded call replicated into `calls` distinct, overlapping calls, with the centre's
    other presence traffic; events in time order (FullyBooted first)."""
    rng = random.Random(seed)
    booted, template = load_recording()
    t0 = float(template[0]["Timestamp"])
    length = float(template[-1]["Timestamp"]) - t0
    gap = length / concurrency
    base = 1796000000.0
    seats = list(directory.seats)
    timed: list[tuple[float, int, dict[str, str]]] = []
    seq = 0
    prefixes = [p for o in directory.offices.values() for p in o.number_prefixes] or ["057187"]

    def add(stamp: float, event: dict[str, str]) -> None:
        nonlocal seq
        seq += 1
        event["Timestamp"] = f"{stamp:.6f}"
        timed.append((stamp, seq, event))

    def device(stamp: float, seat: str, state: str) -> None:
        add(
            stamp,
            {
                "Event": "DeviceStateChange",
                "Privilege": "call,all",
                "Timestamp": "",
                "Device": f"PJSIP/{seat}",
                "State": state,
            },
        )

    for k in range(calls):
        start = base + k * gap
        second = int(start)
        seat = rng.choice(seats)
        caller = (
            f"13{rng.randrange(10**9):09d}"
            if rng.random() < 0.6
            else rng.choice(prefixes) + f"{rng.randrange(10**6):06d}"
        )
        swap = {
            CALLER_UID: f"{second}.{2 * k}",
            AGENT_UID: f"{second}.{2 * k + 1}",
            CALLER_CHAN: f"callers-{2 * k:08x}",
            AGENT_CHAN: f"{seat}-{2 * k + 1:08x}",
            "agent1001": seat,
            "[C-00000004]": f"[C-{k:08x}]",
            "753557d0-2cd5-409a-bef7-94259ddb904a": str(uuid.UUID(int=rng.getrandbits(128))),
            "13800000004": caller,
        }
        for event in template:
            copy = {}
            for key, value in event.items():
                for old, new in swap.items():
                    if old in value:
                        value = value.replace(old, new)
                copy[key] = value
            add(start + float(event["Timestamp"]) - t0, copy)
        other, rung = rng.sample(seats, 2)
        device(start + 2.5, rung, "RINGING")
        device(start + 8.5, rung, "NOT_INUSE")
        device(start + 1.0, other, "INUSE")
        device(start + 6.0, other, "NOT_INUSE")
        if rng.random() < 0.2:
            who = rng.choice(seats)
            change = rng.choice(EXTRA_CHANGES)
            exten = {"login": "*11", "logout": "*12", "pause": "*131", "resume": "*14"}[change]
            user = seat_channel_fields(who, f"{second}.{10**6 + k}", start + 4.0, exten)
            user |= {"UserEvent": "HotlineAgent", "Change": change}
            if change == "pause":
                user["Reason"] = rng.choice("1234")
            user["Endpoint"] = who
            add(start + 4.0, user)
    timed.sort()
    return [dict(booted)] + [event for _, _, event in timed]


def chunks(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


# --- throughput ----------------------------------------------------------------------------


class _Transport:
    def write(self, data: bytes) -> None:
        pass

    def close(self) -> None:
        pass

    def get_extra_info(self, name: str, default: object = None) -> object:
        return default


class _Counter:
    """A panoramisk factory: dispatch hands each message on."""

    def __init__(self, handle: Callable[[Any], None]) -> None:
        self.dispatch = handle


@dataclass
class Sink:
    """What the controller's _on_event does, minus the record writer and logging."""

    directory: Directory
    presence: Presence = field(init=False)
    tracker: CallTracker = field(init=False)
    events: int = 0
    presence_changes: int = 0
    call_changes: int = 0

    def __post_init__(self) -> None:
        self.presence = Presence(self.directory, wrap_up=dt.timedelta(seconds=10))
        self.tracker = CallTracker(INBOUND_CONTEXT, self.agent_for_endpoint)

    def agent_for_endpoint(self, endpoint: str) -> str | None:  # the controller's
        agent = self.directory.agent_at_seat(endpoint)
        return agent.id if agent else None

    def count(self, _message: Any) -> None:
        self.events += 1

    def plain(self, message: Any) -> None:
        plain_event(message)
        self.events += 1

    def to_presence(self, message: Any) -> None:
        event = plain_event(message)
        self.events += 1
        if apply_event(self.presence, self.directory, event, event_time(event)):
            self.presence_changes += 1

    def on_event(self, event: Event) -> None:
        self.events += 1
        at = event_time(event)  # once, as the controller's _on_event does
        if apply_event(self.presence, self.directory, event, at):
            self.presence_changes += 1
        self.call_changes += len(self.tracker.handle(event, at))

    def full(self, message: Any) -> None:
        self.on_event(plain_event(message))


def make_protocol(row: str, sink: Sink) -> Any:
    protocol: Any = AMIProtocol() if row == "raw" else _Utf8Protocol()
    protocol.connection_made(_Transport())
    protocol.encoding = "utf8"  # as panoramisk's Manager sets it on connect
    if row in ("manager", "followed"):
        client = AmiClient("127.0.0.1", 0, "bench", "x", on_event=sink.on_event)
        if row == "followed":
            client.follow(FOLLOWED)
        if hasattr(
            hotline.pbx.ami, "_Manager"
        ):  # AmiClient's own manager: one callback, no patterns
            protocol.factory = hotline.pbx.ami._Manager(client._dispatch, loop=None)
        else:  # an older tree (--tree): panoramisk's Manager with the pattern "*"
            manager = Manager(loop=None)
            manager.register_event("*", client._dispatch)
            manager.callbacks["FullyBooted"].clear()  # its reconnect hook needs a running loop
            protocol.factory = manager
    else:
        handle = {
            "raw": sink.count,
            "utf8": sink.count,
            "plain": sink.plain,
            "presence": sink.to_presence,
            "hotline": sink.full,
        }[row]
        protocol.factory = _Counter(handle)
    return protocol


@dataclass
class Feeder:
    """One row's protocol and sink, fed slice by slice; wall and CPU time summed per slice."""

    row: str
    sink: Sink
    received: Callable[[bytes], None]
    wall: float = 0.0
    cpu: float = 0.0

    @classmethod
    def new(cls, row: str, directory: Directory) -> Feeder:
        sink = Sink(directory)
        return cls(row, sink, make_protocol(row, sink).data_received)

    def feed(self, data: list[bytes]) -> None:
        received = self.received
        wall, cpu = time.perf_counter(), time.process_time()
        for chunk in data:
            received(chunk)
        self.wall += time.perf_counter() - wall
        self.cpu += time.process_time() - cpu

    def report(self, stream_events: int | None = None) -> dict[str, Any]:
        """`stream_events`: the events fed, when the row's sink saw only some (followed)."""
        events = stream_events or self.sink.events
        return {
            "events": events,
            "delivered": self.sink.events,
            "seconds": round(self.wall, 4),
            "cpu_seconds": round(self.cpu, 4),
            "events_per_s": round(events / self.wall),
            "us_per_event": round(self.wall / events * 1e6, 3),
            "presence_changes": self.sink.presence_changes,
            "call_changes": self.sink.call_changes,
        }


def throughput(args: argparse.Namespace, directory: Directory, data: list[bytes]) -> dict[str, Any]:
    """Rounds of the whole stream through every row; within a round the rows take turns slice
    by slice (--slice reads each, the order rotating), so all see the same background load."""
    slices = [data[i : i + args.slice] for i in range(0, len(data), args.slice)]
    for row in ROWS:  # warm-up, unmeasured
        Feeder.new(row, directory).feed(data[: max(1, len(data) // 10)])
    rounds: list[dict[str, Any]] = []
    for r in range(args.rounds):
        feeders = {row: Feeder.new(row, directory) for row in ROWS}
        for n, piece in enumerate(slices):
            k = (n + r) % len(ROWS)
            for row in ROWS[k:] + ROWS[:k]:
                feeders[row].feed(piece)
        fed = feeders["raw"].sink.events
        rows = {
            row: feeder.report(fed if row == "followed" else None)
            for row, feeder in feeders.items()
        }
        counts = {row: v["events"] for row, v in rows.items()}
        outcome = {row: (v["presence_changes"], v["call_changes"]) for row, v in rows.items()}
        if any(outcome[row] != outcome["hotline"] for row in ROWS[4:]):
            raise SystemExit(f"ami_bench: rows changed presence/calls differently: {outcome}")
        if len(set(counts.values())) != 1:
            raise SystemExit(f"ami_bench: rows saw different event counts: {counts}")
        raw = rows["raw"]["events_per_s"]
        ratios = {f"{row}/raw": round(rows[row]["events_per_s"] / raw, 3) for row in ROWS[1:]}
        raw_cpu = rows["raw"]["cpu_seconds"]
        ratios |= {  # the same from CPU time
            f"{row}/raw cpu": round(raw_cpu / rows[row]["cpu_seconds"], 3) for row in ROWS[1:]
        }
        rounds.append({"round": r + 1, "rows": rows, "ratios": ratios})
        print(
            f"round {r + 1}: "
            + ", ".join(f"{row} {rows[row]['events_per_s']:,}/s" for row in ROWS)
            + f"; hotline/raw {ratios['hotline/raw']:.2f}, manager/raw {ratios['manager/raw']:.2f}"
            + f", followed/raw {ratios['followed/raw']:.2f}"
        )
    summary: dict[str, Any] = {
        f"{row}_events_per_s": round(
            statistics.median(r["rows"][row]["events_per_s"] for r in rounds)
        )
        for row in ROWS
    }
    summary |= {
        f"{row}_us_per_event": round(
            statistics.median(r["rows"][row]["us_per_event"] for r in rounds), 3
        )
        for row in ROWS
    }
    for key in rounds[0]["ratios"]:
        values = [r["ratios"][key] for r in rounds]
        summary[key] = round(statistics.median(values), 3)
        summary[f"{key} range"] = [min(values), max(values)]
    summary["goal_met"] = summary["followed/raw"] >= GOAL  # the production path
    return {"rounds": rounds, "summary": summary}


# --- lag: a streaming AMI server in its own process ----------------------------------------


def split_for_stamp(event: Mapping[str, str]) -> tuple[str, str]:
    """(the lines before Timestamp, the lines after), so the sender stamps at write time."""
    head = {k: v for k, v in event.items() if k in ("Event", "Privilege")}
    tail = {k: v for k, v in event.items() if k not in head and k != "Timestamp"}
    return render(head)[:-2], render(tail)


def ami_server(path: str) -> None:
    """Plays Asterisk's AMI on a loopback port (printed); streams the events in `path`."""
    rb.settle_malloc()
    parts = [
        (head.encode(), tail.encode())
        for head, tail in json.loads(Path(path).read_text(encoding="utf-8"))
    ]

    async def stream(writer: asyncio.StreamWriter, rate: float, count: int, skip: int) -> None:
        start = time.monotonic()
        sent = 0
        while sent < count:
            due = min(count, int((time.monotonic() - start) * rate) + 1)
            if due > sent:
                stamp = b"Timestamp: %.6f\r\n" % time.time()
                out: list[bytes] = []
                for i in range(sent, due):
                    head, tail = parts[(skip + i) % len(parts)]
                    out += (head, stamp, tail)
                writer.write(b"".join(out))
                sent = due
                if writer.transport.get_write_buffer_size() > 256 << 20:
                    break  # the client fell hopelessly behind
            await asyncio.sleep(0.0005)
        elapsed = time.monotonic() - start
        writer.write(
            b"Event: BenchDone\r\nPrivilege: system,all\r\nTimestamp: %.6f\r\n"
            b"Sent: %d\r\nSeconds: %.6f\r\n\r\n" % (time.time(), sent, elapsed)
        )

    async def client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):  # the client closed: its row is over
            await serve_client(reader, writer)

    async def serve_client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(BANNER.encode())
        block: dict[str, str] = {}
        tasks = set()
        while line := await reader.readline():
            text = line.decode().rstrip("\r\n")
            if text:
                key, _, value = text.partition(": ")
                block[key] = value
                continue
            action, block = block, {}
            writer.write(
                b"Response: Success\r\nActionID: "
                + action.get("ActionID", "").encode()
                + b"\r\nMessage: ok\r\n\r\n"
            )
            if action.get("Action") == "Login":
                writer.write(b"Event: FullyBooted\r\nPrivilege: system,all\r\n\r\n")
            elif action.get("Action") == "BenchStream":
                task = asyncio.ensure_future(
                    stream(
                        writer,
                        float(action["Rate"]),
                        int(action["Count"]),
                        int(action.get("Skip", "0")),
                    )
                )
                tasks.add(task)
                task.add_done_callback(tasks.discard)

    async def main() -> None:
        server = await asyncio.start_server(client, "127.0.0.1", 0)
        print(server.sockets[0].getsockname()[1], flush=True)
        await server.serve_forever()

    asyncio.run(main())


@dataclass
class LagSink(Sink):
    presence_lag: list[float] = field(default_factory=list)
    event_lag: list[float] = field(default_factory=list)
    done: asyncio.Event = field(default_factory=asyncio.Event)
    done_event: dict[str, str] = field(default_factory=dict)

    def on_event(self, event: Event) -> None:
        if event.get("Event") == "BenchDone":
            self.done_event = event
            self.done.set()
            return
        stamp = event.get("Timestamp")
        if stamp is None:
            return
        self.events += 1
        at = event_time(event)
        if apply_event(self.presence, self.directory, event, at):
            self.presence_lag.append(time.time() - float(stamp))
            self.presence_changes += 1
        self.call_changes += len(self.tracker.handle(event, at))
        self.event_lag.append(time.time() - float(stamp))


async def decide_forever(
    sink: LagSink, per_s: float, rng: random.Random, costs: list[float]
) -> None:
    """Routing decisions on the same loop, as RoutingDesk.plan makes them (no owner query),
    each plan drained at once (as if every ring failed at once: the most a call's routing
    costs the loop)."""
    directory = sink.directory
    names, shares = list(rb.BUSINESSES), list(rb.BUSINESSES.values())
    districts = [o for o, office in directory.offices.items() if office.kind != "city"]
    agents = list(directory.agents)
    while True:
        await asyncio.sleep(rng.expovariate(per_s))
        t = time.perf_counter()
        business, district = rng.choices(names, shares)[0], rng.choice(districts)
        plan = plan_call(
            directory,
            find_post(directory, "", business, district),
            business,
            district,
            sink.presence.snapshot(),
            rb.RING_TIMEOUT,
            owner=rng.choice(agents) if rng.random() < rb.OWNER_SHARE else None,
        )
        while plan.next_step() is not None:
            pass
        costs.append(time.perf_counter() - t)


def ms(seconds: float) -> float:
    return round(seconds * 1000, 3)


def lag_stats(values: list[float]) -> dict[str, float]:
    return {
        "count": len(values),
        "p50_ms": ms(rb.pct(values, 0.5)),
        "p99_ms": ms(rb.pct(values, 0.99)),
        "p999_ms": ms(rb.pct(values, 0.999)),
        "max_ms": ms(max(values)) if values else float("nan"),
    }


async def lag_runs(
    args: argparse.Namespace, directory: Directory, templates: Path, per_call: float, total: int
) -> list[dict[str, Any]]:
    server = subprocess.Popen(
        [sys.executable, __file__, "--ami-server", str(templates)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline())
        heads = [head for head, _ in json.loads(templates.read_text(encoding="utf-8"))]
        followed = [head.split("\r\n")[0].removeprefix("Event: ") in FOLLOWED for head in heads]
        return await lag_client(args, directory, port, per_call, followed)
    finally:
        server.terminate()
        server.wait()


async def lag_client(
    args: argparse.Namespace, directory: Directory, port: int, per_call: float, followed: list[bool]
) -> list[dict[str, Any]]:
    """`followed`: per event of the stream, whether the client follows it (receives it)."""
    total = len(followed)
    out = []
    skip = 0
    for calls_per_s in args.lag_rates:
        for decisions_per_s in (0.0, args.lag_decisions):
            rate = calls_per_s * per_call
            count = int(rate * args.lag_seconds)
            sink = LagSink(directory)
            # a busy centre's presence (router_bench's steady state), then the stream on top
            rb.Churn(directory, sink.presence, random.Random(args.seed + 3))
            client = AmiClient(
                "127.0.0.1",
                port,
                "bench",
                "pw",
                on_event=sink.on_event,
                events=FOLLOWED | {"BenchDone"},
            )
            await client.connect()
            await client.wait_fully_booted(5)
            costs: list[float] = []
            decider = None
            if decisions_per_s:
                decider = asyncio.ensure_future(
                    decide_forever(sink, decisions_per_s, random.Random(7), costs)
                )
            gc_before = [g["collections"] for g in gc.get_stats()]
            pauses: list[float] = []

            def gc_clock(phase: str, info: dict[str, int], pauses: list[float] = pauses) -> None:
                if phase == "start":
                    pauses.append(-time.perf_counter())
                elif pauses:
                    pauses[-1] += time.perf_counter()

            gc.callbacks.append(gc_clock)
            switches = resource.getrusage(resource.RUSAGE_SELF).ru_nivcsw
            load = os.getloadavg()[0]
            cpu = time.process_time()
            await client.action("BenchStream", Rate=rate, Count=count, Skip=skip % total)
            expected = sum(followed[(skip + i) % total] for i in range(count))
            skip += count
            await asyncio.wait_for(sink.done.wait(), args.lag_seconds * 10 + 30)
            cpu = time.process_time() - cpu
            gc.callbacks.remove(gc_clock)
            switches = resource.getrusage(resource.RUSAGE_SELF).ru_nivcsw - switches
            gc_runs = [g["collections"] - b for g, b in zip(gc.get_stats(), gc_before, strict=True)]
            if decider is not None:
                decider.cancel()
            client.close()
            sent, seconds = int(sink.done_event["Sent"]), float(sink.done_event["Seconds"])
            row = {
                "calls_per_s": calls_per_s,
                "events_per_s_asked": round(rate),
                "events_per_s_sent": round(sent / seconds),
                "events_sent": sent,
                "events": sink.events,  # received: the followed ones
                "complete": sent == count and sink.events == expected,
                "client_cpu_share": round(cpu / seconds, 3),
                "client_preempted": switches,  # involuntary context switches during the row
                "loadavg_1min_at_start": round(load, 2),
                "decisions_per_s": decisions_per_s,
                "decisions": len(costs),
                "decision_ms_mean": ms(statistics.fmean(costs)) if costs else None,
                "decision_ms_max": ms(max(costs)) if costs else None,
                "gc_collections_by_generation": gc_runs,
                "gc_pause_ms_max": ms(max(pauses)) if pauses else 0.0,
                "presence_lag": lag_stats(sink.presence_lag),
                "event_lag": lag_stats(sink.event_lag),
            }
            out.append(row)
            p = row["presence_lag"]
            print(
                f"lag at {calls_per_s:g} calls/s ({row['events_per_s_sent']:,} events/s sent), "
                f"decisions {decisions_per_s:g}/s: presence p50 {p['p50_ms']:.2f} ms p99 "
                f"{p['p99_ms']:.2f} ms max {p['max_ms']:.2f} ms (n={p['count']}); client CPU "
                f"{row['client_cpu_share']:.0%}"
                + (f"; a decision {row['decision_ms_mean']:.1f} ms" if costs else "")
                + ("" if row["complete"] else "; INCOMPLETE")
            )
    return out


# --- the run -------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=(
            "AMI ingestion benchmark: hotline's path from AMI bytes to presence and call "
            "records (hotline.pbx.ami._Utf8Protocol + plain_event + apply_event + "
            "CallTracker.handle) "
            "against raw panoramisk parsing of the same recorded-and-replicated event stream "
            "(goal >= 0.7x), then the lag from an event's send to presence applied over a "
            "real loopback AMI connection."
        ),
        epilog="Results go to bench/results/ami-<date>.json; method in docs/PERFORMANCE.md.",
    )
    parser.add_argument("--calls", type=int, default=1000, help="calls in the stream (1000)")
    parser.add_argument("--concurrency", type=int, default=200, help="calls overlapping (200)")
    parser.add_argument("--agents", type=int, default=2000, help="seats in the directory")
    parser.add_argument("--chunk", type=int, default=4096, help="bytes per read (4096)")
    parser.add_argument("--rounds", type=int, default=5, help="throughput rounds (5)")
    parser.add_argument(
        "--slice", type=int, default=32, help="reads per turn when rows take turns (32)"
    )
    parser.add_argument(
        "--lag-rates",
        type=lambda s: [float(x) for x in s.split(",")],
        default=[20.0, 200.0],
        help="lag mode: calls' worth of events per second, comma-separated (20,200)",
    )
    parser.add_argument(
        "--lag-seconds", type=float, default=10.0, help="lag mode: seconds per rate (10)"
    )
    parser.add_argument(
        "--lag-decisions",
        type=float,
        default=10.0,
        help="lag mode: routing decisions per second on the same loop, second pass (10)",
    )
    parser.add_argument("--no-lag", action="store_true", help="throughput only")
    parser.add_argument("--lag-only", action="store_true", help="lag mode only")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--tree", help="import routing/ and ivr/ from this folder (a patched scratch copy)"
    )
    parser.add_argument("--quick", action="store_true", help="a smoke run, a few seconds")
    parser.add_argument("--out", help="result file (default bench/results/ami-<date>.json)")
    parser.add_argument("--no-save", action="store_true", help="print only")
    parser.add_argument("--ami-server", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.ami_server:
        ami_server(args.ami_server)
        return
    if args.quick:
        args.calls, args.rounds, args.lag_seconds = 200, 2, 2.0
    rb.settle_malloc()
    directory = rb.build_directory(args.agents, args.seed)
    events = build_stream(directory, args.calls, args.concurrency, args.seed)
    wire = (BANNER + "".join(render(e) for e in events)).encode("utf-8")
    data = chunks(wire, args.chunk)
    per_call = (len(events) - 1) / args.calls
    kinds: dict[str, int] = {}
    for event in events:
        kinds[event["Event"]] = kinds.get(event["Event"], 0) + 1
    print(
        f"stream: {args.calls} calls ({args.concurrency} overlapping), {len(events):,} events "
        f"({per_call:.1f} per call), {len(wire) / 1e6:.1f} MB in {len(data):,} reads of "
        f"{args.chunk} B; directory {len(directory.agents)} seats"
    )
    result: dict[str, Any] = {
        "benchmark": "ami",
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "machine": rb.machine(),
        "tree": rb.tree_state(["routing", "ivr"]),
        "stream": {
            "calls": args.calls,
            "concurrency": args.concurrency,
            "events": len(events),
            "events_per_call": round(per_call, 2),
            "bytes": len(wire),
            "chunk": args.chunk,
            "reads": len(data),
            "event_kinds": dict(sorted(kinds.items(), key=lambda kv: -kv[1])),
        },
        "goal": f"followed/raw (the production path) events per second >= {GOAL}",
    }
    scratch = tempfile.TemporaryDirectory(prefix="ami_bench-")
    templates = Path(scratch.name) / "events.json"
    templates.write_text(json.dumps([split_for_stamp(e) for e in events[1:]]), encoding="utf-8")
    total = len(events) - 1
    # The stream's event dicts would sit in this process's heap, to be traversed by every full
    # garbage collection of the rows measured here: only the bytes are kept.
    del events, wire
    gc.collect()
    try:
        if not args.lag_only:
            result["throughput"] = throughput(args, directory, data)
            s = result["throughput"]["summary"]
            print(
                f"\nmedian over {args.rounds} rounds: raw {s['raw_events_per_s']:,}/s, "
                f"followed (the production path) {s['followed_events_per_s']:,}/s; "
                f"followed/raw {s['followed/raw']:.2f} (goal >= {GOAL}: "
                f"{'met' if s['goal_met'] else 'NOT met'}); every event converted: hotline/raw "
                f"{s['hotline/raw']:.2f}, manager/raw {s['manager/raw']:.2f}; us/event: "
                + ", ".join(f"{row} {s[f'{row}_us_per_event']:.1f}" for row in ROWS)
            )
        del data
        gc.collect()
        if not args.no_lag:
            result["lag"] = asyncio.run(lag_runs(args, directory, templates, per_call, total))
    finally:
        scratch.cleanup()
    if not args.no_save:
        stamp = dt.datetime.now().strftime("%Y-%m-%dT%H%M%S")
        out = Path(args.out) if args.out else RESULTS / f"ami-{stamp}.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        print(f"written: {out}")


if __name__ == "__main__":
    main()
