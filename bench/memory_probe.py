"""Memory probe: thousands of calls through the controller in one process, no Asterisk.

    python bench/memory_probe.py                       # 5,000 calls, snapshots at 1,000 and 5,000
    python bench/memory_probe.py --calls 3000 --marks 500,1000,3000 --concurrent 60

Builds the controller as `hotline serve` does (`Controller(settings)` from config/hotline.toml,
the dashboard on), with its files in a scratch folder, and plays Asterisk's two sides itself:

- AGI: a scripted Asterisk per call over loopback to the controller's real FastAgiServer and
  CallHandler (as tests/unit/test_injection.py `fastagi_call`), answering like res_agi.c;
- AMI: the events such a call produces, as panoramisk Messages through `AmiClient._dispatch`
  (so the event filter and conversion run too): Newchannel of a `Local/...;1` `;2` pair (the
  soak's callers, hotline/sandbox/load.py), Newstate, the agent leg's Newchannel, DialBegin/DialEnd,
  BridgeEnter/Leave, Hangup, and the seats' DeviceStateChange; the call's recording (a small
  finished WAV, as MixMonitor leaves it) is in the folder before the hang-up, so the recorder
  catalogues it.

The callers follow the soak's mix: self-service (2, then 1, then hangs up), an agent (0, the
agent answers, hangs up first, the caller rates 2 in the in-call survey; every 7th ring is
not answered) and a caller who gives up during the recording notice. Waits are scaled down
(--scale); wrap-up is off so the four agents stay busy but free.

At each mark (calls ended) the calls in flight finish, the write-behind queue and the
recorder drain, `gc.collect()` runs and a tracemalloc snapshot is taken. Printed per mark: RSS
split into the brk heap, other anonymous mappings and files; glibc malloc's bytes in use and
free-but-kept (mallinfo2, every arena); Python's object arenas; the RSS after malloc_trim(0).
Then the controller's per-call structures (all 0 when no call is up), the mappings that grew,
and the tracemalloc difference between the first and the last mark by traceback, with bytes
per call. What grows in proportion to the calls in Python's heap or in malloc's bytes in use
is a leak; a cache shows as a step that stops; memory malloc holds free is the allocator's.
--no-trace leaves tracemalloc off (its snapshots are tens of MB, in the RSS). See
docs/RELIABILITY.md "Memory over many calls".
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import dataclasses
import gc
import itertools
import json
import logging
import os
import sys
import tempfile
import time
import tracemalloc
import wave
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from panoramisk.message import Message
from sqlalchemy import func, select

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from hotline.controller.app import Controller  # noqa: E402
from hotline.pbx import agi as agi_module  # noqa: E402
from hotline.settings import Settings, load_settings  # noqa: E402
from hotline.store.models import Call, IvrStep, Leg, Recording, RouteDecision, Survey  # noqa: E402
from recordings import naming  # noqa: E402

CLOCK = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)  # a Tuesday 10:00 in Asia/Shanghai: open
EOL = "\r\n"
MIX = {"self-service": 5, "agent": 3, "gives-up": 2}  # as bench/soak.py


@dataclass(frozen=True)
class Story:
    keys: dict[str, str]  # prompt -> the key pressed while it plays
    hang_up_at: str = ""  # prompt during which the caller hangs up
    hang_up_after: int = 0  # ... or after this many commands (0: never)


STORIES = {
    "self-service": Story({"main_menu": "2", "policy_menu": "1"}, hang_up_after=14),
    "agent": Story({"main_menu": "0", "survey_ask": "2"}),
    "gives-up": Story({}, hang_up_at="recording_notice"),
}


def words(line: str) -> list[str]:
    """A command line's words without their quotes (enough for the commands hotline sends)."""
    return [w.strip('"') for w in line.split()]


