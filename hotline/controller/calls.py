"""One IVR call from start to end, whichever AGI front end carried it.

`CallHandler.handle(session)` picks the flow, seeds the caller's variables (language,
district from the number, straight-to-agent mode), runs the flow through the runtime and
stores the IVR path. The FastAGI controller and the classic process-per-call entry both use
it; only the session under the channel differs.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from hotline.controller.callrecords import asked_at, ivr_ended, ivr_path, own_call
from hotline.controller.routing_desk import RoutingDesk
from hotline.matters.ivr_callbacks import IvrCallbacks
from hotline.matters.notify import NoticeDesk
from hotline.matters.service import MatterService
from hotline.matters.sms import sender_of
from hotline.matters.tickets import TicketDesk
from hotline.pbx.agi import ChannelGone
from hotline.settings import Settings
from hotline.store.db import open_engine, session_factory
from hotline.store.writebehind import WriteBehind
from hotline.surveys.policy import RATINGS
from hotline.surveys.service import SURVEY_VARIABLE, Rating, SurveyStore
from ivr.channel import AgiChannel, AgiConversation
from ivr.flow import Flow, load_flows
from ivr.interpreter import FlowRun
from ivr.lookups import LookupSource, SqliteContributions
from ivr.outcome import ivr_end
from ivr.prompts import catalogue_ids
from ivr.runtime import MessageSaved, Services, Step, run_call
from recordings.naming import message_name
from routing.directory import Directory
from routing.presence import Presence

log = logging.getLogger("hotline.calls")

IVR_ENDS_KEPT = 1024  # IVR summaries kept for the call tracker's hang-up (usually milliseconds)


def build_lookups(settings: Settings) -> dict[str, LookupSource]:
    sources: dict[str, LookupSource] = {}
    for spec in settings.lookups:
        source = SqliteContributions(spec.database, spec.delay)
        if spec.seed is not None:
            source.seed(spec.seed)
        sources[spec.name] = source
    return sources


def load_call_flows(settings: Settings) -> tuple[dict[str, Flow], frozenset[str]]:
    """The flows, checked against the seat directory and the prompt catalogue."""
    prompt_ids = catalogue_ids(settings.prompts.catalogue)
    flows = load_flows(
        settings.flows.directory,
        set(settings.directory.posts),
        set(prompt_ids),
        set(settings.directory.businesses),
    )
    return flows, prompt_ids


class CallHandler:
    def __init__(self, settings: Settings, presence: Presence | None = None) -> None:
        """`presence`: the controller's, fed from AMI; without it (the classic entry) every
        logged-in agent counts as free and Asterisk's answer to each ring decides."""
        self.settings = settings
        self.flows, self.prompt_ids = load_call_flows(settings)
        self.sessions = session_factory(open_engine(settings.database_url))
        self.store = WriteBehind(self.sessions)  # call data, kept while the db is away
        rt = settings.routing
        self.presence = presence or Presence(
            settings.directory,
            timedelta(seconds=rt.wrap_up_seconds),
            rt.agents_start_logged_in,
            hold_for_wrap_up=rt.wrap_up.required,
        )
        self.routing = RoutingDesk(
            settings.directory,
            self.presence,
            self.sessions,
            settings.flows.ring_timeout,
            rt.ownership,
            queue=rt.queue,
            store=self.store,
            overflow=rt.overflow,
            auto_pause_after=rt.auto_pause_after,
        )
        self.matters = MatterService(
            self.sessions, settings.directory, settings.matters.departments, settings.matters.due
        )
        sms = settings.matters.sms
        self.notices = NoticeDesk(
            self.sessions,
            settings.matters.notices,
            sender_of(sms.sender, sms.outbox_file, sms.url, sms.attempts, sms.timeout),
            self.matters,
        )
        self.surveys = SurveyStore(self.sessions, lambda: self.settings.directory, settings.surveys)
        self.runs: dict[str, FlowRun] = {}  # live IVR sessions by linkedid (the dashboard's node)
        # ended IVR sessions' summaries until the tracker sees the call's hang-up (the AGI
        # session usually ends first); bounded: another controller may follow the hang-up
        self.ivr_ends: OrderedDict[str, str] = OrderedDict()
        self.services = Services(
            directory=settings.directory,
            prompt_file=self.prompt_file,
            message_file=self.message_file,
            open_ticket=TicketDesk(
                self.sessions, settings.recordings.directory, self.matters
            ).open_ticket,
            routing=self.routing,
            lookups=build_lookups(settings),
            send_notice=self.notices.from_ivr,
            book_slot=IvrCallbacks(self.matters).book_slot,
            asked=self.asked,
        )

    def asked(self, linkedid: str, at: datetime) -> None:
        """The caller asked for a person: stored now, not derived when the call ends."""
        self.store.submit("asked", asked_at(linkedid, at))

    def ivr_end_of(self, linkedid: str) -> str | None:
        return self.ivr_ends.pop(linkedid, None)

    def use_directory(self, directory: Directory) -> None:
        """A reloaded seat directory, for the calls that start from now on."""
        self.settings = replace(self.settings, directory=directory)
        self.presence.reload(directory)
        self.routing.use_directory(directory)
        self.services.directory = directory
        self.matters.use_directory(directory)

    def prompt_file(self, prompt: str, language: str) -> str:
        """Our catalogue's prompts by language; other names are Asterisk's own sounds."""
        if prompt in self.prompt_ids:
            return f"{self.settings.prompts.asterisk_directory}/{language}/{prompt}"
        return prompt

    def message_file(self, call_id: str, n: int) -> tuple[str, str]:
        name = message_name(call_id, n)
        return f"{self.settings.recordings.asterisk_directory}/{name}", name

    async def handle(self, session: AgiConversation, flow_name: str, site: str = "main") -> None:
        """`site`: the Asterisk box the call is on, as its dialplan named itself."""
        name = flow_name
        flow = self.flows.get(name)
        uniqueid = session.headers.get("agi_uniqueid", "?")
        if flow is None:
            log.warning("event=agi.unknown-flow uniqueid=%s flow=%r", uniqueid, name)
            return  # HOTLINE_HANDLED stays unset: the dialplan's fallback takes the call
        if site != "main" and site not in self.settings.directory.sites:
            log.warning("event=agi.unknown-site uniqueid=%s site=%r", uniqueid, site)
            return  # a dialplan from another configuration: the fallback queue, a person
        channel = AgiChannel(session)
        caller = session.headers.get("agi_callerid", "")
        try:
            linkedid = await channel.get_variable("CHANNEL(linkedid)") or uniqueid
        except ChannelGone:
            return
        directory = self.settings.directory
        run = FlowRun(
            flow,
            variables={
                "language": self.settings.prompts.languages[0],
                "district": directory.district_of_number(caller) or "",
                "mode": "straight" if self.settings.flows.straight_to_agent else "menu",
                # said by the after-hours prompts: change the calendar, callers hear it
                "service_hours": directory.calendar.hours_text(),
            },
        )
        log.info(
            "event=ivr.start linkedid=%s flow=%s district=%s site=%s",
            linkedid,
            flow.name,
            run.variables["district"] or "-",
            site,
        )
        if flow.name == self.settings.surveys.flow:
            await self.survey_call(channel, flow, linkedid)
            return
        self.runs[linkedid] = run
        try:
            report = await run_call(
                run,
                channel,
                self.services,
                linkedid,
                caller,
                site,
                session.headers.get("agi_channel", ""),
            )
        finally:
            self.runs.pop(linkedid, None)
            self.routing.plans.pop(linkedid, None)  # nothing of an ended call is kept
        log.info(
            "event=ivr.end linkedid=%s node=%s steps=%d hung_up=%s",
            linkedid,
            run.node_id,
            len(report.steps),
            report.hung_up,
        )
        self._save_path(linkedid, report.steps)
        end = ivr_end(flow, ((s.node, s.outcome) for s in report.steps), run.exhausted)
        self.ivr_ends[linkedid] = end
        while len(self.ivr_ends) > IVR_ENDS_KEPT:
            self.ivr_ends.popitem(last=False)
        self.store.submit("ivr_end", ivr_ended(linkedid, end))
        survey = self.flows.get(self.settings.surveys.flow)
        talked = bool(report.steps) and report.steps[-1].outcome == "answered"
        agent_left = talked and not report.hung_up and not session.hung_up
        if survey is not None and self.settings.surveys.enabled and agent_left:
            # the agent hung up first (or sent the caller here): the caller hears the survey
            await self.survey(
                channel, survey, linkedid, caller, run.language, "in-call", len(report.steps)
            )

    def _save_path(self, linkedid: str, steps: list[Step], first: int = 0) -> None:
        self.store.submit("ivr_path", ivr_path(linkedid, steps, first))

    async def survey_call(self, channel: AgiChannel, flow: Flow, linkedid: str) -> None:
        """A survey call the controller placed: the job says which call is rated. The call
        itself is stored as a call of kind `survey` naming the rated call."""
        started = datetime.now(UTC)
        try:
            job_id = await channel.get_variable(SURVEY_VARIABLE)
        except ChannelGone:
            return
        job = await asyncio.to_thread(self.surveys.job, int(job_id)) if job_id.isdigit() else None
        if job is None:
            log.warning("event=survey.unknown-job linkedid=%s job=%r", linkedid, job_id)
            return
        await self.survey(
            channel,
            flow,
            job.linkedid,
            job.number,
            self.settings.prompts.languages[0],
            "survey-call",
            0,
            survey_linkedid=linkedid,
        )
        # answered: the AGI session runs once the citizen picked up
        self.store.submit(
            "survey_call",
            own_call(
                linkedid, "survey", job.linkedid, job.number, started, started, datetime.now(UTC)
            ),
        )

    async def survey(
        self,
        channel: AgiChannel,
        flow: Flow,
        rated: str,
        caller: str,
        language: str,
        how: str,
        first_step: int,
        survey_linkedid: str | None = None,
    ) -> None:
        """Run the survey flow for call `rated`; store the rating (once per call)."""
        comments: list[str] = []

        async def keep_comment(message: MessageSaved) -> str | None:
            comments.append(message.file)
            return message.file

        run = FlowRun(flow, variables={"language": language})
        # a key pressed in the survey is no ask for a person on the rated call
        services = replace(self.services, open_ticket=keep_comment, asked=lambda _c, _at: None)
        report = await run_call(run, channel, services, survey_linkedid or rated, caller)
        self._save_path(survey_linkedid or rated, report.steps, first_step)
        rating = run.variables.get("rating", "")
        if rating not in RATINGS:
            log.info("event=survey.not-rated linkedid=%s channel=%s", rated, how)
            return
        saved = Rating(
            rated,
            caller,
            rating,
            run.variables.get("reason", ""),
            comments[-1] if comments else "",
            how,
        )
        now = datetime.now(UTC)

        def store(session: Session) -> None:
            stored = self.surveys.save_in(session, saved, now)
            log.info(
                "event=survey.%s linkedid=%s rating=%s channel=%s",
                "rated" if stored else "duplicate",
                rated,
                rating,
                how,
            )

        self.store.submit("survey", store)
