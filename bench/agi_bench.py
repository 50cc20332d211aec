"""FastAGI benchmark: hotline's server against a bare panoramisk app and a pyst2 script per call.

A load generator plays Asterisk's res_agi: it opens N sessions (at most C at a time), sends
realistic agi_* headers for the network script "12333", and answers every command the server
sends as Asterisk would: STREAM FILE -> `200 result=0 endpos=1234` (played to the end), GET DATA
and WAIT FOR DIGIT -> the walk's next key (then 0, a person), EXEC Dial -> `200 result=0`,
GET VARIABLE DIALSTATUS -> `200 result=1 (ANSWER)`, CHANNEL(linkedid) -> the uniqueid, any other
variable -> `200 result=1 (x)`, SET VARIABLE -> `200 result=1`, anything else -> `200 result=0`.
Servers under test, each in its own process on a loopback port:

  h  hotline: `hotline.pbx.agi.FastAgiServer` running the real 12333 flow (`FlowRun` + `run_call`
     over an
     `AgiChannel`, services and seat directory built from config/hotline.toml by the controller,
     the clock fixed in office hours, the routing decision made from presence), storing
     nothing: the routing desk has no database. The issue's subject.
  k  hotline's whole production handler, `Controller._on_agi`: h plus a CHANNEL(linkedid) read,
     the first-inquiry read, and the routing decision and the call's IVR path written to SQLite
     (a scratch database).
  In both, every claim on an agent succeeds: the generator answers each Dial at once, and with
  50 calls to one post the claims would otherwise send calls down different paths.
  p  a bare panoramisk `fast_agi.Application` whose async route for "12333" replays, with
     `request.send_command`, the exact lines hotline sent for the walk (recorded from one h
     session at start-up).
  s  hotline's session layer alone: `AgiSession.command` replaying the same lines, no flow
     (a diagnostic: p -> s is the session layer's cost, s -> h the flow runtime's).
  c  process per call: bench/pyst2_agi.py (pyst2's classic `AGI()` on stdin/stdout replaying the
     same lines), spawned once per session; the generator speaks AGI directly over the child's
     pipes (no TCP front), as Asterisk's AGI(script) does.

Measured per server: sessions/s (completed sessions over the wall time spent on that server),
each command's latency (from the generator writing a reply, or the headers, to receiving the
server's next command line: the server's turn-around) with p50/p99, the first command's p50
(connection or process start-up included), the server's CPU time per session (its threads'
/proc/PID/task/*/schedstat; for c the reaped children's rusage) and the generator's own CPU use
(near 100 % of a core, the generator and not the server would be the limit). A session counts
as a failure unless the server closed right after `SET VARIABLE HOTLINE_HANDLED 1`, having sent
as many commands as the recorded walk.

Fairness on a small noisy machine: the TCP servers run in interleaved slices (--slices, the
order rotating) so that all see the same background load; each gets unmeasured warm-up sessions
first; c runs afterwards as one phase with fewer sessions. Every process frees one 1 MiB block
at start (settle_malloc: otherwise each asyncio read costs an mmap/munmap in some processes and
not in others). Nothing is pinned unless --pin.

    python bench/agi_bench.py --sessions 2000 --concurrency 50    # the documented run
    python bench/agi_bench.py --quick                             # a smoke run, a few seconds
    python bench/agi_bench.py --tree /tmp/copy --servers hsp      # another copy of the tree

Results are printed and written to bench/results/agi-<date>.json. See docs/PERFORMANCE.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import platform
import resource
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
RESULTS = BENCH / "results"
CLASSIC_SCRIPT = BENCH / "pyst2_agi.py"
SCRIPT = "12333"
HANDLED = ("SET", "VARIABLE", "HOTLINE_HANDLED", "1")
AGENT_KEY = "0"  # a person, from any menu: the flow routes, Dial is answered, the flow ends
CALLER = "13805710000"  # one caller number for all: the same district, the same walk
CLOCK = dt.datetime(2026, 3, 10, 2, 0, tzinfo=dt.UTC)  # a Tuesday 10:00 in Asia/Shanghai: open
STATIC_REPLIES: dict[bytes, tuple[bytes, str]] = {}  # command line -> (reply, verb)
SESSION_TIMEOUT = 60.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
NAMES = {
    "h": "hotline (flow)",
    "k": "hotline controller",
    "p": "bare panoramisk",
    "s": "hotline session only",
    "c": "pyst2 process per call",
}
SERVE = {"h": "hotline", "k": "hotline-control", "p": "panoramisk", "s": "hotline-replay"}


# --- the generator: Asterisk's side of AGI --------------------------------------------------


def agi_headers(call: Call, network: bool, port: int = 4573) -> bytes:
    """The agi_* block Asterisk 22 sends for a call from the callers' trunk to 12333."""
    lines = []
    if network:
        lines += [
            "agi_network: yes",
            f"agi_network_script: {SCRIPT}",
            f"agi_request: agi://127.0.0.1:{port}/{SCRIPT}",
        ]
    else:
        lines.append(f"agi_request: {CLASSIC_SCRIPT}")
    lines += [
        f"agi_channel: PJSIP/callers-{call.n:08x}",
        "agi_language: en",
        "agi_type: PJSIP",
        f"agi_uniqueid: {call.uniqueid}",
        "agi_version: 22.1.0",
        f"agi_callerid: {CALLER}",
        "agi_calleridname: unknown",
        "agi_callingpres: 0",
        "agi_callingani2: 0",
        "agi_callington: 0",
        "agi_callingtns: 0",
        f"agi_dnid: {SCRIPT}",
        "agi_rdnis: unknown",
        "agi_context: hotline-inbound",
        f"agi_extension: {SCRIPT}",
        "agi_priority: 3",
        "agi_enhanced: 0.0",
        "agi_accountcode: ",
        f"agi_threadid: {140000000000 + call.n}",
    ]
    return ("\n".join(lines) + "\n\n").encode()


