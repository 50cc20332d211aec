"""Event-to-browser latency of the supervisors' dashboard.

The controller's own path is driven with synthetic AMI events for N concurrent calls (default
200): each event goes through the real call tracker (`hotline.pbx.calltracker`), presence
(`hotline.pbx.presence_events`) and the dashboard's board and SSE hub (`hotline.supervisor.attach`
does the
same), served by the real aiohttp app on loopback. Real headless Chromium (Debian's chromium,
driven by Playwright) shows the real dashboard page, logged in; the page calls a hook right
after it drew a frame, which notes, for every probe call, when it first appeared on screen:
`Date.now()` there minus the wall-clock time the probe's Newchannel was handed to the tracker,
on the same machine.

Load: N calls are kept live; each call goes IVR -> agent ringing -> talking -> hang-up and is
replaced by a new one, so events keep flowing at `--rate` events/s (default 200/s: about ten
times what 200 concurrent 3-minute calls generate). Every `--probe-every` seconds a probe
call starts. Results go to bench/results/dashboard-<time>.json.

    python bench/dashboard_bench.py [--calls 200] [--rate 200] [--seconds 30] [--pages 3]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from aiohttp import web
from playwright.async_api import async_playwright

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from hotline.pbx.calltracker import CallTracker  # noqa: E402
from hotline.pbx.dialplan import INBOUND_CONTEXT  # noqa: E402
from hotline.pbx.presence_events import apply_event  # noqa: E402
from hotline.settings import load_directory  # noqa: E402
from hotline.store.db import open_engine, session_factory  # noqa: E402
from hotline.supervisor.auth import Accounts  # noqa: E402
from hotline.supervisor.hub import Hub  # noqa: E402
from hotline.supervisor.live import Board  # noqa: E402
from hotline.supervisor.monitor import MonitorDesk  # noqa: E402
from hotline.supervisor.scoring import load_sheet  # noqa: E402
from hotline.supervisor.settings import WebSettings  # noqa: E402
from hotline.supervisor.web import Supervision, build_app  # noqa: E402
from routing.presence import Presence  # noqa: E402

PASSWORD = "benchmark-password"
HOOK = """
window.__lat = []; window.__seen = new Set(); window.__frames = 0; window.__work = [];
// called by the page right after it drew a frame (its parse and draw time given)
window.__drawn = (board, work) => {
  const now = Date.now();
  window.__frames += 1;
  window.__work.push(work);
  for (const c of board.calls) {
    if (c.linkedid.startsWith("probe-") && !window.__seen.has(c.linkedid)) {
      window.__seen.add(c.linkedid);
      window.__lat.push(now - parseFloat(c.linkedid.split("-")[1]));
    }
  }
};
"""


class Calls:
    """Synthetic AMI events: calls through IVR, ringing, talking, hang-up."""

    def __init__(self, agents: list[tuple[str, str]]) -> None:
        self.agents = agents  # (agent id, seat endpoint)
        self.n = itertools.count(1)
        self.steps: dict[str, int] = {}
        self.seat: dict[str, str] = {}

    def new(self, linkedid: str | None = None) -> tuple[str, dict[str, str]]:
        linkedid = linkedid or f"{1700000000 + next(self.n)}.{next(self.n)}"
        self.steps[linkedid] = 0
        return linkedid, {
            "Event": "Newchannel",
            "Channel": f"PJSIP/callers-{next(self.n):08x}",
            "CallerIDNum": f"139{random.randrange(10**8):08d}",
            "CallerIDName": "",
            "Context": INBOUND_CONTEXT,
            "Exten": "12333",
            "Uniqueid": linkedid,
            "Linkedid": linkedid,
        }

    def next_event(self, linkedid: str) -> dict[str, str] | None:
        step = self.steps[linkedid]
        self.steps[linkedid] = step + 1
        leg = f"{linkedid}-a"
        if step == 0:
            return {"Event": "Newstate", "Uniqueid": linkedid, "ChannelStateDesc": "Up"}
        if step == 1:
            _agent, seat = random.choice(self.agents)
            self.seat[linkedid] = seat
            return {
                "Event": "DialBegin",
                "Linkedid": linkedid,
                "DestLinkedid": linkedid,
                "DestUniqueid": leg,
                "DestChannel": f"PJSIP/{seat}-{next(self.n):08x}",
                "DialString": seat,
            }
        if step == 2:
            return {
                "Event": "DeviceStateChange",
                "Device": f"PJSIP/{self.seat[linkedid]}",
                "State": "RINGING",
            }
        if step == 3:
            return {"Event": "DialEnd", "DestUniqueid": leg, "DialStatus": "ANSWER"}
        if step == 4:
            return {
                "Event": "DeviceStateChange",
                "Device": f"PJSIP/{self.seat[linkedid]}",
                "State": "INUSE",
            }
        if step == 5:
            return {"Event": "Hangup", "Uniqueid": leg}
        if step == 6:
            del self.steps[linkedid]
            return {"Event": "Hangup", "Uniqueid": linkedid}
        return None


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=200, help="concurrent calls (default 200)")
    parser.add_argument("--rate", type=float, default=200, help="AMI events per second")
    parser.add_argument("--seconds", type=float, default=30, help="measured run time")
    parser.add_argument("--probe-every", type=float, default=0.25, help="seconds between probes")
    parser.add_argument("--pages", type=int, default=3, help="dashboards open (browser tabs)")
    parser.add_argument("--port", type=int, default=18444)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()

    load_before = os.getloadavg()[0]
    directory = load_directory(REPO / "config" / "seats.toml")
    # 200 calls need more than the four sample agents: 120 agents spread over the offices
    from dataclasses import replace

    from routing.directory import Agent, Seat

    offices = list(directory.offices)
    seats = dict(directory.seats)
    agents = dict(directory.agents)
    for i in range(120):
        endpoint, office = f"bench{i:03d}", offices[i % len(offices)]
        seats[endpoint] = Seat(endpoint, office)
        agents[f"9{i:03d}"] = Agent(f"9{i:03d}", f"坐席{i}", endpoint, office, ("pension",))
    directory = replace(directory, seats=seats, agents=agents)
    tmp = Path(tempfile.mkdtemp(prefix="dashboard-bench-"))
    sessions = session_factory(open_engine(f"sqlite:///{tmp / 'bench.db'}"))
    accounts = Accounts(sessions, 60)
    accounts.add("bench", PASSWORD, "admin", None, "PJSIP/sup9001", set(directory.offices))
    presence = Presence(directory)
    board = Board(directory, presence.snapshot)
    settings = WebSettings()
    hub = Hub(board.snapshot, settings.push_interval)

    async def no_ami(*_args: object, **_kw: object) -> None:
        return None

    sup = Supervision(
        settings=settings,
        accounts=accounts,
        sessions=sessions,
        directory=lambda: directory,
        board=board,
        hub=hub,
        monitor=MonitorDesk(sessions, no_ami, settings.monitor_roles, number="12333"),
        sheet=load_sheet(settings.score_sheet),
    )
    runner = web.AppRunner(build_app(sup), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", args.port).start()
    tracker = CallTracker(
        INBOUND_CONTEXT,
        lambda e: directory.agent_at_seat(e).id if directory.agent_at_seat(e) else None,
    )
    handle_costs: list[float] = []

    def feed(event: dict[str, str]) -> None:
        started = time.perf_counter()
        at = datetime.now(UTC)
        changed = apply_event(presence, directory, event, at)
        changes = tracker.handle(event, at)
        if board.apply(changes) or changed:
            hub.notify()
        handle_costs.append(time.perf_counter() - started)

    calls = Calls([(a.id, a.seat) for a in agents.values() if a.seat.startswith("bench")])
    live: list[str] = []
    for _ in range(args.calls):
        linkedid, event = calls.new()
        feed(event)
        live.append(linkedid)

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=args.chromium, args=["--no-sandbox"])
        pages = []
        for _ in range(args.pages):
            context = await browser.new_context()
            page = await context.new_page()
            await page.add_init_script(HOOK)
            await page.goto(f"http://127.0.0.1:{args.port}/")
            await page.fill("#username", "bench")
            await page.fill("#password", PASSWORD)
            await page.click("#login")
            await page.wait_for_selector("#conn.ok")
            pages.append(page)
        events = 0
        started = time.monotonic()
        next_probe = started
        interval = 1 / args.rate
        deadline = started + args.seconds
        probes = 0
        tick = started
        while time.monotonic() < deadline:
            now = time.monotonic()
            if now >= next_probe:
                linkedid, event = calls.new(f"probe-{time.time() * 1000:.1f}")
                feed(event)
                live.append(linkedid)
                probes += 1
                next_probe += args.probe_every
            linkedid = random.choice(live)
            event = calls.next_event(linkedid)
            if event is not None:
                feed(event)
                events += 1
            if linkedid not in calls.steps:  # hung up: a new call takes its place
                live.remove(linkedid)
                new_id, new_event = calls.new()
                feed(new_event)
                live.append(new_id)
                events += 1
            tick += interval
            await asyncio.sleep(max(0.0, tick - time.monotonic()))
        await asyncio.sleep(1.5)  # the last probes arrive
        results = []
        for page in pages:
            results.append(
                await page.evaluate(
                    "({lat: window.__lat, frames: window.__frames, work: window.__work})"
                )
            )
        await browser.close()
    await runner.cleanup()
    elapsed = args.seconds
    latencies = sorted(x for r in results for x in r["lat"])
    q = (
        statistics.quantiles(latencies, n=100, method="inclusive")
        if len(latencies) > 1
        else latencies * 99
    )
    costs = sorted(handle_costs)
    report = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "load_average_1min_before_after": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "calls": args.calls,
        "events_per_s": round(events / elapsed, 1),
        "seconds": elapsed,
        "pages": args.pages,
        "probes": probes,
        "probes_seen": len(latencies),
        "latency_ms": {
            "p50": round(statistics.median(latencies), 1),
            "p90": round(q[89], 1),
            "p99": round(q[98], 1),
            "max": round(latencies[-1], 1),
        },
        "frames_per_page_per_s": round(statistics.mean(r["frames"] for r in results) / elapsed, 1),
        "frame_bytes": len(hub.frame()),
        "browser_ms_per_frame": _percentiles(sorted(x for r in results for x in r["work"])),
        "push_interval_s": settings.push_interval,
        "controller_ms_per_event": {
            "p50": round(1000 * costs[len(costs) // 2], 3),
            "p99": round(1000 * costs[int(len(costs) * 0.99)], 3),
        },
    }
    print(json.dumps(report, indent=2, ensure_ascii=False))
    out = REPO / "bench" / "results" / f"dashboard-{datetime.now(UTC):%Y-%m-%dT%H%M%S}.json"
    out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {out}")
    return 0


def _percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    return {
        "p50": round(statistics.median(values), 1),
        "p99": round(values[min(len(values) - 1, int(len(values) * 0.99))], 1),
    }


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
