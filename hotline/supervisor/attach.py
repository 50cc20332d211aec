"""The supervisors' side, built for the composition root (hotline/controller/app.py): the
dashboard's board, its push hub, the listening desk and the web app, connected to what the
root passes in. The root hands it every followed AMI event from the main box (after its own
call tracker, `on_event`), ticks it once a second and starts and closes it with its own
lifecycle; the web app runs in the controller's loop."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar

from sqlalchemy.orm import Session, sessionmaker

from hotline.pbx.ami import AmiError
from hotline.pbx.calltracker import Change
from hotline.pbx.dialplan import AGENT_EVENT, WRAPPED_CHANGE
from hotline.supervisor.auth import Accounts
from hotline.supervisor.desk import Desk, owner_alert
from hotline.supervisor.desk_matters import MatterDesk
from hotline.supervisor.desk_web import DeskWeb
from hotline.supervisor.errors import WebError
from hotline.supervisor.hub import Hub
from hotline.supervisor.live import Board, Thresholds
from hotline.supervisor.matter_board import MatterBoard
from hotline.supervisor.matters_web import MattersWeb
from hotline.supervisor.monitor import MonitorDesk, SendAction
from hotline.supervisor.scoring import load_sheet
from hotline.supervisor.settings import WebSettings
from hotline.supervisor.web import Supervision, WebServer
from routing.directory import Directory
from routing.presence import AgentPresence
from routing.router import Plan
from routing.wrapup import WrapUpPolicy

log = logging.getLogger("hotline.supervisor")


class SupervisorSide:
    events: ClassVar[frozenset[str]] = MonitorDesk.events  # the listening desk's

    def __init__(
        self,
        web: WebSettings,
        directory: Directory,
        recordings_root: Path,
        sessions: sessionmaker[Session],
        accounts: Accounts,
        send: SendAction,
        presence: Callable[[], Mapping[str, AgentPresence]],
        waiting: Callable[[], Iterable[tuple[str, datetime]]],
        node_of: Callable[[str], str | None],
        plan_of: Callable[[str], Plan | None],
        wrap_up: WrapUpPolicy,
        owes_wrap_up: Callable[[str], bool],
        wrapped_up: Callable[[str, datetime], None],
        number: str,
        matters: MatterDesk | None = None,
        matter_board: MatterBoard | None = None,
    ) -> None:
        """`send`: the main box's AMI actions; `presence`, `waiting` (the line: call, joined),
        `node_of` (a call's IVR node) and `plan_of` (its routing plan) read the live call
        handling for the board; `owes_wrap_up` and `wrapped_up` are presence's wrap-up hold,
        for the agents' desk; `matters`: the matters as the desk asks for them (the root's
        adapter; without it the desk shows no matters and offers no matter actions);
        `matter_board`: the matters as the supervisors' views and the departments' page ask for
        them (the root's adapter; without it there are no matters pages); `number`:
        the hotline's, shown on a supervisor's phone when it rings to listen."""
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
        self.monitor = MonitorDesk(
            sessions, send, web.monitor_roles, self.hub.notify, number=number
        )
        self.send = send
        self.wrapped_up = wrapped_up
        # the agents' desk: pops from the same changes as the board, its own stream per agent
        self.desk = Desk(
            sessions,
            lambda: self.directory,
            presence,
            owes_wrap_up,
            self._caller_of,
            wrap_up,
            matters,
        )
        desk_web = DeskWeb(self.desk, accounts, self._agent_change)
        routes = desk_web.routes()
        if matter_board is not None:
            routes += MattersWeb(matter_board, lambda: self.directory, self.desk.remind).routes()
        self.supervision = Supervision(
            settings=web,
            accounts=accounts,
            sessions=sessions,
            directory=lambda: self.directory,
            board=self.board,
            hub=self.hub,
            monitor=self.monitor,
            sheet=load_sheet(web.score_sheet),
            recordings_root=recordings_root,
            extra_routes=routes,
        )
        self.server = WebServer(self.supervision)

    def _caller_of(self, linkedid: str) -> str | None:
        call = self.board.calls.get(linkedid)
        return call.caller_number if call is not None else None

    async def _agent_change(self, agent_id: str, change: str, reason: str) -> None:
        """The desk's state buttons and wrap-up: the UserEvent a seat's feature code raises, so
        every controller's presence hears it. A wrap-up also releases this controller's agent
        at once (the event, when it comes back, changes nothing more)."""
        if change == WRAPPED_CHANGE:
            self.wrapped_up(agent_id, datetime.now(UTC))
            self.hub.notify()
            self.desk.on_presence()
        try:
            await self.send(
                "UserEvent", UserEvent=AGENT_EVENT, Change=change, Agent=agent_id, Reason=reason
            )
        except AmiError as exc:
            log.warning("event=desk.agent-change-failed agent=%s reason=%r", agent_id, str(exc))
            if change != WRAPPED_CHANGE:
                raise WebError(f"Asterisk did not take the change: {exc}") from None

    def matter_alert(self, alert: Mapping[str, object]) -> None:
        """A matter's alert (the matters' clock raised it) onto the board's alert list, pushed
        to the browsers whose scope covers the matter's district."""
        self.board.matter_alert(alert, datetime.now(UTC))
        self.hub.notify()
        self._tell_owner(alert)

    def stored_matter_alerts(self, alerts: Iterable[tuple[Mapping[str, object], datetime]]) -> None:
        """Matters' alerts as the store has them (any controller's clock raised them): those
        this board does not show yet are added and pushed, in scope as above."""
        added = [alert for alert, at in alerts if self.board.stored_matter_alert(alert, at)]
        if added:
            self.hub.notify()
        for alert in added:
            self._tell_owner(alert)

    def _tell_owner(self, alert: Mapping[str, object]) -> None:
        """An alert for the owner reaches the owner's own desk too, on the controller whose
        board takes it first (the leader's raise, else the store's read-back)."""
        if (told := owner_alert(alert)) is not None:
            self.desk.alert_owner(*told)

    def use_directory(self, directory: Directory) -> None:
        self.directory = directory
        self.board.directory = directory
        self.hub.notify()

    def on_event(
        self, event: Mapping[str, str], changes: list[Change], presence_changed: bool
    ) -> None:
        self.monitor.on_event(event)
        if self.board.apply(changes):
            self.desk.on_changes(changes)  # the board knows the callers of the legs answered
            self.hub.notify()
        elif presence_changed:
            self.desk.on_presence()
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
        if self.desk.clients:
            self.desk.on_presence()

    async def close(self) -> None:
        await self.server.close()