def words(line: str) -> list[str]:
    """A command line's words with their quotes taken off (enough for our commands)."""
    return [w.strip('"') for w in line.split()]


@dataclass
class Stats:
    """What one phase (one server, one size) measured."""

    latencies: list[float] = field(default_factory=list)  # every command's turn-around, s
    first: list[float] = field(default_factory=list)  # headers -> first command, s
    by_verb: dict[str, list[float]] = field(default_factory=dict)
    durations: list[float] = field(default_factory=list)  # session start -> server closed, s
    ok: int = 0
    failures: int = 0
    reasons: dict[str, int] = field(default_factory=dict)

    def fail(self, reason: str) -> None:
        self.failures += 1
        self.reasons[reason] = self.reasons.get(reason, 0) + 1


class Call:
    """One AGI conversation, from Asterisk's side, whatever carries it (TCP or pipes)."""

    __slots__ = (
        "buffer",
        "commands",
        "keys",
        "last",
        "n",
        "record",
        "sent_at",
        "started",
        "stats",
    )

    def __init__(self, walk: str, stats: Stats, n: int, record: list[str] | None = None) -> None:
        self.n = n  # the call's number: its uniqueid and channel name
        self.buffer = b""
        self.keys = iter(walk)
        self.commands = 0
        self.last = b""  # the last command line
        self.stats = stats
        self.record = record
        self.started = time.perf_counter()
        self.sent_at = self.started

    def feed(self, data: bytes) -> bytes:
        """The server's bytes in, Asterisk's replies out (one per complete command line)."""
        now = time.perf_counter()
        buffer = self.buffer + data if self.buffer else data
        out = b""
        begin = 0
        stats = self.stats
        while (end := buffer.find(b"\n", begin)) >= 0:
            raw, begin = buffer[begin:end].rstrip(b"\r"), end + 1
            if not raw:
                continue
            latency = now - self.sent_at
            stats.latencies.append(latency)
            if self.commands == 0:
                stats.first.append(latency)
            self.commands += 1
            self.last = raw
            if self.record is not None:
                self.record.append(raw.decode("utf-8", "replace"))
            known = STATIC_REPLIES.get(raw)
            if known is None:
                reply, verb, static = self.answer(raw.decode("utf-8", "replace"))
                if static:
                    STATIC_REPLIES[raw] = (reply, verb)
            else:
                reply, verb = known
            by_verb = stats.by_verb.get(verb)
            if by_verb is None:
                by_verb = stats.by_verb[verb] = []
            by_verb.append(latency)
            out += reply
        self.buffer = buffer[begin:]
        return out

    def answer(self, line: str) -> tuple[bytes, str, bool]:
        """res_agi's reply to one command, the verb to file its latency under, and whether
        the reply depends on the command line alone (then it is remembered)."""
        w = words(line)
        verb = " ".join(w[:2]).upper()
        if verb == "STREAM FILE":
            return b"200 result=0 endpos=1234\n", verb, True  # played to the end, no key
        if verb == "GET DATA":
            key = self.key()
            reply = f"200 result={key}\n" if key else "200 result= (timeout)\n"
            return reply.encode(), verb, False
        if verb == "WAIT FOR":  # WAIT FOR DIGIT: the key's ASCII code, 0 for none
            key = self.key()
            return f"200 result={ord(key) if key else 0}\n".encode(), "WAIT FOR DIGIT", False
        if verb.startswith("EXEC"):
            return b"200 result=0\n", verb, True  # Dial: the agent answered, talked, hung up
        if verb == "GET VARIABLE":
            name = w[2] if len(w) > 2 else ""
            if name == "CHANNEL(linkedid)":
                return f"200 result=1 ({self.uniqueid})\n".encode(), verb, False
            value = "ANSWER" if name == "DIALSTATUS" else "x"
            return f"200 result=1 ({value})\n".encode(), verb, True
        if verb == "SET VARIABLE":
            return b"200 result=1\n", verb, True
        return b"200 result=0\n", w[0].upper() if w else "?", True  # ANSWER, anything else

    @property
    def uniqueid(self) -> str:
        return f"1716371234.{self.n}"

    def key(self) -> str:
        """The caller's next key: the walk's ('-' for none: a timeout), then 0 for a person."""
        key = next(self.keys, AGENT_KEY)
        return "" if key == "-" else key

    def finish(self, expected_commands: int | None, problem: str | None = None) -> None:
        stats = self.stats
        stats.durations.append(time.perf_counter() - self.started)
        if problem:
            stats.fail(problem)
        elif tuple(words(self.last.decode("utf-8", "replace"))) != HANDLED:
            stats.fail("closed before SET VARIABLE HOTLINE_HANDLED 1")
        elif expected_commands is not None and self.commands != expected_commands:
            stats.fail(f"{self.commands} commands, the walk has {expected_commands}")
        else:
            stats.ok += 1


