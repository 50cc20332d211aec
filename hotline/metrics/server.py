"""Metrics for Prometheus and a health check for a load balancer, on their own address
(`[metrics]`, off by default; never the dashboard's port, which is for people).

`GET /metrics` (Prometheus text format, prometheus-client) answers, at the moment of the scrape:

| series | kind | what |
|---|---|---|
| `hotline_calls_in_progress` | gauge | calls this controller's Asterisk boxes have up now |
| `hotline_calls_total{outcome}` | counter | ended calls stored, by outcome (database-wide) |
| `hotline_route_decisions_total{post}` | counter | routing decisions stored, by post |
| `hotline_queue_callers` | gauge | callers in this controller's line for an agent |
| `hotline_queue_longest_wait_seconds` | gauge | how long the first of them has waited |
| `hotline_recordings_backlog` | gauge | recordings catalogued but not yet archived/measured |
| `hotline_survey_jobs{status}` | gauge | survey calls by status (pending, dialing, ...) |
| `hotline_ami_connected{site}` | gauge | 1 while logged in to that box's AMI |
| `hotline_leader` | gauge | 1 while this controller runs the timed jobs |
| `hotline_agi_command_seconds` | histogram | one AGI command's round trip to Asterisk |

The `_total` and job series are counted in the database, so every controller sharing one
database reports the same values: aggregate them with `max`, not `sum`. The others are the
controller's own.

`GET /healthz`: 200 when every Asterisk box's AMI is logged in and the database takes a write
transaction, else 503; the JSON body says which part failed and whether this controller leads.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from hotline.metrics.settings import MetricsSettings
from hotline.store.db import write
from hotline.store.models import Call, Recording, RouteDecision, SurveyJob

# AGI round trips are milliseconds on one box; the tail matters (a caller hears it)
AGI_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


@dataclass(frozen=True)
class LiveState:
    """What the controller knows in memory, read at each scrape."""

    calls_in_progress: Callable[[], int]
    line_joined: Callable[[], list[datetime]]  # when each caller in the line joined it
    ami_connected: Callable[[], Mapping[str, bool]]  # site -> logged in
    is_leader: Callable[[], bool]


class HotlineCollector(Collector):
    """The series read at scrape time: the controller's state and counts in the database."""

    def __init__(self, live: LiveState, sessions: sessionmaker[Session]) -> None:
        self.live = live
        self.sessions = sessions

    def collect(self) -> Iterator[Metric]:
        live = self.live
        yield _gauge("hotline_calls_in_progress", "Calls up now", live.calls_in_progress())
        joined = live.line_joined()
        yield _gauge("hotline_queue_callers", "Callers in the line for an agent", len(joined))
        longest = (datetime.now(UTC) - min(joined)).total_seconds() if joined else 0.0
        yield _gauge(
            "hotline_queue_longest_wait_seconds", "How long the first caller has waited", longest
        )
        ami = GaugeMetricFamily(
            "hotline_ami_connected", "1 while logged in to the box's AMI", labels=["site"]
        )
        for site, connected in sorted(live.ami_connected().items()):
            ami.add_metric([site], 1.0 if connected else 0.0)
        yield ami
        yield _gauge("hotline_leader", "1 while this controller leads", float(live.is_leader()))
        yield from self._counted()

    def _counted(self) -> Iterator[Metric]:
        with self.sessions() as session:
            outcomes = session.execute(
                select(Call.outcome, func.count())
                .where(Call.ended_at.is_not(None))
                .group_by(Call.outcome)
            ).all()
            posts = session.execute(
                select(RouteDecision.post, func.count()).group_by(RouteDecision.post)
            ).all()
            backlog = session.scalar(
                select(func.count())
                .select_from(Recording)
                .where(Recording.processed_at.is_(None), Recording.state.in_(("ok", "repaired")))
            )
            jobs = session.execute(
                select(SurveyJob.status, func.count()).group_by(SurveyJob.status)
            ).all()
        calls = CounterMetricFamily(
            "hotline_calls", "Ended calls stored, by outcome", labels=["outcome"]
        )
        for outcome, count in sorted(outcomes):
            calls.add_metric([outcome], count)
        yield calls
        decisions = CounterMetricFamily(
            "hotline_route_decisions", "Routing decisions stored, by post", labels=["post"]
        )
        for post, count in sorted(posts):
            decisions.add_metric([post], count)
        yield decisions
        yield _gauge(
            "hotline_recordings_backlog", "Recordings waiting to be processed", backlog or 0
        )
        survey = GaugeMetricFamily(
            "hotline_survey_jobs", "Survey calls by status", labels=["status"]
        )
        for status, count in sorted(jobs):
            survey.add_metric([status], count)
        yield survey


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)


class Metrics:
    """The registry, the AGI timing histogram and the small HTTP server that serves both."""

    def __init__(
        self, settings: MetricsSettings, live: LiveState, sessions: sessionmaker[Session]
    ) -> None:
        self.settings = settings
        self.live = live
        self.sessions = sessions
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(HotlineCollector(live, sessions))
        self.agi_seconds = Histogram(
            "hotline_agi_command_seconds",
            "One AGI command's round trip to Asterisk",
            buckets=AGI_BUCKETS,
            registry=self.registry,
        )
        self._runner: web.AppRunner | None = None

    def observe_agi(self, seconds: float) -> None:
        self.agi_seconds.observe(seconds)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/healthz", self._health)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.settings.host, self.settings.port).start()

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _metrics(self, _request: web.Request) -> web.Response:
        body = await asyncio.to_thread(generate_latest, self.registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def _health(self, _request: web.Request) -> web.Response:
        report = await asyncio.to_thread(self.health)
        status = 200 if report["healthy"] else 503
        return web.Response(status=status, text=json.dumps(report), content_type="application/json")

    def health(self) -> dict[str, object]:
        ami = dict(self.live.ami_connected())
        database = database_writable(self.sessions)
        return {
            "healthy": bool(ami) and all(ami.values()) and database == "writable",
            "ami": ami,
            "database": database,
            "leader": self.live.is_leader(),
            "checked_at": time.time(),
        }


def database_writable(sessions: sessionmaker[Session]) -> str:
    """'writable', or why not (no personal data: the driver's error class only)."""
    try:
        with write(sessions) as session:  # SQLite: BEGIN IMMEDIATE takes the write lock
            if session.get_bind().dialect.name == "postgresql" and session.scalar(
                text("SELECT pg_is_in_recovery()")
            ):
                return "read-only (a standby)"
            session.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        return f"unavailable ({exc.__class__.__name__})"
    return "writable"
