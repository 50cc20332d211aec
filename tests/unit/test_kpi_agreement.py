"""`hotline report kpi --json` (a process, as a user runs it) and the dashboard's /api/kpi
(the real aiohttp app) give the same figures for the same calendar day: one function computes
both."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp

from hotline.store.models import Call, Leg, RouteDecision
from hotline.supervisor.web import Supervision
from tests.conftest import run_hotline, write_config
from tests.unit.test_supervisor_auth import DIRECTORY, FakeAmi, log_in, run


def test_report_kpi_json_and_the_dashboard_agree_on_a_calendar_day(tmp_path: Path) -> None:
    zone = ZoneInfo(DIRECTORY.timezone)
    today = datetime.now(zone).date()
    # three calls of this local day, at 09:00: answered 5 s after the ask, abandoned in the
    # line, a query heard to the end
    nine = datetime(today.year, today.month, today.day, 9, 0, tzinfo=zone)
    config = write_config(tmp_path / "cli")
    config.write_text(
        config.read_text().replace("sqlite:///hotline.db", f"sqlite:///{tmp_path / 'h.db'}")
    )
    figures: dict[str, object] = {}

    async def body(sup: Supervision, base: str, _ami: FakeAmi) -> None:
        with sup.sessions() as s, s.begin():
            for n, (outcome, ivr) in enumerate(
                [("answered", "answered"), ("abandoned", "asked"), ("self_service", "served")]
            ):
                start = nine + timedelta(minutes=n)
                s.add(
                    Call(
                        linkedid=f"A{n}",
                        caller_number=f"1390000001{n}",
                        started_at=start,
                        ended_at=start + timedelta(minutes=1),
                        outcome=outcome,
                        ivr_end=ivr,
                        asked_at=start + timedelta(seconds=10) if ivr != "served" else None,
                    )
                )
            s.add(
                Leg(
                    uniqueid="U0",
                    linkedid="A0",
                    channel="PJSIP/agent1001-1",
                    endpoint="agent1001",
                    agent_id="1001",
                    ring_at=nine + timedelta(seconds=12),
                    answered_at=nine + timedelta(seconds=15),
                    ended_at=nine + timedelta(seconds=55),
                    dial_status="ANSWER",
                )
            )
            s.add(
                RouteDecision(
                    linkedid="A0",
                    decided_at=nine + timedelta(seconds=55),
                    post="pension-city",
                    chain="post pension-city A: 1001",
                    answered_by="1001",
                    reached_a=True,
                    answered_role="A",
                )
            )
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            await log_in(http, base, "city")
            async with http.get(f"{base}/api/kpi?from={today}&to={today}") as r:
                assert r.status == 200
                figures.update(await r.json())
            async with http.get(f"{base}/api/kpi?period=day&date={today}") as r:
                assert (await r.json())["total"] == figures["total"]
            async with http.get(f"{base}/api/kpi?from=2026-13-01&to={today}") as r:
                assert r.status == 400 and "YYYY-MM-DD" in (await r.json())["error"]

    run(tmp_path, body)
    done = run_hotline(config, "report", "kpi", "--from", str(today), "--to", str(today), "--json")
    assert done.returncode == 0, done.stderr
    printed = json.loads(done.stdout)
    for key in ("since", "until", "total", "districts", "agents", "days"):
        assert printed[key] == figures[key], key
    total = printed["total"]
    # by hand: 3 calls; asked 2 (answered, abandoned); answered 5 s after the ask
    assert (total["calls"], total["asked"], total["answered"], total["answered_15s"]) == (
        3,
        2,
        1,
        1,
    )
    assert (total["self_service_rate"], total["average_wait"]) == (round(100 / 3, 1), 5.0)