class FakeAsterisk:
    """Both of Asterisk's sides for the probe's calls: AMI events into the controller, and
    the AGI conversation of each call over loopback."""

    def __init__(self, controller: Controller, port: int, recordings: Path, scale: float) -> None:
        self.controller = controller
        self.port = port
        self.recordings = recordings
        self.scale = scale  # seconds of waiting per second Asterisk would wait
        self.ids = itertools.count(1)
        self.dials = itertools.count(1)

    def event(self, name: str, **headers: str) -> None:
        """One AMI event, as the controller's AMI client receives it from panoramisk."""
        lines = [f"Event: {name}", "Privilege: call,all", f"Timestamp: {time.time():.6f}"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        message = Message.from_line(EOL.join(lines))
        assert message is not None
        self.controller.ami._dispatch(message)

    def uniqueid(self) -> str:
        return f"1795000000.{next(self.ids)}"

    def channel_events(self, uid: str, linkedid: str, channel: str, **more: str) -> None:
        self.event(
            "Newchannel",
            Channel=channel,
            ChannelState="0",
            ChannelStateDesc="Down",
            Uniqueid=uid,
            Linkedid=linkedid,
            **more,
        )

    def hangup(self, uid: str, linkedid: str, channel: str) -> None:
        self.event(
            "Hangup",
            Channel=channel,
            Uniqueid=uid,
            Linkedid=linkedid,
            Cause="16",
            **{"Cause-txt": "Normal Clearing"},
        )

    async def call(self, number: str, story: Story) -> None:
        """One caller on a Local channel pair, from Newchannel to Hangup."""
        linkedid, uid2 = self.uniqueid(), self.uniqueid()
        local = f"Local/12333@hotline-inbound-{int(linkedid.split('.')[1]):08x}"
        half1, half2 = f"{local};1", f"{local};2"
        inbound = {
            "CallerIDNum": number,
            "CallerIDName": "soak",
            "Context": "hotline-inbound",
            "Exten": "12333",
        }
        self.channel_events(linkedid, linkedid, half1, **inbound)
        self.channel_events(uid2, linkedid, half2, **inbound)
        self.event("VarSet", Channel=half2, Uniqueid=uid2, Linkedid=linkedid, Variable="X")
        for uid, channel in ((uid2, half2), (linkedid, half1)):
            self.event(
                "Newstate",
                Channel=channel,
                Uniqueid=uid,
                Linkedid=linkedid,
                ChannelState="6",
                ChannelStateDesc="Up",
            )
        self.write_recording(linkedid)  # MixMonitor's file, from the answer
        try:
            await self.agi(linkedid, uid2, half2, number, story)
        finally:
            self.hangup(uid2, linkedid, half2)
            self.hangup(linkedid, linkedid, half1)

    def write_recording(self, linkedid: str) -> None:
        with wave.open(str(self.recordings / naming.file_name(linkedid)), "wb") as wav:
            wav.setnchannels(1)
            wav.setsampwidth(2)
            wav.setframerate(8000)
            wav.writeframes(b"\0\0" * 800)

    async def agi(self, linkedid: str, uid: str, channel: str, number: str, story: Story) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        headers = (
            "agi_network: yes\nagi_network_script: 12333\n"
            f"agi_request: agi://127.0.0.1:{self.port}/12333\nagi_channel: {channel}\n"
            f"agi_language: en\nagi_type: Local\nagi_uniqueid: {uid}\nagi_version: 22.1.0\n"
            f"agi_callerid: {number}\nagi_calleridname: soak\nagi_dnid: 12333\n"
            "agi_context: hotline-inbound\nagi_extension: 12333\nagi_priority: 3\n\n"
        )
        writer.write(headers.encode())
        pressed: set[str] = set()
        commands = 0
        dialstatus = ""
        try:
            while line := await asyncio.wait_for(reader.readline(), 30):
                commands += 1
                w = words(line.decode("utf-8", "replace"))
                verb = " ".join(w[:2])
                if story.hang_up_after and commands > story.hang_up_after:
                    writer.write(b"HANGUP\n511 Command Not Permitted on a dead channel\n")
                    break
                if verb == "STREAM FILE":
                    prompt = w[2].rsplit("/", 1)[-1]
                    if prompt == story.hang_up_at:
                        writer.write(b"HANGUP\n200 result=-1 endpos=1200\n")
                        break
                    key = story.keys.get(prompt, "")
                    if key and prompt not in pressed and len(w) > 3 and key in w[3]:
                        pressed.add(prompt)
                        writer.write(f"200 result={ord(key)} endpos=800\n".encode())
                    else:
                        writer.write(b"200 result=0 endpos=8000\n")
                elif verb == "WAIT FOR":
                    await asyncio.sleep(int(w[3]) / 1000 * self.scale)
                    writer.write(b"200 result=0\n")
                elif verb == "GET VARIABLE":
                    value = {"CHANNEL(linkedid)": linkedid, "DIALSTATUS": dialstatus}.get(w[2])
                    writer.write(
                        f"200 result=1 ({value})\n".encode() if value else b"200 result=0\n"
                    )
                elif verb == "EXEC Dial":
                    dialstatus = await self.dial(linkedid, uid, channel, w[2])
                    writer.write(b"200 result=0\n")
                else:
                    writer.write(b"200 result=0\n")
            await writer.drain()
        except (ConnectionError, TimeoutError):
            pass
        finally:
            writer.close()

    async def dial(self, linkedid: str, uid: str, channel: str, data: str) -> str:
        """Dial(PJSIP/<seat>,...): the agent leg's events; every 7th ring is not answered."""
        endpoint = data.split(",", 1)[0].split("/", 1)[1]
        leg, n = self.uniqueid(), next(self.dials)
        leg_channel = f"PJSIP/{endpoint}-{n:08x}"
        device = f"PJSIP/{endpoint}"
        self.channel_events(leg, linkedid, leg_channel, Context="hotline-agent-leg", Exten="s")
        self.event(
            "DialBegin",
            Channel=channel,
            Uniqueid=uid,
            Linkedid=linkedid,
            DestChannel=leg_channel,
            DestUniqueid=leg,
            DestLinkedid=linkedid,
            DialString=endpoint,
        )
        self.event("DeviceStateChange", Device=device, State="RINGING")
        status = "NOANSWER" if n % 7 == 0 else "ANSWER"
        await asyncio.sleep(2 * self.scale)
        ends = {"DestChannel": leg_channel, "DestUniqueid": leg, "DestLinkedid": linkedid}
        self.event("DialEnd", Channel=channel, Uniqueid=uid, DialStatus=status, **ends)
        if status == "ANSWER":
            self.event("DeviceStateChange", Device=device, State="INUSE")
            for u, c in ((uid, channel), (leg, leg_channel)):
                self.event("BridgeEnter", Channel=c, Uniqueid=u, Linkedid=linkedid)
            await asyncio.sleep(12 * self.scale)  # the conversation
            for u, c in ((leg, leg_channel), (uid, channel)):
                self.event("BridgeLeave", Channel=c, Uniqueid=u, Linkedid=linkedid)
        self.hangup(leg, linkedid, leg_channel)
        self.event("DeviceStateChange", Device=device, State="NOT_INUSE")
        return status


def probe_settings(scratch: Path, config: Path, web: bool, process: bool) -> Settings:
    """config/hotline.toml with the controller's files in `scratch`, AGI on a free port."""
    s = load_settings(config)
    recordings = scratch / "recordings"
    recordings.mkdir()
    return dataclasses.replace(
        s,
        database_url=f"sqlite:///{scratch / 'hotline.db'}",
        log_file=None,
        agi=dataclasses.replace(s.agi, port=0),
        lookups=tuple(dataclasses.replace(x, database=scratch / f"{x.name}.db") for x in s.lookups),
        recordings=dataclasses.replace(
            s.recordings, directory=recordings, process_after_call=process
        ),
        routing=dataclasses.replace(s.routing, wrap_up_seconds=0),
        web=dataclasses.replace(s.web, enabled=web, port=0),
    )


def structures(c: Controller) -> dict[str, int]:
    """The sizes of what the controller keeps per call (all 0 with no call up), and caches."""
    out = {
        "tracker.calls": len(c.trackers["main"].calls),
        "tracker.legs": len(c.trackers["main"].legs),
        "tracker.answered_calls": len(c.trackers["main"].answered_calls),
        "calls.runs": len(c.calls.runs),
        "routing.plans": c.routing.planned_calls(),
        "routing.claimed": len(c.routing.claimed),
        "routing.line": len(c.routing.line.waiters),
        "recorder.tasks": len(c.recorder.tasks),
        "agi.tasks": len(c.agi.tasks),
        "agi.sessions": len(c.agi.sessions),
        "store.queue": c.store.queue.qsize(),
        "leader (recorder on)": int(c.leader.is_leader),
        "presence.wrap_ends": len(c.presence._wrap_ends),
        "cache agi._FORMATTED": len(agi_module._FORMATTED),
        "cache services._files": len(c.calls.services._files),
    }
    if c.web is not None:
        out["board.calls"] = len(c.web.board.calls)
        out["board.ended (last hour)"] = len(c.web.board.ended)
        out["monitor.live"] = len(c.web.monitor.live)
    return out


def mappings_kb() -> dict[str, int]:
    """RSS of each mapping, by its start and name ("start name": a heap that grows keeps
    its key)."""
    out: dict[str, int] = {}
    where = ""
    for line in Path("/proc/self/smaps").read_text().splitlines():
        head = line.split(None, 5)
        if "-" in head[0] and not head[0].endswith(":"):
            where = f"{head[0].split('-')[0]} {head[5] if len(head) > 5 else '[anon]'}"
        elif head[0] == "Rss:":
            out[where] = int(head[1])
    return out


def rss_parts_kb(mappings: dict[str, int]) -> dict[str, int]:
    """RSS by kind of mapping: the main heap (brk: malloc's main arena), other anonymous
    mappings (threads' malloc arenas, Python's object arenas, large blocks) and files."""
    parts = {"heap": 0, "anon": 0, "file": 0}
    for where, kb in mappings.items():
        name = where.split(" ", 1)[1]
        parts["heap" if name == "[heap]" else "file" if name.startswith("/") else "anon"] += kb
    return parts


def pymalloc_arenas() -> int:
    """Python's object allocator: the arenas it holds now; 0 when it cannot tell (with
    tracemalloc on, CPython prints no statistics)."""
    with tempfile.TemporaryFile() as out:  # (it prints to the C stderr only)
        saved = os.dup(2)
        try:
            sys.stderr.flush()
            os.dup2(out.fileno(), 2)
            sys._debugmallocstats()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        out.seek(0)
        for line in out.read().decode().splitlines():
            if line.startswith("# arenas allocated current"):
                return int(line.split("=")[1].strip())
    return 0


def rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena",
            "ordblks",
            "smblks",
            "hblks",
            "hblkhd",
            "usmblks",
            "fsmblks",
            "uordblks",
            "fordblks",
            "keepcost",
        )
    ]