class TcpAsterisk(asyncio.Protocol):
    """A FastAGI connection: headers, then a reply per command, until the server closes."""

    def __init__(self, call: Call, headers: bytes, done: asyncio.Future[str | None]) -> None:
        self.call, self.headers, self.done = call, headers, done
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.write(self.headers)
        self.call.sent_at = time.perf_counter()

    def data_received(self, data: bytes) -> None:
        out = self.call.feed(data)
        if out and self.transport is not None:
            self.transport.write(out)
            self.call.sent_at = time.perf_counter()

    def eof_received(self) -> bool:
        return False  # the server hung up the session: close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_result(f"connection error: {exc}" if exc else None)


class PipeAsterisk(asyncio.SubprocessProtocol):
    """A classic AGI script: headers on its stdin, its stdout read, done when it has exited."""

    def __init__(self, call: Call, headers: bytes, done: asyncio.Future[str | None]) -> None:
        self.call, self.headers, self.done = call, headers, done
        self.stdin: asyncio.WriteTransport | None = None
        self.transport: asyncio.SubprocessTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.SubprocessTransport)
        self.transport = transport
        stdin = transport.get_pipe_transport(0)
        assert isinstance(stdin, asyncio.WriteTransport)
        self.stdin = stdin
        stdin.write(self.headers)
        self.call.sent_at = time.perf_counter()

    def pipe_data_received(self, fd: int, data: bytes) -> None:
        out = self.call.feed(data)
        if out and self.stdin is not None and not self.stdin.is_closing():
            self.stdin.write(out)
            self.call.sent_at = time.perf_counter()

    def pipe_connection_lost(self, fd: int, exc: Exception | None) -> None:
        if fd == 1 and self.stdin is not None:
            self.stdin.close()  # the script closed its stdout: it is ending

    def connection_lost(self, exc: Exception | None) -> None:  # every pipe closed and exited
        if self.done.done():
            return
        code = self.transport.get_returncode() if self.transport else None
        self.done.set_result(f"script exited with {code}" if code else None)


Starter = Callable[[Call], Awaitable[str | None]]


def tcp_starter(port: int) -> Starter:
    async def start(call: Call) -> str | None:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[str | None] = loop.create_future()
        headers = agi_headers(call, network=True, port=port)
        try:
            transport, _ = await loop.create_connection(
                lambda: TcpAsterisk(call, headers, done), "127.0.0.1", port
            )
        except OSError as exc:
            return f"connect: {exc.strerror}"
        try:
            return await asyncio.wait_for(done, SESSION_TIMEOUT)
        except TimeoutError:
            transport.abort()
            return "session timeout"

    return start


def pipe_starter(commands_file: Path) -> Starter:
    async def start(call: Call) -> str | None:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[str | None] = loop.create_future()
        headers = agi_headers(call, network=False)
        call.started = time.perf_counter()  # process creation is part of the session
        transport, _ = await loop.subprocess_exec(
            lambda: PipeAsterisk(call, headers, done),
            sys.executable,
            str(CLASSIC_SCRIPT),
            str(commands_file),
            stderr=asyncio.subprocess.DEVNULL,  # pyst2 logs every line there
        )
        try:
            return await asyncio.wait_for(done, SESSION_TIMEOUT)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                transport.kill()
            return "session timeout"
        finally:
            transport.close()

    return start


