"""The controller process: FastAGI server, AMI client, call records, in one asyncio loop.

This module is the composition root: it builds the parts from the settings and connects them.
"""

from __future__ import annotations

import asyncio
import logging
import signal

from recordings.naming import message_name
from routing.directory import Directory
from store.db import open_engine, session_factory

from .agi import AgiSession, ChannelGone, FastAgiServer
from .ami import AmiClient, AmiError, Event
from .callrecords import CallRecordWriter, save_ivr_path
from .calltracker import CallSnapshot, CallTracker, Change, LegSnapshot
from .channel import AgiChannel
from .config import Settings
from .dialplan import INBOUND_CONTEXT
from .flow import Flow, load_flows
from .interpreter import FlowRun
from .lookups import LookupSource, SqliteContributions
from .prompts import catalogue_ids
from .runtime import Services, run_call
from .tickets import TicketDesk

log = logging.getLogger("hotline.controller")


def mask_number(number: str) -> str:
    """Caller numbers in logs: keep the first 3 and last 4 digits."""
    return number if len(number) <= 7 else number[:3] + "*" * (len(number) - 7) + number[-4:]


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


def build_lookups(settings: Settings) -> dict[str, LookupSource]:
    sources: dict[str, LookupSource] = {}
    for spec in settings.lookups:
        source = SqliteContributions(spec.database, spec.delay)
        if spec.seed is not None:
            source.seed(spec.seed)
        sources[spec.name] = source
    return sources


class Controller:
    def __init__(
        self, settings: Settings, flows: dict[str, Flow], prompt_ids: frozenset[str]
    ) -> None:
        self.settings = settings
        self.flows = flows
        self.directory: Directory = settings.directory
        self.prompt_ids = prompt_ids
        self.sessions = session_factory(open_engine(settings.database_url))
        self.records = CallRecordWriter(self.sessions)
        self.services = Services(
            directory=settings.directory,
            prompt_file=self._prompt_file,
            message_file=self._message_file,
            open_ticket=TicketDesk(self.sessions, settings.recordings.directory).open_ticket,
            lookups=build_lookups(settings),
            ring_timeout=settings.flows.ring_timeout,
        )
        self.tracker = CallTracker(INBOUND_CONTEXT, self._agent_for_endpoint)
        ami = settings.ami
        self.ami = AmiClient(
            ami.host,
            ami.port,
            ami.username,
            ami.secret,
            on_event=self._on_event,
            connect_timeout=ami.connect_timeout,
            action_timeout=ami.action_timeout,
        )
        agi = settings.agi
        self.agi = FastAgiServer(
            self._on_agi,
            agi.host,
            agi.port,
            agi.header_timeout,
            agi.command_timeout,
            agi.max_sessions,
        )

    def _prompt_file(self, prompt: str, language: str) -> str:
        """Our catalogue's prompts by language; other names are Asterisk's own sounds."""
        if prompt in self.prompt_ids:
            return f"{self.settings.prompts.asterisk_directory}/{language}/{prompt}"
        return prompt

    def _message_file(self, call_id: str, n: int) -> tuple[str, str]:
        name = message_name(call_id, n)
        return f"{self.settings.recordings.asterisk_directory}/{name}", name

    def _agent_for_endpoint(self, endpoint: str) -> str | None:
        agent = self.directory.agent_at_seat(endpoint)
        return agent.id if agent else None

    def _on_event(self, event: Event) -> None:
        changes: list[Change] = self.tracker.handle(event)
        for kind, snap in changes:
            log.info(describe(kind, snap))
        self.records.submit(changes)

    async def _on_agi(self, session: AgiSession) -> None:
        flow = self.flows.get(session.script)
        uniqueid = session.headers.get("agi_uniqueid", "?")
        if flow is None:
            log.warning("event=agi.unknown-flow uniqueid=%s script=%r", uniqueid, session.script)
            return  # HOTLINE_HANDLED stays unset: the dialplan's fallback takes the call
        channel = AgiChannel(session)
        caller = session.headers.get("agi_callerid", "")
        try:
            linkedid = await channel.get_variable("CHANNEL(linkedid)") or uniqueid
        except ChannelGone:
            return
        run = FlowRun(
            flow,
            variables={
                "language": self.settings.prompts.languages[0],
                "district": self.directory.district_of_number(caller) or "",
                "mode": "straight" if self.settings.flows.straight_to_agent else "menu",
            },
        )
        log.info(
            "event=ivr.start linkedid=%s flow=%s district=%s",
            linkedid,
            flow.name,
            run.variables["district"] or "-",
        )
        report = await run_call(run, channel, self.services, linkedid, caller)
        log.info(
            "event=ivr.end linkedid=%s node=%s steps=%d hung_up=%s",
            linkedid,
            run.node_id,
            len(report.steps),
            report.hung_up,
        )
        try:
            await asyncio.to_thread(save_ivr_path, self.sessions, linkedid, report.steps)
        except Exception:
            log.exception("event=store.failed what=ivr_path linkedid=%s", linkedid)

    async def connect_ami(self) -> None:
        while True:
            try:
                await self.ami.connect()
                return
            except AmiError as exc:
                if not self.settings.ami.wait_for_asterisk:
                    raise
                log.warning("event=ami.waiting reason=%r retry_in=2s", str(exc))
                await asyncio.sleep(2)

    async def run(self, stop: asyncio.Event) -> None:
        await self.connect_ami()
        try:
            await self.agi.start()
        except OSError as exc:
            self.ami.close()
            raise AmiError(
                f"cannot listen for FastAGI on {self.settings.agi.host}:"
                f"{self.settings.agi.port}: {exc.strerror}"
            ) from None
        writer = asyncio.create_task(self.records.run())
        log.info(
            "event=controller.ready agi=%s:%d ami=%s",
            self.settings.agi.host,
            self.settings.agi.port,
            self.ami.where,
        )
        await stop.wait()
        log.info("event=controller.stopping")
        await self.agi.close()
        self.ami.close()
        await self.records.flush()
        writer.cancel()
        log.info("event=controller.stopped")


async def serve(settings: Settings) -> None:
    prompt_ids = catalogue_ids(settings.prompts.catalogue)
    flows = load_flows(settings.flows.directory, set(settings.directory.posts), set(prompt_ids))
    controller = Controller(settings, flows, prompt_ids)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await controller.run(stop)
