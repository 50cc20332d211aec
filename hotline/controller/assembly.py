"""Builds the call handling, each service once: the database, presence, the routing desk, the
survey store, the matters and notices, the ticket desk, the data sources and the `CallHandler`
they serve.

Two processes handle calls and each has its composition root: the controller daemon
(`hotline.controller.app.Controller`, FastAGI) and the classic process-per-call entry
(`hotline agi`, `classic_call_handler` below). Both build their call handling here, so no
service's constructor opens a database or builds a sibling. Kept apart from app.py so that the
per-call process does not import the daemon's scheduler, metrics and dashboard.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from hotline.controller.calls import CallHandler
from hotline.controller.routing_desk import RoutingDesk
from hotline.matters.ivr_callbacks import IvrCallbacks
from hotline.matters.notify import NoticeDesk
from hotline.matters.service import MatterService
from hotline.matters.sms import sender_of
from hotline.matters.tickets import TicketDesk
from hotline.settings import Settings
from hotline.store.db import open_engine, session_factory
from hotline.store.writebehind import WriteBehind
from hotline.supervisor.auth import Accounts
from hotline.surveys.service import SurveyStore
from ivr.flow import Flow, load_flows
from ivr.lookups import LookupSource, SqliteContributions
from ivr.ports import RecordingPause
from ivr.prompts import catalogue_ids
from recordings.catalogue import Catalogue
from routing.directory import Directory
from routing.presence import Presence


def open_database(settings: Settings) -> sessionmaker[Session]:
    return session_factory(open_engine(settings.database_url))


def web_accounts(settings: Settings, sessions: sessionmaker[Session]) -> Accounts:
    """The dashboard's, desk's and departments' accounts and sessions ([web] limits)."""
    return Accounts(sessions, settings.web.session_minutes, settings.web.session_max_hours)


def recording_catalogue(
    settings: Settings, sessions: sessionmaker[Session], directory: Callable[[], Directory]
) -> Catalogue:
    """The recordings' catalogue. A recording's district (for district scope) is its post's,
    else its caller number's; `directory` is asked each time (the controller reloads it)."""

    def district_of(post: str, number: str) -> str:
        seats = directory()
        found = seats.posts.get(post)
        return found.district if found else seats.district_of_number(number) or ""

    rec = settings.recordings
    return Catalogue(sessions, rec.directory, rec.retention, district_of)


def new_presence(settings: Settings) -> Presence:
    """Presence before any AMI event: the controller's is fed from AMI; the classic entry's
    is never fed, so every logged-in agent counts as free and Asterisk's answer to each ring
    decides."""
    rt = settings.routing
    return Presence(
        settings.directory,
        timedelta(seconds=rt.wrap_up_seconds),
        rt.agents_start_logged_in,
        hold_for_wrap_up=rt.wrap_up.required,
    )


def routing_desk(
    settings: Settings, presence: Presence, sessions: sessionmaker[Session], store: WriteBehind
) -> RoutingDesk:
    rt = settings.routing
    return RoutingDesk(
        settings.directory,
        presence,
        sessions,
        settings.flows.ring_timeout,
        rt.ownership,
        queue=rt.queue,
        store=store,
        overflow=rt.overflow,
        auto_pause_after=rt.auto_pause_after,
    )


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


def build_lookups(settings: Settings) -> dict[str, LookupSource]:
    sources: dict[str, LookupSource] = {}
    for spec in settings.lookups:
        source = SqliteContributions(spec.database, spec.delay)
        if spec.seed is not None:
            source.seed(spec.seed)
        sources[spec.name] = source
    return sources


def matter_service(settings: Settings, sessions: sessionmaker[Session]) -> MatterService:
    mt = settings.matters
    return MatterService(sessions, settings.directory, mt.departments, mt.due)


def notice_desk(
    settings: Settings, sessions: sessionmaker[Session], matters: MatterService
) -> NoticeDesk:
    sms = settings.matters.sms
    return NoticeDesk(
        sessions,
        settings.matters.notices,
        sender_of(sms.sender, sms.outbox_file, sms.url, sms.attempts, sms.timeout),
        matters,
    )


def call_handler(
    settings: Settings,
    sessions: sessionmaker[Session],
    store: WriteBehind,
    routing: RoutingDesk,
    surveys: SurveyStore,
    matters: MatterService,
    notices: NoticeDesk,
    pause: RecordingPause | None = None,
) -> CallHandler:
    flows, prompt_ids = load_call_flows(settings)
    return CallHandler(
        settings,
        flows,
        prompt_ids,
        store,
        routing,
        surveys,
        open_ticket=TicketDesk(sessions, settings.recordings.directory, matters).open_ticket,
        lookups=build_lookups(settings),
        send_notice=notices.from_ivr,
        book_slot=IvrCallbacks(matters).book_slot,
        pause=pause,
    )


def classic_call_handler(settings: Settings) -> tuple[CallHandler, WriteBehind]:
    """The classic entry's composition root: one call in this process, no AMI (no presence
    feed, no secure pause). Returns the handler and the store to flush before the process
    ends."""
    sessions = open_database(settings)
    store = WriteBehind(sessions)  # call data, kept while the db is away
    routing = routing_desk(settings, new_presence(settings), sessions, store)
    surveys = SurveyStore(sessions, lambda: settings.directory, settings.surveys)
    matters = matter_service(settings, sessions)
    notices = notice_desk(settings, sessions, matters)
    return call_handler(settings, sessions, store, routing, surveys, matters, notices), store