async def drive(
    start: Starter,
    sessions: int,
    concurrency: int,
    walk: str,
    expected: int | None,
    base: int,
    stats: Stats | None = None,
) -> tuple[Stats, float]:
    """`sessions` calls, at most `concurrency` at a time; the stats and the wall time."""
    stats = stats if stats is not None else Stats()
    counter = iter(range(sessions))

    async def worker() -> None:
        for i in counter:
            call = Call(walk, stats, base + i)
            problem = await start(call)
            call.finish(expected, problem)

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(min(concurrency, sessions))))
    return stats, time.perf_counter() - began


# --- servers under test (subprocesses) -----------------------------------------------------


async def serve(
    kind: str, port: int, commands_file: str | None, tree: Path, gc_freeze: bool = False
) -> None:
    """The server side, in its own process: prints `READY <port>`, stops on SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    commands: list[str] = []
    if commands_file is not None:
        commands = json.loads(Path(commands_file).read_text(encoding="utf-8"))
    if kind == "panoramisk":
        from panoramisk.fast_agi import Application

        app = Application()

        async def route(request: Any) -> None:
            for line in commands:
                await request.send_command(line)

        app.add_route(SCRIPT, route)
        tcp = await asyncio.start_server(app.handler, "127.0.0.1", port)
        if gc_freeze:
            freeze_heap()
        print(f"READY {tcp.sockets[0].getsockname()[1]}", flush=True)
        await stop.wait()
        tcp.close()
        return

    from hotline.pbx.agi import FastAgiServer

    with tempfile.TemporaryDirectory(prefix="agi-bench-server-") as scratch:
        handler, agi = hotline_handler(kind, tree, Path(scratch), commands)
        server = FastAgiServer(
            handler,
            "127.0.0.1",
            port,
            agi.header_timeout,
            agi.command_timeout,
            agi.max_sessions,
        )
        await server.start()
        if gc_freeze:
            freeze_heap()
        assert server.server is not None
        print(f"READY {server.server.sockets[0].getsockname()[1]}", flush=True)
        await stop.wait()
        await server.close(grace=1.0)


def hotline_handler(kind: str, tree: Path, scratch: Path, commands: list[str]) -> tuple[Any, Any]:
    """hotline's AGI handler for `kind`, built as `hotline serve` builds it; and [fastagi].

    hotline          the flow: FlowRun + run_call over an AgiChannel, with the services the
                     controller builds (routing decisions from presence included); nothing is
                     stored: the routing desk has no database (no first-inquiry read, no
                     decision row), as the IVR path is not written either
    hotline-control  the controller's own AGI handler (Controller._on_agi): the flow, the
                     CHANNEL(linkedid) read, the first-inquiry read, the routing decision and
                     the IVR path written to SQLite (a scratch file)
    hotline-replay   the session layer alone: AgiSession.command for each recorded line
    """
    import dataclasses

    from hotline.pbx.agi import AgiSession
    from hotline.settings import load_settings

    settings = load_settings(tree / "config" / "hotline.toml")

    if kind == "hotline-replay":
        replay = [split_command(line) for line in commands]

        async def on_replay(session: AgiSession) -> None:
            for verb, args in replay:
                await session.command(verb, *args)

        return on_replay, settings.agi

    from hotline.controller.app import Controller
    from hotline.pbx.agi_channel import AgiChannel
    from ivr.interpreter import FlowRun
    from ivr.runtime import run_call

    # the controller's files go to the scratch folder, never to the tree's var/
    settings = dataclasses.replace(
        settings,
        database_url=f"sqlite:///{scratch / 'hotline.db'}",
        lookups=tuple(
            dataclasses.replace(spec, database=scratch / f"{spec.name}.db")
            for spec in settings.lookups
        ),
    )
    controller = Controller(settings)
    calls, directory = controller.calls, settings.directory
    desk = controller.routing
    # Every claim succeeds. The generator answers each Dial at once, but the agent stays
    # claimed while Dial and DIALSTATUS are on the wire; with 50 calls at a time to one post
    # the others would ring other agents or wait in the queue, and the sessions would no
    # longer send the lines that p and s replay (a set add/discard less per call).

    async def claim_always(agent_id: str, call_id: str = "") -> bool:
        return True

    desk.claim = claim_always  # type: ignore[method-assign]
    if kind == "hotline":
        # h stores nothing: without a database the desk neither reads the first-inquiry owner
        # (no hop to a worker thread) nor writes the decision row; k reads and stores
        desk.sessions = None
    calls.services.now = lambda: CLOCK  # office hours: agents answer
    if kind == "hotline-control":
        return controller.agi.handler, settings.agi

    services, flows = calls.services, calls.flows

    async def on_agi(session: AgiSession) -> None:  # CallHandler.handle's flow part
        flow = flows.get(session.script)
        if flow is None:
            return
        caller = session.headers.get("agi_callerid", "")
        run = FlowRun(
            flow,
            variables={
                "language": settings.prompts.languages[0],
                "district": directory.district_of_number(caller) or "",
                "mode": "straight" if settings.flows.straight_to_agent else "menu",
            },
        )
        await run_call(run, AgiChannel(session), services, session.headers["agi_uniqueid"], caller)

    return on_agi, settings.agi


def split_command(line: str) -> tuple[str, list[str]]:
    """A recorded line back into hotline's verb and arguments (hotline quotes every argument)."""
    import shlex

    verb, quote_mark, _ = line.partition('"')
    args = shlex.split(line[len(verb) :]) if quote_mark else []
    return verb.strip(), args


