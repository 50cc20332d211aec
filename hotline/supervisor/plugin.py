"""Wiring of the supervisors' side into the controller: builds the parts from the settings and
connects them. The controller calls `on_event` for every AMI event (after its own call tracker)
and `start` / `close` with its own lifecycle; the web app runs in the controller's loop."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime

from hotline.controller.calls import CallHandler
from hotline.pbx.ami import AmiClient, AmiError
from hotline.pbx.calltracker import Change
from hotline.pbx.dialplan import AGENT_EVENT, WRAPPED_CHANGE
from hotline.settings import Settings
from hotline.supervisor.auth import Accounts
from hotline.supervisor.desk import Desk
from hotline.supervisor.desk_matters import MatterDesk
from hotline.supervisor.desk_web import DeskWeb
from hotline.supervisor.errors import WebError
from hotline.supervisor.hub import Hub
from hotline.supervisor.live import Board, Thresholds
from hotline.supervisor.monitor import MonitorDesk
from hotline.supervisor.scoring import load_sheet
from hotline.supervisor.web import Supervision, WebServer
from routing.directory import Directory

log = logging.getLogger("hotline.supervisor")


class SupervisorWeb:
    def __init__(
        self,
        settings: Settings,
        calls: CallHandler,
        ami: AmiClient,
        matters: MatterDesk | None = None,
    ) -> None:
        """`matters`: the matters as the agents' desk asks for them (the controller's
        adapter); without it the desk shows no matters and offers no matter actions."""
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
        self.monitor = MonitorDesk(calls.sessions, ami.action, web.monitor_roles, self.hub.notify)
        self.ami = ami
        accounts = Accounts(calls.sessions, web.session_minutes, web.session_max_hours)
        presence = calls.presence
        # the agents' desk: pops from the same changes as the board, its own stream per agent
        self.desk = Desk(
            calls.sessions,
            lambda: self.directory,
            presence.snapshot,
            presence.owes_wrap_up,
            self._caller_of,
            settings.routing.wrap_up,
            matters,
        )
        desk_web = DeskWeb(self.desk, accounts, self._agent_change)
        self.supervision = Supervision(
            settings=web,
            accounts=accounts,
            sessions=calls.sessions,
            directory=lambda: self.directory,
            board=self.board,
            hub=self.hub,
            monitor=self.monitor,
            sheet=load_sheet(web.score_sheet),
            recordings_root=settings.recordings.directory,
            extra_routes=desk_web.routes(),
        )
        self.server = WebServer(self.supervision)

    def _node_of(self, linkedid: str) -> str | None:
        run = self.calls.runs.get(linkedid)
        return run.node_id if run is not None else None

    def _caller_of(self, linkedid: str) -> str | None:
        call = self.board.calls.get(linkedid)
        return call.caller_number if call is not None else None

    async def _agent_change(self, agent_id: str, change: str, reason: str) -> None:
        """The desk's state buttons and wrap-up: the UserEvent a seat's feature code raises, so
        every controller's presence hears it. A wrap-up also releases this controller's agent
        at once (the event, when it comes back, changes nothing more)."""
        if change == WRAPPED_CHANGE:
            self.calls.presence.wrapped_up(agent_id, datetime.now(UTC))
            self.hub.notify()
            self.desk.on_presence()
        try:
            await self.ami.action(
                "UserEvent", UserEvent=AGENT_EVENT, Change=change, Agent=agent_id, Reason=reason
            )
        except AmiError as exc:
            log.warning("event=desk.agent-change-failed agent=%s reason=%r", agent_id, str(exc))
            if change != WRAPPED_CHANGE:
                raise WebError(f"Asterisk did not take the change: {exc}") from None

    def use_directory(self, directory: Directory) -> None:
        self.directory = directory
        self.board.directory = directory
        self.hub.notify()

    def on_event(self, event: Mapping[str, str], changes: list[Change], other: bool) -> None:
        """`other`: the controller's presence or callbacks changed something too."""
        self.monitor.on_event(event)
        if self.board.apply(changes):
            self.desk.on_changes(changes)  # the board knows the callers of the legs answered
            for kind, snap in changes:
                if kind == "call.ended":
                    self.calls.routing.plans.pop(snap.linkedid, None)
            self.hub.notify()
        elif other:
            self.desk.on_presence()
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
        if self.desk.clients:
            self.desk.on_presence()

    async def close(self) -> None:
        await self.server.close()
