"""Wiring of the supervisors' side into the controller: builds the parts from the settings and
connects them. The controller calls `on_event` for every AMI event (after its own call tracker)
and `start` / `close` with its own lifecycle; the web app runs in the controller's loop."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from hotline.controller.calls import CallHandler
from hotline.pbx.ami import AmiClient
from hotline.pbx.calltracker import Change
from hotline.settings import Settings
from hotline.supervisor.auth import Accounts
from hotline.supervisor.errors import WebError
from hotline.supervisor.hub import Hub
from hotline.supervisor.live import Board, Thresholds
from hotline.supervisor.monitor import MonitorDesk
from hotline.supervisor.scoring import load_sheet
from hotline.supervisor.web import Supervision, WebServer
from routing.directory import Directory

log = logging.getLogger("hotline.supervisor")


class SupervisorWeb:
    def __init__(self, settings: Settings, calls: CallHandler, ami: AmiClient) -> None:
        web = settings.web
        self.settings = web
        self.calls = calls
        self.directory = settings.directory
        desk = calls.routing
        self.board = Board(
            self.directory,
            presence=calls.presence.snapshot,
            waiting=lambda: [(w.call_id, w.joined_at) for w in desk.line.waiters],
            node_of=self._node_of,
            plan_of=desk.plans.get,
            thresholds=Thresholds(
                web.wait_alert_seconds, web.long_call_seconds, web.abandon_alert_percent
            ),
        )
        self.hub = Hub(self.board.snapshot, web.push_interval)
        self.monitor = MonitorDesk(
            calls.sessions,
            ami.action,
            web.monitor_roles,
            self.hub.notify,
            number=settings.dialplan.number,
        )
        self.supervision = Supervision(
            settings=web,
            accounts=Accounts(calls.sessions, web.session_minutes, web.session_max_hours),
            sessions=calls.sessions,
            directory=lambda: self.directory,
            board=self.board,
            hub=self.hub,
            monitor=self.monitor,
            sheet=load_sheet(web.score_sheet),
            recordings_root=settings.recordings.directory,
        )
        self.server = WebServer(self.supervision)

    def _node_of(self, linkedid: str) -> str | None:
        run = self.calls.runs.get(linkedid)
        return run.node_id if run is not None else None

    def use_directory(self, directory: Directory) -> None:
        self.directory = directory
        self.board.directory = directory
        self.hub.notify()

    def on_event(self, event: Mapping[str, str], changes: list[Change], other: bool) -> None:
        """`other`: the controller's presence or callbacks changed something too."""
        self.monitor.on_event(event)
        if self.board.apply(changes):
            for kind, snap in changes:
                if kind == "call.ended":
                    self.calls.routing.plans.pop(snap.linkedid, None)
            self.hub.notify()
        elif other:
            self.hub.notify()

    async def start(self) -> None:
        try:
            await self.server.start()
        except OSError as exc:
            raise WebError(
                f"cannot listen for the dashboard on {self.settings.host}:{self.settings.port}: "
                f"{exc.strerror}"
            ) from None
        log.info("event=web.ready url=http://%s:%d/", self.settings.host, self.settings.port)

    async def tick(self) -> None:
        """Once a second: queue joins, IVR nodes and wrap-up ends come without an AMI event.
        (A coroutine: APScheduler runs plain functions in a thread, off the loop.)"""
        if self.hub.clients:
            self.hub.notify()

    async def close(self) -> None:
        await self.server.close()