def freeze_heap() -> None:
    """--gc-freeze: what a controller calling gc.freeze() once started would do. Everything
    built so far (settings, flows, directory, the imported libraries: a large heap in the
    controller's process) moves to the permanent generation, so full collections no longer
    walk it again and again while calls are served."""
    import gc

    gc.collect()
    gc.freeze()


def settle_malloc() -> None:
    """Free one 1 MiB block, so that glibc raises its mmap threshold above 256 KiB.

    asyncio reads a socket with recv(256 KiB): in a process that has never freed a block that
    big, glibc serves each of those buffers with mmap and returns it with mremap + munmap (a
    send + recv pair cost 15-22 us instead of 2.6-3.2 us here, a page fault each in a VM). A
    process that has once freed a big block (importing SQLAlchemy does, a bare panoramisk app
    does not) reads fast. Left alone, the comparison would measure the servers' import history;
    settled, every process (servers and generator) reads the way a long-running controller does.
    """
    block = bytearray(1 << 20)
    del block


def serve_main(args: argparse.Namespace) -> None:
    if not args.cold_malloc:
        settle_malloc()
    tree = Path(args.tree).resolve()
    if args.serve.startswith("hotline"):
        # the tree's ivr/, routing/, supervisor/, ... before any installed copy (an editable
        # install may not list a package added since)
        sys.path.insert(0, str(tree))
    run = serve(args.serve, args.port, args.commands, tree, args.gc_freeze)
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
        try:
            asyncio.run(run)
        finally:
            profiler.disable()
            profiler.dump_stats(args.profile)
    else:
        asyncio.run(run)


class ServerProcess:
    """A server under test in its own process; its CPU time read from /proc."""

    def __init__(
        self, kind: str, tree: Path, commands_file: Path | None, profile: Path | None
    ) -> None:
        self.kind, self.tree, self.commands_file, self.profile = kind, tree, commands_file, profile
        self.cpus: set[int] = set()  # pinned to these CPUs, when not empty
        self.cold_malloc = False
        self.gc_freeze = False
        self.proc: asyncio.subprocess.Process | None = None
        self.port = 0

    async def start(self) -> None:
        argv = [sys.executable, str(Path(__file__).resolve()), "--serve", self.kind]
        argv += ["--tree", str(self.tree)]
        if self.cold_malloc:
            argv.append("--cold-malloc")
        if self.gc_freeze:
            argv.append("--gc-freeze")
        if self.commands_file:
            argv += ["--commands", str(self.commands_file)]
        if self.profile:
            argv += ["--profile", str(self.profile)]
        self.proc = await asyncio.create_subprocess_exec(
            *argv, cwd=self.tree, stdout=asyncio.subprocess.PIPE
        )
        assert self.proc.stdout is not None
        # readiness from the server itself: an empty probe connection would freeze panoramisk
        if self.cpus:
            os.sched_setaffinity(self.proc.pid, self.cpus)
        line = await asyncio.wait_for(self.proc.stdout.readline(), 30)
        if not line.startswith(b"READY "):
            raise SystemExit(f"agi_bench: the {self.kind} server did not start")
        self.port = int(line.split()[1])

    def cpu(self) -> float:
        """On-CPU seconds of all its threads, to the nanosecond (schedstat), else by ticks."""
        assert self.proc is not None
        total = 0
        try:
            for task in Path(f"/proc/{self.proc.pid}/task").iterdir():
                total += int((task / "schedstat").read_text().split()[0])
        except (OSError, ValueError):
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime + stime
        return total / 1e9

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), 10)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()


