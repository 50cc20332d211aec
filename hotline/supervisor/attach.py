"""The supervisors' side, built for the composition root (hotline/controller/app.py): the
dashboard's board, its push hub, the listening desk and the web app, connected to what the
root passes in. The root hands it every followed AMI event from the main box (after its own
call tracker, `on_event`), ticks it once a second and starts and closes it with its own
lifecycle; the web app runs in the controller's loop."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import ClassVar

from sqlalchemy.orm import Session, sessionmaker

from hotline.pbx.calltracker import Change
from hotline.settings import WebSettings
from hotline.supervisor.auth import Accounts
from hotline.supervisor.errors import WebError
from hotline.supervisor.hub import Hub
from hotline.supervisor.live import Board, Thresholds
from hotline.supervisor.monitor import MonitorDesk, SendAction
from hotline.supervisor.scoring import load_sheet
from hotline.supervisor.web import Supervision, WebServer
from routing.directory import Directory
from routing.presence import AgentPresence
from routing.router import Plan

log = logging.getLogger("hotline.supervisor")


class SupervisorSide:
    events: ClassVar[frozenset[str]] = MonitorDesk.events  # the listening desk's

    def __init__(
        self,
        web: WebSettings,
        directory: Directory,
        recordings_root: Path,
        sessions: sessionmaker[Session],
        send: SendAction,
        presence: Callable[[], Mapping[str, AgentPresence]],
        waiting: Callable[[], Iterable[tuple[str, datetime]]],
        node_of: Callable[[str], str | None],
        plan_of: Callable[[str], Plan | None],
    ) -> None:
        """`send`: the main box's AMI actions; `presence`, `waiting` (the line: call, joined),
        `node_of` (a call's IVR node) and `plan_of` (its routing plan) read the live call
        handling for the board."""
        self.web_settings = web
        self.directory = directory
        self.board = Board(
            self.directory,
            presence=presence,
            waiting=waiting,
            node_of=node_of,
            plan_of=plan_of,
            thresholds=Thresholds(
                web.wait_alert_seconds, web.long_call_seconds, web.abandon_alert_percent
            ),
        )
        self.hub = Hub(self.board.snapshot, web.push_interval)
        self.monitor = MonitorDesk(sessions, send, web.monitor_roles, self.hub.notify)
        self.supervision = Supervision(
            settings=web,
            accounts=Accounts(sessions, web.session_minutes, web.session_max_hours),
            sessions=sessions,
            directory=lambda: self.directory,
            board=self.board,
            hub=self.hub,
            monitor=self.monitor,
            sheet=load_sheet(web.score_sheet),
            recordings_root=recordings_root,
        )
        self.server = WebServer(self.supervision)

    def use_directory(self, directory: Directory) -> None:
        self.directory = directory
        self.board.directory = directory
        self.hub.notify()

    def on_event(
        self, event: Mapping[str, str], changes: list[Change], presence_changed: bool
    ) -> None:
        self.monitor.on_event(event)
        if self.board.apply(changes) or presence_changed:
            self.hub.notify()

    async def start(self) -> None:
        try:
            await self.server.start()
        except OSError as exc:
            raise WebError(
                f"cannot listen for the dashboard on {self.web_settings.host}:"
                f"{self.web_settings.port}: {exc.strerror}"
            ) from None
        log.info(
            "event=web.ready url=http://%s:%d/", self.web_settings.host, self.web_settings.port
        )

    async def tick(self) -> None:
        """Once a second: queue joins, IVR nodes and wrap-up ends come without an AMI event.
        (A coroutine: APScheduler runs plain functions in a thread, off the loop.)"""
        if self.hub.clients:
            self.hub.notify()

    async def close(self) -> None:
        await self.server.close()
