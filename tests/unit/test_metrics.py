"""/metrics and /healthz (hotline/metrics/server.py) on a real aiohttp server and a SQLite
file: every
series read back through Prometheus' own parser, against counts made by hand from the rows
and the live state the test sets up."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.orm import Session, sessionmaker

from hotline.metrics.server import LiveState, Metrics
from hotline.metrics.settings import MetricsSettings
from hotline.store.db import open_engine, session_factory, write
from hotline.store.models import Call, Recording, RouteDecision, SurveyJob
from tests.conftest import REPO

NOW = datetime.now(UTC)
T = NOW - timedelta(hours=1)


def morning(sessions: sessionmaker[Session]) -> None:
    def call(linkedid: str, outcome: str, ended: bool = True) -> Call:
        return Call(
            linkedid=linkedid,
            channel=f"PJSIP/callers-{linkedid}",
            caller_number="13800000000",
            caller_name="",
            did="12333",
            started_at=T,
            ended_at=T + timedelta(minutes=3) if ended else None,
            outcome=outcome,
        )

    with write(sessions) as s:
        s.add_all([call("c1", "answered"), call("c2", "answered"), call("c3", "abandoned")])
        s.add(call("c4", "live", ended=False))  # still up: not counted
        s.add_all(
            RouteDecision(linkedid=lid, decided_at=T, post=post, chain="")
            for lid, post in (("c1", "pension-city"), ("c2", "pension-city"), ("c3", "medical"))
        )
        s.add_all(
            Recording(
                linkedid=lid, path=f"{lid}.wav", state=state, catalogued_at=T, processed_at=done
            )
            for lid, state, done in (
                ("c1", "ok", T),  # processed
                ("c2", "ok", None),  # waiting
                ("c3", "repaired", None),  # waiting
                ("c5", "flagged", None),  # needs a person, not the pipeline
            )
        )
        s.add_all(
            SurveyJob(
                linkedid=lid, number="13800000000", created_at=T, status=status, next_attempt_at=T
            )
            for lid, status in (("c1", "pending"), ("c2", "pending"), ("c3", "answered"))
        )


def serve_and_get(metrics: Metrics, path: str) -> tuple[int, str]:
    async def main() -> tuple[int, str]:
        await metrics.start()
        try:
            url = f"http://{metrics.settings.host}:{metrics.settings.port}{path}"
            async with aiohttp.ClientSession() as http, http.get(url) as reply:
                return reply.status, await reply.text()
        finally:
            await metrics.close()

    return asyncio.run(main())


def live(ami: dict[str, bool]) -> LiveState:
    return LiveState(
        calls_in_progress=lambda: 1,
        line_joined=lambda: [NOW - timedelta(seconds=40), NOW - timedelta(seconds=10)],
        ami_connected=lambda: ami,
        is_leader=lambda: True,
    )


SETTINGS = MetricsSettings(enabled=True, host="127.0.0.1", port=19234)


def test_every_series_counts_what_the_rows_and_the_live_state_say(tmp_path: Path) -> None:
    sessions = session_factory(open_engine(f"sqlite:///{tmp_path / 'h.db'}"))
    morning(sessions)
    metrics = Metrics(SETTINGS, live({"main": True, "xihu-box": False}), sessions)
    for seconds in (0.002, 0.004, 0.3):
        metrics.observe_agi(seconds)
    status, body = serve_and_get(metrics, "/metrics")
    assert status == 200
    got = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(body)
        for s in family.samples
    }
    assert got[("hotline_calls_total", (("outcome", "answered"),))] == 2
    assert got[("hotline_calls_total", (("outcome", "abandoned"),))] == 1
    assert ("hotline_calls_total", (("outcome", "live"),)) not in got
    assert got[("hotline_route_decisions_total", (("post", "pension-city"),))] == 2
    assert got[("hotline_route_decisions_total", (("post", "medical"),))] == 1
    assert got[("hotline_recordings_backlog", ())] == 2
    assert got[("hotline_survey_jobs", (("status", "pending"),))] == 2
    assert got[("hotline_survey_jobs", (("status", "answered"),))] == 1
    assert got[("hotline_calls_in_progress", ())] == 1
    assert got[("hotline_queue_callers", ())] == 2
    assert 40 <= got[("hotline_queue_longest_wait_seconds", ())] < 3600
    assert got[("hotline_ami_connected", (("site", "main"),))] == 1
    assert got[("hotline_ami_connected", (("site", "xihu-box"),))] == 0
    assert got[("hotline_leader", ())] == 1
    assert got[("hotline_agi_command_seconds_count", ())] == 3
    assert got[("hotline_agi_command_seconds_bucket", (("le", "0.005"),))] == 2
    assert got[("hotline_agi_command_seconds_bucket", (("le", "0.25"),))] == 2
    assert got[("hotline_agi_command_seconds_bucket", (("le", "0.5"),))] == 3


def test_health_is_503_naming_the_part_that_failed(tmp_path: Path) -> None:
    sessions = session_factory(open_engine(f"sqlite:///{tmp_path / 'h.db'}"))
    status, body = serve_and_get(Metrics(SETTINGS, live({"main": True}), sessions), "/healthz")
    report = json.loads(body)
    assert (status, report["healthy"], report["database"], report["leader"]) == (
        200,
        True,
        "writable",
        True,
    )
    status, body = serve_and_get(
        Metrics(SETTINGS, live({"main": True, "xihu-box": False}), sessions), "/healthz"
    )
    assert (status, json.loads(body)["ami"]) == (503, {"main": True, "xihu-box": False})
    gone = tmp_path / "gone.db"
    engine = open_engine(f"sqlite:///{gone}")
    engine.dispose()  # no connection kept open in the pool
    gone.unlink()
    gone.mkdir()  # the file is now a folder: no database can be opened there
    broken = session_factory(engine)
    status, body = serve_and_get(Metrics(SETTINGS, live({"main": True}), broken), "/healthz")
    assert status == 503 and json.loads(body)["database"].startswith("unavailable (")


def test_the_sample_grafana_dashboard_asks_only_for_series_hotline_serves(tmp_path: Path) -> None:
    sessions = session_factory(open_engine(f"sqlite:///{tmp_path / 'h.db'}"))
    morning(sessions)
    metrics = Metrics(SETTINGS, live({"main": True}), sessions)
    metrics.observe_agi(0.01)
    _status, body = serve_and_get(metrics, "/metrics")
    served = {s.name for f in text_string_to_metric_families(body) for s in f.samples}
    dashboard = (REPO / "contrib/grafana/hotline-dashboard.json").read_text()
    exprs = [t["expr"] for p in json.loads(dashboard)["panels"] for t in p["targets"]]
    asked = {name for expr in exprs for name in re.findall(r"hotline_\w+", expr)}
    assert asked and asked <= served, asked - served