# --- the run -------------------------------------------------------------------------------


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@dataclass
class Target:
    """A server under test and what has been measured on it so far in this round."""

    key: str
    start: Starter
    sessions: int
    concurrency: int
    server_cpu: Callable[[], float]
    expected: int  # commands per session
    stats: Stats = field(default_factory=Stats)
    done: int = 0
    wall: float = 0.0
    cpu: float = 0.0
    generator_cpu: float = 0.0

    async def measure(self, sessions: int, walk: str, base: int) -> None:
        cpu0, gen0 = self.server_cpu(), time.process_time()
        _, wall = await drive(
            self.start, sessions, self.concurrency, walk, self.expected, base, self.stats
        )
        self.cpu += self.server_cpu() - cpu0
        self.generator_cpu += time.process_time() - gen0
        self.wall += wall
        self.done += sessions

    def result(self, slices: int) -> dict[str, Any]:
        stats, wall, ms = self.stats, max(self.wall, 1e-9), 1000.0
        return {
            "server": self.key,
            "name": NAMES[self.key],
            "sessions": self.done,
            "concurrency": self.concurrency,
            "slices": slices,
            "wall_s": round(self.wall, 3),
            "sessions_per_s": round(stats.ok / wall, 1),
            "ok": stats.ok,
            "failures": stats.failures,
            "failure_reasons": stats.reasons,
            "commands": len(stats.latencies),
            "commands_per_session": self.expected,
            "latency_p50_ms": round(pct(stats.latencies, 0.50) * ms, 3),
            "latency_p99_ms": round(pct(stats.latencies, 0.99) * ms, 3),
            "first_command_p50_ms": round(pct(stats.first, 0.50) * ms, 3),
            "session_p50_ms": round(pct(stats.durations, 0.50) * ms, 3),
            "latency_p50_by_verb_ms": {
                verb: round(pct(values, 0.50) * ms, 3)
                for verb, values in sorted(stats.by_verb.items())
            },
            "server_cpu_ms_per_session": round(self.cpu / max(self.done, 1) * ms, 3),
            "server_cpu_utilisation": round(self.cpu / wall, 2),
            "generator_cpu_utilisation": round(self.generator_cpu / wall, 2),
        }


def split(total: int, parts: int) -> list[int]:
    parts = max(1, min(parts, total))
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


async def record_walk(port: int, walk: str) -> list[str]:
    """hotline's command lines for the walk, from one session."""
    commands: list[str] = []
    call = Call(walk, Stats(), 0, record=commands)
    problem = await tcp_starter(port)(call)
    call.finish(None, problem)
    if call.stats.failures:
        raise SystemExit(
            f"agi_bench: the recording session against hotline failed: {call.stats.reasons}; "
            f"commands seen: {commands}"
        )
    return commands


