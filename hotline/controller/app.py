"""The controller process: FastAGI server, AMI client, call records, in one asyncio loop.

This module is the composition root: it builds the parts from the settings and connects them.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
import time
from collections.abc import Coroutine
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sdnotify import SystemdNotifier
from sqlalchemy.exc import SQLAlchemyError

from hotline.controller.assembly import (
    call_handler,
    matter_service,
    new_presence,
    notice_desk,
    open_database,
    recording_catalogue,
    routing_desk,
    web_accounts,
)
from hotline.controller.callbacks import CallbackDispatcher
from hotline.controller.callrecords import calls_and_legs, close_stale_calls
from hotline.controller.desk_matters import DeskMatters
from hotline.controller.hooks import Hooks
from hotline.controller.leader import SchedulerLeader
from hotline.controller.matter_board import MatterBoardAdapter, board_alert
from hotline.controller.recorder import Recorder
from hotline.matters.alerts import OverdueAlerts
from hotline.matters.lifecycle import Alert
from hotline.matters.service import MatterView
from hotline.metrics.server import LiveState, Metrics
from hotline.pbx.agi import AgiSession, FastAgiServer
from hotline.pbx.ami import AmiClient, AmiError, Event, plain_event
from hotline.pbx.calltracker import CallSnapshot, CallTracker, Change, LegSnapshot, event_time
from hotline.pbx.dialplan import CALLERS_TRUNK, INBOUND_CONTEXT
from hotline.pbx.presence_events import PresenceFeed
from hotline.settings import Settings, load_directory
from hotline.store import wrapup_owed
from hotline.store.leases import AgentClaims, LeaderLease, holder_name
from hotline.store.writebehind import WriteBehind
from hotline.supervisor.attach import SupervisorSide
from hotline.supervisor.live import MATTER_ALERT_HOURS
from hotline.surveys.service import SurveyDispatcher, SurveyStore
from hotline.tomltables import ConfigError
from ivr.masking import mask_number
from recordings.secure_pause import AmiRecordingPause, PausePolicy
from routing.directory import Directory
from routing.wrapup import held_at_start

log = logging.getLogger("hotline.controller")

STOP_FLUSH_SECONDS = 10.0


def describe(kind: str, snap: CallSnapshot | LegSnapshot) -> str:
    if isinstance(snap, CallSnapshot):
        return (
            f"event={kind} linkedid={snap.linkedid} caller={mask_number(snap.caller_number)} "
            f"did={snap.did} outcome={snap.outcome}"
        )
    return (
        f"event={kind} linkedid={snap.linkedid} uniqueid={snap.uniqueid} "
        f"endpoint={snap.endpoint} agent={snap.agent_id or '-'} status={snap.dial_status or '-'}"
    )


class Controller:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.directory: Directory = settings.directory
        self.background: set[asyncio.Future[None]] = set()
        self.wrap_up_timer: asyncio.TimerHandle | None = None  # the next wrap-up's end
        self.wrap_up_due: datetime | None = None
        self.ready = asyncio.Event()  # set once calls are taken (systemd's READY=1)
        # Features attach here: the AMI events they read, the end of a call, timed jobs
        # (hotline/controller/hooks.py). The AMI clients follow the union of declared events.
        self.hooks = Hooks()
        self.sessions = open_database(settings)  # the one place the database is opened
        self.store = WriteBehind(self.sessions)  # call data written behind, kept while away
        self.presence = new_presence(settings)  # fed from AMI (PresenceFeed)
        self.presence_feed = PresenceFeed(self.presence, self.directory)
        self.routing = routing_desk(settings, self.presence, self.sessions, self.store)
        self.survey_store = SurveyStore(self.sessions, lambda: self.directory, settings.surveys)
        self.matters = matter_service(settings, self.sessions)
        self.notices = notice_desk(settings, self.sessions, self.matters)
        # Every Asterisk whose calls enter this controller: the main box ([ami]) and each
        # [[site]] box with an AMI port. Each one's events feed presence (its own seats) and
        # its own call tracker; call-control actions (callbacks, surveys, the dashboard's
        # listening) go to the main box only.
        ami = settings.ami
        boxes = {"main": (ami.host, ami.port)} | {
            site.id: (site.address, site.ami_port)
            for site in settings.directory.sites.values()
            if site.ami_port is not None
        }
        self.amis = {
            site: AmiClient(
                host,
                port,
                ami.username,
                ami.secret,
                on_event=partial(self._on_event, site),
                on_login=partial(self._on_login, site),
                on_lost=partial(self._on_lost, site),
                connect_timeout=ami.connect_timeout,
                action_timeout=ami.action_timeout,
            )
            for site, (host, port) in boxes.items()
        }
        self.ami = self.amis["main"]
        # secure pause: the IVR mutes a call's recording on the Asterisk box the call is on
        rec = settings.recordings
        pause = AmiRecordingPause(
            PausePolicy(rec.secure_pause, rec.pause_readback),
            {site: client.action for site, client in self.amis.items()},
            self.store.submit,
        )
        self.calls = call_handler(
            settings,
            self.sessions,
            self.store,
            self.routing,
            self.survey_store,
            self.matters,
            self.notices,
            pause,
        )
        self.trackers = {
            site: CallTracker(INBOUND_CONTEXT, self._agent_for_endpoint, self.calls.ivr_end_of)
            for site in boxes
        }
        self.recorder = Recorder(
            settings.recordings,
            recording_catalogue(settings, self.sessions, lambda: self.directory),
            self.store.flush,
        )
        # calls the hotline places show its number ([dialplan] number) as name and number
        caller_id = f'"{settings.dialplan.number}" <{settings.dialplan.number}>'
        self.callbacks = CallbackDispatcher(
            self.routing,
            self.ami,
            self.sessions,
            caller_id,
            on_outcome=self.matters.callback_outcome,
        )
        self.overdue = OverdueAlerts(self.matters, notify=self._matter_alert)
        self.surveys = SurveyDispatcher(
            self.survey_store,
            self.ami,
            caller_id,
            CALLERS_TRUNK,
            lambda: datetime.now(UTC),
        )
        self.clock = AsyncIOScheduler(
            job_defaults={"max_instances": 1, "coalesce": True, "misfire_grace_time": None}
        )
        # several controllers on one database (README "Two controllers on PostgreSQL"): the
        # timed jobs run on one leader; agents are claimed in the database too
        scale = settings.scale
        holder = holder_name(f"agi{settings.agi.port}")
        self.claims = AgentClaims(self.sessions, holder, timedelta(seconds=scale.claim_lease))
        if scale.shared_claims:
            self.routing.share_claims(self.claims)
        self.leader = SchedulerLeader(
            LeaderLease(self.sessions, holder, lease=timedelta(seconds=scale.leader_lease)),
            self._on_elected,
        )
        # the supervisors' dashboard, in this loop (hotline/supervisor/attach.py builds it)
        self.web: SupervisorSide | None = None
        if settings.web.enabled:
            self.web = SupervisorSide(
                settings.web,
                self.directory,
                settings.recordings.directory,
                self.sessions,
                web_accounts(settings, self.sessions),
                self.ami.action,
                presence=self.presence.snapshot,
                waiting=lambda: [(w.call_id, w.joined_at) for w in self.routing.waiters()],
                node_of=self.calls.node_of,
                plan_of=self.routing.plan_of,
                wrap_up=settings.routing.wrap_up,
                owes_wrap_up=self.presence.owes_wrap_up,
                wrapped_up=self.presence.wrapped_up,
                number=settings.dialplan.number,
                # the agents' desk reaches the matters through this adapter (layer siblings)
                matters=DeskMatters(self.matters, self.notices),
                # the supervisors' matters views and the departments' reply page
                matter_board=MatterBoardAdapter(self.matters),
            )
        # Prometheus metrics and the health check, on their own address ([metrics])
        self.metrics: Metrics | None = None
        if settings.metrics.enabled:
            self.metrics = Metrics(
                settings.metrics,
                LiveState(
                    calls_in_progress=lambda: sum(len(t.calls) for t in self.trackers.values()),
                    line_joined=lambda: [w.joined_at for w in self.routing.waiters()],
                    ami_connected=lambda: {s: a.logged_in for s, a in self.amis.items()},
                    is_leader=lambda: self.leader.is_leader,
                ),
                self.sessions,
            )
        agi = settings.agi
        self.agi = FastAgiServer(
            self._on_agi,
            agi.host,
            agi.port,
            agi.header_timeout,
            agi.command_timeout,
            agi.max_sessions,
            agi.allow,
            timed=self.metrics.observe_agi if self.metrics is not None else None,
        )
        self._attach()

    def _attach(self) -> None:
        """What reads AMI events, what follows the end of a call, what runs on the clock. A
        new feature is built above and attached here, in a line or two."""
        hooks = self.hooks
        # the controller's own fold, called in _on_event in this order
        hooks.reads(self.presence_feed, self.callbacks, *self.trackers.values())
        if self.web is not None:  # its monitoring acts on the main box
            hooks.on_event(self.web, main_only=True)
        # one controller catalogues and processes each recording; a new leader's
        # reconciliation catches up
        hooks.on_changes(self.recorder.on_changes, leader_only=True)
        hooks.on_call_end(lambda call: self.routing.forget(call.linkedid))  # nothing kept
        # APScheduler is the clock only: what is due lives in the callback table
        hooks.every(2, self.callbacks.tick, "callbacks")
        hooks.every(self.settings.matters.alert_every, self.overdue.tick, "matters")
        if self.web is not None:  # the alerts the leader raised, on every controller's board
            every = self.settings.matters.alert_every
            hooks.every(every, self._stored_matter_alerts, "matter-alerts", leader_only=False)
        # recordings: reconcile the folder with the catalogue (at election) and on the clock
        hooks.every(self.settings.recordings.reconcile_every, self.recorder.maintain, "recordings")
        if self.settings.surveys.enabled:
            hooks.every(2, self.surveys.tick, "surveys")
        if self.web is not None:  # queue joins, IVR nodes, wrap-up ends come without events
            hooks.every(1, self.web.tick, "dashboard", leader_only=False)
        followed = hooks.followed_events()
        for client in self.amis.values():
            client.follow(followed)

    def _matter_alert(self, alert: Alert, matter: MatterView) -> None:
        """An overdue matter's or a late hand-over's alert, also on the supervisors' board."""
        if self.web is not None:
            self.web.matter_alert(board_alert(alert, matter))

    async def _stored_matter_alerts(self) -> None:
        """Only the leader's clock raises matters' alerts (stamped in the store); every
        controller's board reads those of the board's window back, so a supervisor on any
        controller's web sees them (and a restarted controller's board too)."""
        if self.web is None:
            return
        since = datetime.now(UTC) - timedelta(hours=MATTER_ALERT_HOURS)
        raised = await asyncio.to_thread(self.matters.alerts_since, since)
        self.web.stored_matter_alerts((board_alert(a, m), at) for a, m, at in raised)

    def _agent_for_endpoint(self, endpoint: str) -> str | None:
        agent = self.directory.agent_at_seat(endpoint)
        return agent.id if agent else None

    def _on_event(self, site: str, event: Event) -> None:
        at = event_time(event)
        changed = self.presence_feed.apply(event, at, site) or (
            # every controller hears a callback's result; the leader (who placed it) keeps it
            self.callbacks.on_result(event)
            if event.get("Event") == "UserEvent" and self.leader.is_leader
            else None
        )
        if changed:
            log.info(changed)
            self._time_wrap_ups()
        changes: list[Change] = self.trackers[site].handle(event, at)
        for kind, snap in changes:
            log.info(describe(kind, snap))
            if kind == "leg.answered" and isinstance(snap, LegSnapshot) and snap.agent_id:
                # with wrap-up codes required, the agent now owes this call's code
                self.presence.answered(snap.agent_id, at)
                if self.presence.hold_for_wrap_up:  # and a restarted controller knows it
                    self.store.submit(
                        "wrap_up_owed", wrapup_owed.owe(snap.linkedid, snap.agent_id, at)
                    )
        if changes:
            self.store.submit("calls", calls_and_legs(changes))
        self.hooks.event_seen(site, event, changes, changed is not None, self.leader.is_leader)

    def _time_wrap_ups(self) -> None:
        """Wrap-ups end by the clock, not by an event: presence is told when the next one ends,
        so a routing decision reads presence without doing that work."""
        end = self.presence.next_wrap_up_end()
        if end == self.wrap_up_due:
            return
        if self.wrap_up_timer is not None:
            self.wrap_up_timer.cancel()
            self.wrap_up_timer = None
        self.wrap_up_due = end
        if end is not None:
            delay = max(0.0, (end - datetime.now(UTC)).total_seconds())
            self.wrap_up_timer = asyncio.get_running_loop().call_later(delay, self._end_wrap_ups)

    def _end_wrap_ups(self) -> None:
        self.wrap_up_timer = self.wrap_up_due = None
        self.presence.expire(datetime.now(UTC))
        self._time_wrap_ups()

    def reload_directory(self) -> None:
        """SIGHUP: read the seat directory again; a broken file keeps the old one running."""
        try:
            directory = load_directory(self.settings.seats_file)
        except ConfigError as exc:
            log.error(
                "event=directory.reload-failed reason=%r (the previous directory stays)", str(exc)
            )
            return
        self.directory = directory
        self.settings = replace(self.settings, directory=directory)
        self.presence_feed.use_directory(directory)  # presence too
        self.routing.use_directory(directory)
        self.matters.use_directory(directory)
        self.calls.use_directory(directory)
        self._time_wrap_ups()
        if self.web is not None:
            self.web.use_directory(directory)
        log.info(
            "event=directory.reloaded seats=%d agents=%d posts=%d",
            len(directory.seats),
            len(directory.agents),
            len(directory.posts),
        )

    def _on_login(self, site: str) -> None:
        """On every (re)connect: presence is re-read from Asterisk, never left stale."""
        self._spawn(self.resync(site))

    def _on_lost(self, site: str) -> None:
        """A site box's AMI is gone: its seats are not rung until it answers again. (Not the
        main box: every call enters through it, and a brief AMI reconnect with Asterisk alive
        must not empty the whole centre.)"""
        if site != "main":
            self._site_unreachable(site)

    def _site_unreachable(self, site: str) -> None:
        seats = self.presence_feed.site_lost(site, datetime.now(UTC))
        log.warning("event=presence.site-lost site=%s seats=%d", site, seats)
        self._time_wrap_ups()

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        self.background.add(task := asyncio.ensure_future(work))
        task.add_done_callback(self.background.discard)

    async def resync(self, site: str = "main") -> None:
        try:
            reply = await self.amis[site].action("DeviceStateList", timeout=10)
        except AmiError as exc:
            log.warning("event=presence.resync-failed site=%s reason=%r", site, str(exc))
            return
        messages = reply if isinstance(reply, list) else [reply]
        seats = 0
        for message in messages:
            event = plain_event(message)
            if event.get("Event") == "DeviceStateChange":
                at = event_time(event)
                seats += self.presence_feed.apply(event, at, site) is not None
        log.info("event=presence.resync site=%s seats=%d", site, seats)
        self._time_wrap_ups()
        await self._close_stale_calls()

    async def _close_stale_calls(self) -> None:
        """Calls stored as live that no followed Asterisk still has are closed. The call rows
        do not say which box a call is on, so every box is asked; with one box unreachable
        nothing is closed (its calls may be alive)."""
        asked = datetime.now(UTC)
        keep: set[str] = set()
        for site, ami in self.amis.items():
            try:
                reply = await ami.action("CoreShowChannels", timeout=10)
            except AmiError as exc:
                log.warning("event=calls.resync-failed site=%s reason=%r", site, str(exc))
                return
            messages = reply if isinstance(reply, list) else [reply]
            alive = {plain_event(m).get("Linkedid", "") for m in messages}
            if site == "main":  # callbacks are placed on the main box
                self.callbacks.forget_gone(alive, asked)
            # calls this box no longer has lost their Hangup (a restart): their rows close below
            self.trackers[site].forget_gone(alive, asked)
            keep |= alive | set(self.trackers[site].calls)
        self.store.submit("stale_calls", close_stale_calls(keep, asked, datetime.now(UTC)))

    async def _on_agi(self, session: AgiSession) -> None:
        # a site box's dialplan names the box in the first argument (dialplan._agi_steps)
        await self.calls.handle(session, session.script, session.arg(1) or "main")

    async def _on_elected(self) -> None:
        """This controller now runs the timed jobs: first what a previous leader (or this
        controller before a restart) left half done. Rows left 'dialing' are not redialled."""
        await asyncio.to_thread(self.callbacks.recover)
        surveys = self.settings.surveys.enabled
        if surveys and (stuck := await asyncio.to_thread(self.survey_store.recover)):
            log.warning("event=survey.unknown count=%d reason='stopped while dialing'", stuck)
        self.recorder.start()

    async def _renew_claims(self) -> None:
        try:
            await asyncio.to_thread(self.routing.renew_claims)
        except SQLAlchemyError as exc:  # they expire unless renewed in time
            log.warning("event=claim.renew-failed reason=%r", str(exc))

    def _release_claims(self) -> None:
        try:
            self.claims.release_all()
        except SQLAlchemyError as exc:
            log.warning("event=claim.release-failed reason=%r", str(exc))

    async def connect_ami(self, ami: AmiClient, wait: bool) -> None:
        while True:
            try:
                await ami.connect()
                return
            except AmiError as exc:
                if not wait:
                    raise
                log.warning("event=ami.waiting where=%s reason=%r retry_in=2s", ami.where, str(exc))
                await asyncio.sleep(2)

    def close_ami(self) -> None:
        for ami in self.amis.values():
            ami.close()

    async def hold_owed_wrap_ups(self) -> None:
        """Before any call is offered: agents who owed a wrap-up code when the controller
        stopped owe it still (presence keeps the hold in memory; the store keeps what is owed,
        written only while codes were required). With codes not required nothing is owed."""
        if not self.presence.hold_for_wrap_up:
            forgiven = await asyncio.to_thread(wrapup_owed.forgive, self.sessions)
            if forgiven:
                log.info("event=wrap-up.forgiven codes=%d (wrap_up_required is off)", forgiven)
            return
        owed = await asyncio.to_thread(wrapup_owed.owed, self.sessions)
        held = held_at_start(owed, frozenset(self.directory.agents), required=True)
        now = datetime.now(UTC)
        for agent_id in held:
            self.presence.answered(agent_id, now)
        log.info("event=wrap-up.held-again agents=%s", ",".join(held) or "-")

    async def run(self, stop: asyncio.Event) -> None:
        await self.hold_owed_wrap_ups()
        await self.connect_ami(self.ami, self.settings.ami.wait_for_asterisk)
        # a site box that is down must not keep the controller (and the main box's calls)
        # from starting: it is followed from whenever it answers
        for site, ami in self.amis.items():
            if site != "main":
                self._site_unreachable(site)  # until its AMI answers and its seats are read
                self._spawn(self.connect_ami(ami, wait=True))
        try:
            await self.agi.start()
        except OSError as exc:
            self.close_ami()
            raise AmiError(
                f"cannot listen for FastAGI on {self.settings.agi.host}:"
                f"{self.settings.agi.port}: {exc.strerror}"
            ) from None
        if self.web is not None:
            try:
                await self.web.start()
            except Exception:
                await self.agi.close()
                self.close_ami()
                raise
        if self.metrics is not None:
            try:
                await self.metrics.start()
            except OSError as exc:
                await self.agi.close()
                if self.web is not None:
                    await self.web.close()
                self.close_ami()
                raise AmiError(
                    f"cannot serve metrics on {self.settings.metrics.host}:"
                    f"{self.settings.metrics.port}: {exc.strerror}"
                ) from None
        # the scheduler lease first: a lone controller leads (and recovers) from its start
        await self.leader.renew()
        gate = self.leader.gate
        self.clock.add_job(self.leader.renew, "interval", seconds=self.leader.every, id="leader")
        if self.settings.scale.shared_claims:
            self.clock.add_job(
                self._renew_claims,
                "interval",
                seconds=self.settings.scale.claim_lease / 3,
                id="claims",
            )
        for job in self.hooks.jobs:  # what parts attached (_attach)
            run = gate(job.run) if job.leader_only else job.run
            self.clock.add_job(run, "interval", seconds=job.every, id=job.id)
        self.clock.start()
        # The start-up heap (flows, directory, prompts, modules) lives as long as the process:
        # out of the collector's sight it is not walked again on every collection (the
        # FastAGI benchmark's h/p rose from 0.75 to 0.85 with it). Objects freed later by
        # reference counting (a directory replaced on SIGHUP) are still freed.
        gc.collect()
        gc.freeze()
        log.info(
            "event=controller.ready agi=%s:%d ami=%s",
            self.settings.agi.host,
            self.settings.agi.port,
            ",".join(f"{site}@{ami.where}" for site, ami in self.amis.items()),
        )
        self.ready.set()
        await stop.wait()
        log.info("event=controller.stopping")
        self.recorder.stopping.set()  # its long passes end between two recordings
        if self.wrap_up_timer is not None:
            self.wrap_up_timer.cancel()
        self.clock.shutdown(wait=False)
        await self.leader.step_down()
        if self.settings.scale.shared_claims:
            await asyncio.to_thread(self._release_claims)
        await self.agi.close()
        if self.web is not None:
            await self.web.close()
        if self.metrics is not None:
            await self.metrics.close()
        for task in self.background:  # a site box still being waited for, a resync
            task.cancel()
        self.close_ami()
        try:  # what is still queued for the database, while it is reachable
            await asyncio.wait_for(self.store.flush(), STOP_FLUSH_SECONDS)
        except TimeoutError:
            log.error("event=store.unwritten kept=%d", self.store.queue.qsize())
        self.store.close()
        await self.recorder.close()
        log.info("event=controller.stopped")


async def serve(settings: Settings) -> None:
    """Run the controller until SIGTERM/SIGINT; SIGHUP re-reads the seat directory. Under
    systemd (`Type=notify`, contrib/systemd/hotline.service) it reports ready, reloading and
    stopping; elsewhere the notifier does nothing."""
    controller = Controller(settings)
    systemd = SystemdNotifier()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    def stopping() -> None:
        systemd.notify("STOPPING=1")
        stop.set()

    def reload() -> None:
        systemd.notify(f"RELOADING=1\nMONOTONIC_USEC={time.monotonic_ns() // 1000}")
        controller.reload_directory()
        systemd.notify("READY=1")

    async def report_ready() -> None:
        await controller.ready.wait()
        systemd.notify(f"READY=1\nSTATUS=taking calls on {settings.agi.host}:{settings.agi.port}")

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping)
    loop.add_signal_handler(signal.SIGHUP, reload)
    ready = asyncio.create_task(report_ready())
    try:
        await controller.run(stop)
    finally:
        ready.cancel()
