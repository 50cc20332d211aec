"""Answer-to-pop latency of the agent's desk, with the dashboard's push of the same answer as
the baseline, in the same run.

The controller's own path is driven with synthetic AMI events: each event goes through the real
call tracker, presence, the dashboard's board and SSE hub and the desk (`Desk.on_changes`, as
`hotline.supervisor.attach` wires them), served by the real aiohttp app on loopback, on a
SQLite database seeded with a caller history (`--history` calls over `--callers` numbers, each
with its leg, IVR path and survey; one caller in four with an open matter). Real headless
Chromium (Debian's chromium, Playwright) shows two real pages: the desk of the probe agent
(logged in as an agent account) and the supervisors' dashboard. Every `--probe-every` seconds
a probe call from a seeded caller rings the probe agent and is answered; the wall-clock time of
the answer (DialEnd ANSWER handed to the tracker) is noted, and each page notes when it drew
it: the desk when its pop (with the caller's history and matters read from the database) is
drawn, the dashboard when the call first shows `talking`. Latency = the page's `Date.now()`
minus the answer, same machine.

Load: `--calls` other calls kept live on other agents at `--rate` events/s, as in
bench/dashboard_bench.py. Results go to bench/results/desk-pop-<time>.json.

    python bench/desk_pop_bench.py [--calls 200] [--rate 200] [--seconds 30] [--history 20000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aiohttp import web
from playwright.async_api import async_playwright
from sqlalchemy import insert

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.dashboard_bench import Calls  # noqa: E402
from hotline.controller.desk_matters import DeskMatters  # noqa: E402
from hotline.matters.departments import load_departments  # noqa: E402
from hotline.matters.lifecycle import DuePolicy  # noqa: E402
from hotline.matters.notices import load_notices  # noqa: E402
from hotline.matters.notify import NoticeDesk  # noqa: E402
from hotline.matters.service import MatterService, NewMatter  # noqa: E402
from hotline.matters.sms import sender_of  # noqa: E402
from hotline.pbx.calltracker import CallTracker  # noqa: E402
from hotline.pbx.dialplan import INBOUND_CONTEXT  # noqa: E402
from hotline.pbx.presence_events import apply_event  # noqa: E402
from hotline.settings import load_directory  # noqa: E402
from hotline.store.db import open_engine, session_factory  # noqa: E402
from hotline.store.models import Call, IvrStep, Leg, Survey  # noqa: E402
from hotline.supervisor.auth import LEGACY_COST, Accounts  # noqa: E402
from hotline.supervisor.desk import Desk  # noqa: E402
from hotline.supervisor.desk_web import DeskWeb  # noqa: E402
from hotline.supervisor.hub import Hub  # noqa: E402
from hotline.supervisor.live import Board  # noqa: E402
from hotline.supervisor.monitor import MonitorDesk  # noqa: E402
from hotline.supervisor.scoring import load_sheet  # noqa: E402
from hotline.supervisor.settings import WebSettings  # noqa: E402
from hotline.supervisor.web import Supervision, build_app  # noqa: E402
from routing.directory import Agent, Seat  # noqa: E402
from routing.presence import Presence  # noqa: E402
from routing.wrapup import WrapUpPolicy  # noqa: E402

PASSWORD = "benchmark-password"
PROBE_AGENT, PROBE_SEAT = "8000", "deskprobe"
HOOK = """
window.__seen = {};
window.__deskDrawn = (card) => {
  if (!(card.linkedid in window.__seen)) window.__seen[card.linkedid] = Date.now();
};
window.__drawn = (board) => {
  const now = Date.now();
  for (const c of board.calls) {
    if (c.linkedid.startsWith("probe-") && c.state === "talking" && !(c.linkedid in window.__seen))
      window.__seen[c.linkedid] = now;
  }
};
"""


def seed_history(sessions: object, callers: list[str], calls: int) -> None:
    """`calls` ended calls over `callers`, each answered by a bench agent after two IVR nodes,
    one in three rated."""
    now = datetime.now(UTC)
    rows_call, rows_leg, rows_step, rows_survey = [], [], [], []
    for i in range(calls):
        linkedid, caller = f"h{i}", callers[i % len(callers)]
        at = now - timedelta(minutes=10 * (calls - i))
        rows_call.append(
            {
                "linkedid": linkedid,
                "caller_number": caller,
                "started_at": at,
                "ended_at": at + timedelta(minutes=3),
                "outcome": "answered",
            }
        )
        rows_leg.append(
            {
                "uniqueid": f"{linkedid}-a",
                "linkedid": linkedid,
                "channel": "PJSIP/bench001-1",
                "endpoint": "bench001",
                "agent_id": "9001",
                "ring_at": at,
                "answered_at": at,
                "ended_at": at + timedelta(minutes=3),
            }
        )
        for seq, node in enumerate(("main", "policy"), 1):
            rows_step.append(
                {
                    "linkedid": linkedid,
                    "seq": seq,
                    "node": node,
                    "outcome": "digit:1",
                    "entered_at": at,
                    "duration_ms": 4000,
                }
            )
        if i % 3 == 0:
            rows_survey.append(
                {
                    "linkedid": linkedid,
                    "caller_number": caller,
                    "rating": "satisfied",
                    "channel": "in-call",
                    "rated_at": at,
                }
            )
    with sessions() as s, s.begin():  # type: ignore[operator]
        for model, rows in ((Call, rows_call), (Leg, rows_leg), (IvrStep, rows_step)):
            s.execute(insert(model), rows)
        s.execute(insert(Survey), rows_survey)


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=200, help="other live calls (default 200)")
    parser.add_argument("--rate", type=float, default=200, help="AMI events per second")
    parser.add_argument("--seconds", type=float, default=30, help="measured run time")
    parser.add_argument("--probe-every", type=float, default=0.5, help="seconds between probes")
    parser.add_argument("--history", type=int, default=20000, help="stored calls (default 20000)")
    parser.add_argument("--callers", type=int, default=2000, help="their callers (default 2000)")
    parser.add_argument("--port", type=int, default=18445)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()

    load_before = os.getloadavg()[0]
    directory = load_directory(REPO / "config" / "seats.toml")
    offices = list(directory.offices)
    seats = dict(directory.seats)
    agents = dict(directory.agents)
    for i in range(120):
        endpoint, office = f"bench{i:03d}", offices[i % len(offices)]
        seats[endpoint] = Seat(endpoint, office)
        agents[f"9{i:03d}"] = Agent(f"9{i:03d}", f"坐席{i}", endpoint, office, ("pension",))
    seats[PROBE_SEAT] = Seat(PROBE_SEAT, offices[0])
    agents[PROBE_AGENT] = Agent(PROBE_AGENT, "测试坐席", PROBE_SEAT, offices[0], ("pension",))
    directory = replace(directory, seats=seats, agents=agents)

    tmp = Path(tempfile.mkdtemp(prefix="desk-bench-"))
    sessions = session_factory(open_engine(f"sqlite:///{tmp / 'bench.db'}"))
    callers = [f"139{n:08d}" for n in random.sample(range(10**8), args.callers)]
    seed_history(sessions, callers, args.history)
    # the caller's open matters are on the card too: one caller in four has one
    service = MatterService(
        sessions, directory, load_departments(REPO / "config" / "departments.toml"), DuePolicy()
    )
    for caller in callers[::4]:
        service.create(NewMatter(caller_number=caller, category="complaint"), "bench")
    notices = NoticeDesk(
        sessions,
        load_notices(REPO / "config" / "notices.toml"),
        sender_of("outbox", tmp / "outbox.jsonl", "", 1, 1.0),
        service,
    )
    accounts = Accounts(sessions, 60, cost=LEGACY_COST)
    accounts.add("bench", PASSWORD, "admin", None, "", set(directory.offices))
    accounts.add(
        "desk", PASSWORD, "agent", None, "", set(directory.offices), PROBE_AGENT, frozenset(agents)
    )
    presence = Presence(directory)
    board = Board(directory, presence.snapshot)
    settings = WebSettings()
    hub = Hub(board.snapshot, settings.push_interval)

    def caller_of(linkedid: str) -> str | None:
        call = board.calls.get(linkedid)
        return call.caller_number if call else None

    desk = Desk(
        sessions,
        lambda: directory,
        presence.snapshot,
        presence.owes_wrap_up,
        caller_of,
        WrapUpPolicy(),
        DeskMatters(service, notices),
    )

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
        extra_routes=DeskWeb(desk, accounts, no_ami).routes(),
    )
    runner = web.AppRunner(build_app(sup), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", args.port).start()
    tracker = CallTracker(
        INBOUND_CONTEXT,
        lambda e: directory.agent_at_seat(e).id if directory.agent_at_seat(e) else None,
    )
    answered: dict[str, float] = {}  # probe linkedid -> wall-clock ms of its answer

    def feed(event: dict[str, str]) -> None:
        at = datetime.now(UTC)
        changed = apply_event(presence, directory, event, at)
        changes = tracker.handle(event, at)
        if board.apply(changes):
            desk.on_changes(changes)
            hub.notify()
        elif changed:
            desk.on_presence()
            hub.notify()

    calls = Calls([(a.id, a.seat) for a in agents.values() if a.seat.startswith("bench")])
    live: list[str] = []
    for _ in range(args.calls):
        linkedid, event = calls.new()
        feed(event)
        live.append(linkedid)

    async def probe(n: int) -> None:
        linkedid = f"probe-{n}"
        leg = f"{linkedid}-a"
        feed(
            {
                "Event": "Newchannel",
                "Channel": f"PJSIP/callers-p{n:06d}",
                "CallerIDNum": random.choice(callers),
                "CallerIDName": "",
                "Context": INBOUND_CONTEXT,
                "Exten": "12333",
                "Uniqueid": linkedid,
                "Linkedid": linkedid,
            }
        )
        feed({"Event": "Newstate", "Uniqueid": linkedid, "ChannelStateDesc": "Up"})
        feed(
            {
                "Event": "DialBegin",
                "Linkedid": linkedid,
                "DestLinkedid": linkedid,
                "DestUniqueid": leg,
                "DestChannel": f"PJSIP/{PROBE_SEAT}-p{n:06d}",
                "DialString": PROBE_SEAT,
            }
        )
        answered[linkedid] = time.time() * 1000
        feed({"Event": "DialEnd", "DestUniqueid": leg, "DialStatus": "ANSWER"})
        await asyncio.sleep(args.probe_every / 2)
        feed({"Event": "Hangup", "Uniqueid": leg})
        feed({"Event": "Hangup", "Uniqueid": linkedid})

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=args.chromium, args=["--no-sandbox"])
        pages = {}
        for name in ("desk", "bench"):
            page = await (await browser.new_context()).new_page()
            await page.add_init_script(HOOK)
            await page.goto(f"http://127.0.0.1:{args.port}/")
            await page.fill("#username", name)
            await page.fill("#password", PASSWORD)
            await page.click("#login")
            await page.wait_for_selector("#conn.ok")
            pages[name] = page
        events = probes = 0
        started = time.monotonic()
        next_probe, tick = started, started
        interval = 1 / args.rate
        tasks = set()
        while time.monotonic() < started + args.seconds:
            if time.monotonic() >= next_probe:
                tasks.add(asyncio.ensure_future(probe(probes)))
                probes += 1
                next_probe += args.probe_every
            linkedid = random.choice(live)
            event = calls.next_event(linkedid)
            if event is not None:
                feed(event)
                events += 1
            if linkedid not in calls.steps:
                live.remove(linkedid)
                new_id, new_event = calls.new()
                feed(new_event)
                live.append(new_id)
                events += 1
            tick += interval
            await asyncio.sleep(max(0.0, tick - time.monotonic()))
        await asyncio.gather(*tasks)
        await asyncio.sleep(2)  # the last pops arrive
        seen = {name: await page.evaluate("window.__seen") for name, page in pages.items()}
        await browser.close()
    await runner.cleanup()

    def figures(drawn: dict[str, float]) -> dict[str, float | int]:
        lat = sorted(drawn[k] - answered[k] for k in drawn if k in answered)
        if not lat:
            return {"seen": 0}
        q = statistics.quantiles(lat, n=100, method="inclusive") if len(lat) > 1 else lat * 99
        return {
            "seen": len(lat),
            "p50": round(statistics.median(lat), 1),
            "p90": round(q[89], 1),
            "p99": round(q[98], 1),
            "max": round(lat[-1], 1),
        }

    report = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "load_average_1min_before_after": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "calls": args.calls,
        "events_per_s": round(events / args.seconds, 1),
        "seconds": args.seconds,
        "history_calls": args.history,
        "callers": args.callers,
        "probes": probes,
        "desk_pop_ms": figures(seen["desk"]),
        "baseline_dashboard_talking_ms": figures(seen["bench"]),
        "pops": desk.pops,
    }
    print(json.dumps(report, indent=2, ensure_ascii=False))
    out = REPO / "bench" / "results" / f"desk-pop-{datetime.now(UTC):%Y-%m-%dT%H%M%S}.json"
    out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