def malloc_trim() -> None:
    """Hand glibc's free memory back to the system (every arena, also inside them)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def malloc_kb() -> tuple[int, int]:
    """glibc's heap: (in use, free but kept) in kB; what tracemalloc does not see (SQLite's
    page caches, OpenSSL, ...) shows in the first, fragmentation in the second."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallinfo2.restype = _MallInfo2
    except (OSError, AttributeError):
        return 0, 0
    info = libc.mallinfo2()
    return (info.uordblks + info.hblkhd) // 1024, info.fordblks // 1024


@dataclass
class Mark:
    calls: int
    rss_kb: int
    traced: int
    malloc_kb: tuple[int, int]
    parts_kb: dict[str, int]
    arenas: int
    trimmed_kb: int  # RSS after malloc_trim: what is really held
    mappings: dict[str, int] = field(repr=False)
    structures: dict[str, int]
    snapshot: tracemalloc.Snapshot | None = field(repr=False)  # the first and last only
    types: dict[str, int] = field(repr=False)


def count_types() -> dict[str, int]:
    types: dict[str, int] = {}
    for o in gc.get_objects():
        name = type(o).__qualname__
        types[name] = types.get(name, 0) + 1
    return types


async def quiesce(c: Controller) -> None:
    """Calls in flight ended; the write-behind queue and the recorder's work done."""
    while c.agi.tasks or c.recorder.tasks or c.store.queue.qsize():
        await c.store.flush()
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.2)