def commit_of(tree: Path) -> str:
    """The tree's git commit, '+dirty' when it has changes; 'unknown' outside a git work tree."""
    import subprocess

    try:
        head = subprocess.run(
            ["git", "-C", str(tree), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(tree), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+dirty" if dirty else "")


def print_table(rows: list[dict[str, Any]]) -> None:
    head = (
        f"{'server':<24}{'sessions':>9}{'conc':>6}{'sess/s':>9}{'p50 ms':>9}{'p99 ms':>9}"
        f"{'1st p50':>9}{'cpu/sess':>10}{'gen cpu':>8}{'fail':>6}"
    )
    print(head)
    print("-" * len(head))
    for r in rows:
        print(
            f"{r['name']:<24}{r['sessions']:>9}{r['concurrency']:>6}{r['sessions_per_s']:>9.1f}"
            f"{r['latency_p50_ms']:>9.3f}{r['latency_p99_ms']:>9.3f}"
            f"{r['first_command_p50_ms']:>9.3f}{r['server_cpu_ms_per_session']:>10.3f}"
            f"{r['generator_cpu_utilisation']:>8.0%}{r['failures']:>6}"
        )


PAIRS = (("h", "p"), ("h", "c"), ("s", "p"), ("h", "s"))


def ratios(rows: list[dict[str, Any]]) -> dict[str, float]:
    """X/Y sessions_per_s: X's rate over Y's; X/Y cpu_efficiency: Y's CPU per session over X's."""
    by = {r["server"]: r for r in rows}
    out: dict[str, float] = {}
    for a, b in PAIRS:
        x, y = by.get(a), by.get(b)
        if not (x and y and y["sessions_per_s"] and x["server_cpu_ms_per_session"]):
            continue
        out[f"{a}/{b} sessions_per_s"] = round(x["sessions_per_s"] / y["sessions_per_s"], 3)
        out[f"{a}/{b} cpu_efficiency"] = round(
            y["server_cpu_ms_per_session"] / x["server_cpu_ms_per_session"], 3
        )
    return out


def print_ratios(ratio: dict[str, float]) -> None:
    for kind in ("sessions_per_s", "cpu_efficiency"):
        pairs = [f"{k.split()[0]} {v:.3f}" for k, v in ratio.items() if k.endswith(kind)]
        if pairs:
            print(f"{kind + ':':<16}" + "   ".join(pairs))


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    profile_dir = Path(args.profile_dir) if args.profile_dir else None
    if profile_dir:
        profile_dir.mkdir(parents=True, exist_ok=True)

    def prof(kind: str) -> Path | None:
        return profile_dir / f"{kind}.prof" if profile_dir else None

    all_cpus = os.sched_getaffinity(0)
    pin = args.pin and len(all_cpus) >= 2
    generator_cpus, server_cpus = (
        ({min(all_cpus)}, all_cpus - {min(all_cpus)}) if pin else (all_cpus, set())
    )
    tmp = tempfile.TemporaryDirectory(prefix="agi-bench-")
    commands_file = Path(tmp.name) / "commands.json"
    tree = Path(args.tree).resolve()
    hotline = ServerProcess("hotline", tree, None, prof("hotline"))
    hotline.cpus = server_cpus
    hotline.cold_malloc = args.cold_malloc
    hotline.gc_freeze = args.gc_freeze
    await hotline.start()
    running = [hotline]
    try:
        commands = await record_walk(hotline.port, args.walk)
        commands_file.write_text(json.dumps(commands), encoding="utf-8")
        print(f"walk {args.walk!r}: {len(commands)} commands per session")
        for line in commands:
            print(f"    {line}")

        plan: list[tuple[str, Starter, int, int, Callable[[], float], int]] = []
        for key in args.servers:
            if key == "c":
                c_start = pipe_starter(commands_file)
                c_concurrency = args.concurrency_classic or args.concurrency
                plan.append(
                    (
                        "c",
                        c_start,
                        args.sessions_classic,
                        c_concurrency,
                        children_cpu,
                        len(commands),
                    )
                )
                continue
            server = hotline
            if key != "h":
                server = ServerProcess(SERVE[key], tree, commands_file, prof(SERVE[key]))
                server.cpus = server_cpus
                server.cold_malloc = args.cold_malloc
                server.gc_freeze = args.gc_freeze
                await server.start()
                running.append(server)
            expected = len(commands)
            if key == "k":  # the controller sends more (CHANNEL(linkedid)): its own count
                expected = len(await record_walk(server.port, args.walk))
            start = tcp_starter(server.port)
            plan.append((key, start, args.sessions, args.concurrency, server.cpu, expected))

        base = 1
        for key, start, _, concurrency, _, expected in plan:  # warm-up, not measured
            os.sched_setaffinity(0, all_cpus if key == "c" else generator_cpus)
            n = args.warmup if key != "c" else max(1, args.warmup // 10)
            if n:
                stats, _ = await drive(start, n, concurrency, args.walk, expected, base)
                base += n
                if stats.failures:
                    raise SystemExit(f"agi_bench: {key} failed in the warm-up: {stats.reasons}")
        runs: list[list[dict[str, Any]]] = []
        for r in range(args.repeat):
            targets = [Target(*entry) for entry in plan]
            fast = [t for t in targets if t.key != "c"]
            # the TCP servers in interleaved slices, the order rotating (h p s, p s h, ...):
            # all of them see the same background load
            os.sched_setaffinity(0, generator_cpus)
            for i, size in enumerate(split(args.sessions, args.slices)):
                shift = i % max(1, len(fast))
                for t in fast[shift:] + fast[:shift]:
                    await t.measure(size, args.walk, base)
                    base += size
            os.sched_setaffinity(0, all_cpus)  # the scripts are spawned on any CPU, as Asterisk
            for t in targets:
                if t.key == "c":  # process per call: one phase, it is slow
                    await t.measure(t.sessions, args.walk, base)
                    base += t.sessions
            rows = [t.result(args.slices if t.key != "c" else 1) for t in targets]
            print(f"\nround {r + 1} of {args.repeat}" if args.repeat > 1 else "")
            print_table(rows)
            print_ratios(ratios(rows))
            runs.append(rows)
    finally:
        for server in running:
            await server.stop()
        tmp.cleanup()

    rounds = [{"rows": rows, "ratios": ratios(rows)} for rows in runs]
    summary: dict[str, Any] = {}
    if len(rounds) > 1:
        for name in rounds[0]["ratios"]:
            values = [rnd["ratios"][name] for rnd in rounds]
            summary[name] = {
                "median": statistics.median(values),
                "min": min(values),
                "max": max(values),
            }
    return {
        "benchmark": "fastagi",
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "loopback": True,
        },
        "tree": str(Path(args.tree).resolve()),
        "tree_commit": args.tree_commit,
        "walk": args.walk,
        "commands_per_session": len(commands),
        "commands": commands,
        "warmup_sessions": args.warmup,
        "slices": args.slices,
        "malloc": "cold" if args.cold_malloc else "settled",
        "gc_freeze": args.gc_freeze,
        "pinned": {"generator": sorted(generator_cpus), "servers": sorted(server_cpus)}
        if pin
        else None,
        "targets": {"h/p sessions_per_s": 0.8, "h/c sessions_per_s": 20.0},
        "rounds": rounds,
        "ratio_summary": summary,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=(
            "FastAGI benchmark: hotline's FastAGI server (h) against a bare panoramisk app (p) "
            "and a pyst2 process-per-call script (c), driven by a load generator that plays "
            "Asterisk over loopback, each server in its own process. Prints a table and the "
            "ratios, writes bench/results/agi-<date>.json. Method: docs/PERFORMANCE.md."
        )
    )
    parser.add_argument(
        "--sessions", type=int, default=2000, help="sessions per TCP server (h k p s) (2000)"
    )
    parser.add_argument(
        "--sessions-classic", type=int, default=200, help="sessions for the pyst2 script (200)"
    )
    parser.add_argument("--concurrency", type=int, default=50, help="sessions at a time (50)")
    parser.add_argument(
        "--concurrency-classic",
        type=int,
        default=0,
        help="sessions at a time for the pyst2 script (default: --concurrency)",
    )
    parser.add_argument(
        "--walk",
        default="-21",
        help="the caller's keys, one per WAIT FOR DIGIT or GET DATA, '-' for none (a timeout); "
        "then 0 (an agent) until the flow ends. Default '-21': no key at the language prompt, "
        "2 policy information, 1 social insurance, then 0",
    )
    parser.add_argument(
        "--warmup", type=int, default=100, help="unmeasured sessions per server first (100)"
    )
    parser.add_argument(
        "--repeat", type=int, default=1, help="measure every server this many times (1)"
    )
    parser.add_argument(
        "--slices",
        type=int,
        default=8,
        help="the TCP servers run in this many interleaved slices of --sessions/SLICES (8)",
    )
    parser.add_argument(
        "--servers",
        default="hkpsc",
        help="which to measure, in this order (hkpsc): h hotline's FastAgiServer running the flow; "
        "k the same with the controller's whole AGI handler (CHANNEL(linkedid), IVR path to "
        "SQLite); p bare panoramisk; s hotline's session layer replaying the commands, no flow; "
        "c the pyst2 script, a process per call",
    )
    parser.add_argument(
        "--tree",
        default=str(ROOT),
        help="the hotline source tree to serve (ivr/, config/, dialplans/; default: this one)",
    )
    parser.add_argument(
        "--pin",
        action="store_true",
        help="pin the generator to the first CPU and the TCP servers to the others",
    )
    parser.add_argument(
        "--cold-malloc",
        action="store_true",
        help="leave glibc's mmap threshold as each process has it (see settle_malloc)",
    )
    parser.add_argument(
        "--gc-freeze",
        action="store_true",
        help="each TCP server calls gc.freeze() once started (an experiment: hotline's "
        "controller does not do it yet)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a smoke run of a few seconds: 200 sessions (20 for c), 20 at a time",
    )
    parser.add_argument("--output", help="the JSON file (default bench/results/agi-<date>.json)")
    parser.add_argument("--no-output", action="store_true", help="write no JSON file")
    parser.add_argument(
        "--profile-dir", help="run the servers under cProfile, writing <dir>/<server>.prof"
    )
    internal = parser.add_argument_group("internal (a server under test)")
    internal.add_argument("--serve", choices=sorted(SERVE.values()), help=argparse.SUPPRESS)
    internal.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    internal.add_argument("--commands", help=argparse.SUPPRESS)
    internal.add_argument("--profile", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.serve:
        serve_main(args)
        return
    if args.quick:
        args.sessions, args.sessions_classic = 200, 20
        args.concurrency, args.warmup = min(args.concurrency, 20), 20
    if set(args.servers) - set(NAMES) or len(set(args.servers)) != len(args.servers):
        parser.error(f"--servers: letters from {''.join(NAMES)}, got {args.servers!r}")
    if "h" not in args.servers:
        args.servers = "h" + args.servers  # the ratios need it, and it records the walk
    if not set(args.walk) <= set("0123456789*#-"):
        parser.error("--walk: keys 0-9, * or #, and - for none (a timeout)")

    if not args.cold_malloc:
        settle_malloc()
    args.tree_commit = commit_of(Path(args.tree))
    result = asyncio.run(bench(args))
    if not args.no_output:
        out = Path(args.output) if args.output else None
        if out is None:
            RESULTS.mkdir(parents=True, exist_ok=True)
            out = RESULTS / f"agi-{dt.datetime.now():%Y-%m-%dT%H%M%S}.json"
        out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        print(f"\nwritten: {out}")
    failed = sum(r["failures"] for rnd in result["rounds"] for r in rnd["rows"])
    if failed:
        print(f"agi_bench: {failed} sessions did not end normally", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