async def probe(args: argparse.Namespace, scratch: Path, say: Callable[[str], None]) -> list[Mark]:
    settings = probe_settings(scratch, Path(args.config), not args.no_web, args.process)
    controller = Controller(settings)
    controller.calls.services.now = lambda: CLOCK  # office hours: agents answer
    controller.ami.logged_in = True
    await controller.agi.start()
    assert controller.agi.server is not None
    port = controller.agi.server.sockets[0].getsockname()[1]
    await controller.leader.renew()  # the lone controller leads: the recorder catalogues

    async def lead() -> None:  # the lease runs out unless renewed, as the controller's clock does
        while True:
            await asyncio.sleep(controller.leader.every)
            await controller.leader.renew()

    readers: list[asyncio.Task[None]] = [asyncio.create_task(lead())]
    if controller.web is not None:
        for _ in range(args.board_clients):  # a browser watching the board
            queue = controller.web.hub.subscribe()

            async def read(q: asyncio.Queue[bytes] = queue) -> None:
                while True:
                    await q.get()

            readers.append(asyncio.create_task(read()))
    fake = FakeAsterisk(controller, port, settings.recordings.directory, args.scale)
    plays = [name for name, weight in MIX.items() for _ in range(weight)]
    marks: list[Mark] = []
    slots = asyncio.Semaphore(args.concurrent)
    done = 0

    async def one(n: int) -> None:
        nonlocal done
        async with slots:
            await fake.call(f"1370{n:07d}", STORIES[plays[n % len(plays)]])
        done += 1

    started = time.monotonic()
    for mark in args.marks:
        await asyncio.gather(*(one(n) for n in range(done, mark)))
        await quiesce(controller)
        gc.collect()
        snap, traced = None, 0
        if tracemalloc.is_tracing():  # (a snapshot is tens of MB itself: the middle ones go)
            if len(marks) > 1:
                marks[-1].snapshot = None
            snap = tracemalloc.take_snapshot().filter_traces(
                [
                    tracemalloc.Filter(False, tracemalloc.__file__),
                    tracemalloc.Filter(False, __file__),
                ]
            )
            traced = sum(stat.size for stat in snap.statistics("filename"))
        heap, maps, arenas, rss = malloc_kb(), mappings_kb(), pymalloc_arenas(), rss_kb()
        parts = rss_parts_kb(maps)
        malloc_trim()
        trimmed = rss_kb()
        marks.append(
            Mark(
                done,
                rss,
                traced,
                heap,
                parts,
                arenas,
                trimmed,
                maps,
                structures(controller),
                snap,
                count_types(),
            )
        )
        say(
            f"{done:6d} calls {time.monotonic() - started:6.1f} s  RSS {rss / 1024:5.1f} MB"
            f" (brk heap {parts['heap'] / 1024:5.1f}, anon {parts['anon'] / 1024:5.1f}, files"
            f" {parts['file'] / 1024:4.1f})  malloc: in use {heap[0] / 1024:5.1f} MB, free"
            f" {heap[1] / 1024:5.1f} MB"
            + (f"  pymalloc arenas {arenas:4d}" if arenas else "")
            + f"  trimmed RSS {trimmed / 1024:5.1f} MB"
            + (f"  traced {traced / 2**20:5.2f} MiB" if traced else "")
        )
    for task in readers:
        task.cancel()
    await controller.agi.close()
    controller.store.close()
    await controller.recorder.close()
    with controller.sessions() as session:  # what the calls went through, as stored
        stored = {
            model.__tablename__: session.scalar(select(func.count()).select_from(model))
            for model in (Call, Leg, IvrStep, RouteDecision, Recording, Survey)
        }
    say("stored: " + ", ".join(f"{table} {n}" for table, n in stored.items()))
    return marks


def report(marks: list[Mark], top: int, frames: int) -> dict[str, Any]:
    first, last = marks[0], marks[-1]
    calls = last.calls - first.calls
    print(f"\nper-call structures with no call up (at {', '.join(str(m.calls) for m in marks)}):")
    for name in first.structures:
        print(f"  {name:28s} " + "  ".join(f"{m.structures[name]:6d}" for m in marks))
    print("\nRSS: " + " -> ".join(f"{m.rss_kb / 1024:.1f} MB ({m.calls})" for m in marks))
    rss = (last.rss_kb - first.rss_kb) * 1024
    trimmed = (last.trimmed_kb - first.trimmed_kb) * 1024
    print(
        f"RSS {first.calls} -> {last.calls} calls: {rss / calls:+.1f} bytes/call; after "
        f"malloc_trim: {trimmed / calls:+.1f} bytes/call"
    )
    grew = sorted(
        ((kb - first.mappings.get(where, 0), where) for where, kb in last.mappings.items()),
        reverse=True,
    )
    new = sum(1 for where in last.mappings if where not in first.mappings)
    print(f"mappings {len(first.mappings)} -> {len(last.mappings)} ({new} new); grew most:")
    for kb, where in grew[:5]:
        print(f"  {kb:+7d} kB  {where}")
    growth = last.traced - first.traced
    growers = []
    diff = []
    if first.snapshot is not None and last.snapshot is not None:
        print(
            f"traced heap {first.traced / 2**20:.2f} -> {last.traced / 2**20:.2f} MiB over "
            f"{calls} calls: {growth / calls:+.1f} bytes/call"
        )
        diff = last.snapshot.compare_to(first.snapshot, "traceback")
        print(f"\ntop {top} growers by traceback ({first.calls} -> {last.calls} calls):")
    for stat in diff[:top]:
        per_call = stat.size_diff / calls
        print(
            f"  {stat.size_diff / 1024:+9.1f} KiB  {stat.count_diff:+7d} blocks  "
            f"{per_call:+7.1f} B/call"
        )
        tb = list(reversed(stat.traceback))[:frames]
        for frame in tb:
            print(f"      {frame.filename.replace(str(REPO) + '/', '')}:{frame.lineno}")
        growers.append(
            {
                "bytes": stat.size_diff,
                "blocks": stat.count_diff,
                "bytes_per_call": round(per_call, 1),
                "where": [f"{f.filename.replace(str(REPO) + '/', '')}:{f.lineno}" for f in tb],
            }
        )
    grown = {t: n - first.types.get(t, 0) for t, n in last.types.items()}
    more = sorted(((n, t) for t, n in grown.items() if n > 0), reverse=True)[:top]
    print(f"\nobjects by type, more at {last.calls} than at {first.calls}:")
    for n, t in more:
        print(f"  {n:+8d}  {t}  ({n / calls:.3f}/call)")
    return {
        "marks": [
            {
                "calls": m.calls,
                "rss_kb": m.rss_kb,
                "trimmed_rss_kb": m.trimmed_kb,
                "traced": m.traced,
                "malloc_in_use_kb": m.malloc_kb[0],
                "malloc_free_kb": m.malloc_kb[1],
                "rss_parts_kb": m.parts_kb,
                "pymalloc_arenas": m.arenas,
                "structures": m.structures,
            }
            for m in marks
        ],
        "traced_bytes_per_call": round(growth / calls, 1),
        "rss_bytes_per_call": round(rss / calls, 1),
        "trimmed_rss_bytes_per_call": round(trimmed / calls, 1),
        "growers": growers,
        "types": {t: n for n, t in more},
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-c", "--config", default=str(REPO / "config" / "hotline.toml"))
    parser.add_argument("--calls", type=int, default=5000, help="calls in all (the last mark)")
    parser.add_argument(
        "--marks", default="1000", help="calls ended at each earlier snapshot (comma-separated)"
    )
    parser.add_argument("--concurrent", type=int, default=50, help="callers up at once")
    parser.add_argument("--scale", type=float, default=0.002, help="waits: s per Asterisk s")
    parser.add_argument("--no-web", action="store_true", help="the dashboard off")
    parser.add_argument("--board-clients", type=int, default=1, help="browsers on the board")
    parser.add_argument("--process", action="store_true", help="archive recordings (ffmpeg)")
    parser.add_argument("--frames", type=int, default=8, help="traceback frames kept/shown")
    parser.add_argument("--top", type=int, default=12, help="growers shown")
    parser.add_argument("--json", type=Path, help="write the numbers here too")
    parser.add_argument(
        "--no-trace", action="store_true", help="no tracemalloc: RSS and structures only"
    )
    args = parser.parse_args()
    args.marks = sorted({*(int(m) for m in args.marks.split(",") if m), args.calls})
    logging.basicConfig(level=logging.WARNING, format="%(name)s %(message)s")
    if not args.no_trace:
        tracemalloc.start(args.frames)
    with tempfile.TemporaryDirectory(prefix="memory-probe-") as scratch:
        marks = asyncio.run(probe(args, Path(scratch), print))
    if len(marks) < 2:
        print("one mark only: nothing to compare")
        return 1
    result = report(marks, args.top, args.frames)
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
