"""Runs a flow on a live call: the interpreter decides, the channel acts, services answer.

Everything the runtime needs from outside (the seat directory, the clock, prompt files, data
sources, the ticket desk) comes in through `Services`, so a test can drive a whole call with a
scripted channel and no sockets.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import traceback
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from time import monotonic
from zoneinfo import ZoneInfo

from hotline.controller.routing_desk import RouteRequest, RoutingDesk
from hotline.pbx.agi import AgiError, AgiTimeout, ChannelGone
from ivr.channel import CallChannel
from ivr.interpreter import (
    Ask,
    BookSlot,
    CheckHours,
    Collect,
    Finish,
    FlowRun,
    Instruction,
    Lookup,
    Notify,
    Play,
    Record,
    Transfer,
)
from ivr.lookups import LookupFailed, LookupSource
from ivr.masking import scrub
from ivr.outcome import asks_for_person
from ivr.saying import say_number
from recordings.secure_pause import RecordingPause
from routing.directory import Directory
from routing.router import DialStep, Plan, find_post
from routing.waiting import Waiter

log = logging.getLogger("hotline.runtime")

HANDLED_VARIABLE = "HOTLINE_HANDLED"  # the dialplan's fallback runs unless the controller sets it
LOOKUP_TIMEOUT = 10.0
FILES_REMEMBERED = 4096  # (prompts, language) pairs whose files are kept


@dataclass(frozen=True)
class MessageSaved:
    """What the ticket desk needs to open a ticket for a recorded message."""

    call_id: str
    caller: str
    category: str
    file: str  # the recording's name, without folder
    # what the caller last asked about and where they are (the flow's `business` and
    # `district` variables): the matter raised for the message is owned by that post
    business: str = ""
    district: str = ""


@dataclass(frozen=True)
class NoticeAsked:
    """A caller asked for a catalogue notice by SMS (the flow's notify node)."""

    call_id: str
    caller: str
    notice: str
    language: str


async def no_notices(_asked: NoticeAsked) -> bool:
    return False


@dataclass(frozen=True)
class SlotAsked:
    """A caller asked to be called back in the next working slot (the flow's callback node)."""

    call_id: str
    caller: str
    business: str
    district: str


async def no_slots(_asked: SlotAsked) -> dict[str, str] | None:
    return None


@dataclass
class Services:
    directory: Directory
    prompt_file: Callable[[str, str], str]  # (prompt id, language) -> what Asterisk plays
    message_file: Callable[[str, int], tuple[str, str]]  # (call, n) -> (Asterisk path, name)
    open_ticket: Callable[[MessageSaved], Awaitable[str | None]]  # ticket number, None if empty
    routing: RoutingDesk
    lookups: Mapping[str, LookupSource] = field(default_factory=dict)
    pause: RecordingPause | None = None  # secure pause of the recording (None: never)
    send_notice: Callable[[NoticeAsked], Awaitable[bool]] = no_notices  # True: sent
    # the booked slot's variables (callback_slot, ticket), None when it could not be booked
    book_slot: Callable[[SlotAsked], Awaitable[dict[str, str] | None]] = no_slots
    now: Callable[[], datetime] = lambda: datetime.now(UTC)
    # (call, when): the caller asked for a person, told at that moment (the call's asked_at)
    asked: Callable[[str, datetime], None] = lambda _call, _at: None
    # (prompts, language) -> files: the same few prompt lists are resolved on every call
    _files: dict[tuple[tuple[str, ...], str], tuple[str, ...]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def files(self, prompts: tuple[str, ...], language: str) -> tuple[str, ...]:
        """What Asterisk plays for `prompts` in `language`, remembered (`prompt_file` is
        fixed for the services' life; said-back numbers make new lists, hence the cap)."""
        key = (prompts, language)
        found = self._files.get(key)
        if found is None:
            if len(self._files) >= FILES_REMEMBERED:
                self._files.clear()
            found = self._files[key] = tuple(self.prompt_file(p, language) for p in prompts)
        return found


@dataclass
class Step:
    node: str
    outcome: str
    started: datetime
    seconds: float


@dataclass
class CallReport:
    steps: list[Step] = field(default_factory=list)
    hung_up: bool = False  # the caller left (or Asterisk stopped answering) before the end


async def run_call(
    run: FlowRun,
    channel: CallChannel,
    services: Services,
    call_id: str,
    caller: str = "",
    site: str = "main",
    channel_name: str = "",
) -> CallReport:
    """Drive `run` to its end or to the caller's hang-up; returns the steps taken. `site`:
    the Asterisk box the call is on (seats are dialled from there); `channel_name`: the
    caller's channel there (the secure pause mutes its recording).

    Logging: each step at DEBUG, and one `ivr.path` line per call at INFO with every node and
    outcome (the same path is stored with the call). A formatted log line costs more than the
    whole step it describes, so the per-step lines are only built when DEBUG is on.
    """
    report = CallReport()
    steps, path, now = report.steps, run.path, services.now
    driver = _Driver(run, channel, services, call_id, caller, site, channel_name)
    debug = log.isEnabledFor(logging.DEBUG)
    # nodes settled before the first instruction (set, switch)
    steps += [Step(v.node, v.outcome, now(), 0.0) for v in path]
    try:
        return await _drive(run, driver, report, call_id, debug)
    except Exception as exc:
        # an error's text may quote what the caller keyed (a back end's message, a reply
        # line): it leaves here with the call's secrets masked, and its traceback with it
        raise _masked(exc, run, call_id) from None


def _masked(exc: Exception, run: FlowRun, call_id: str) -> Exception:
    secrets = run.secrets()
    if isinstance(exc, AgiError):  # its text is logged by the session layer: same type
        return type(exc)(scrub(str(exc), secrets))
    told = scrub("".join(traceback.format_exception(exc)), secrets)
    log.error("event=ivr.crashed call=%s node=%s\n%s", call_id, run.node_id, told.rstrip())
    return RuntimeError(f"flow crashed at node {run.node_id}: {scrub(str(exc), secrets)}")


async def _drive(
    run: FlowRun, driver: _Driver, report: CallReport, call_id: str, debug: bool
) -> CallReport:
    steps, path, now, perform = report.steps, run.path, driver.services.now, driver.perform
    channel = driver.channel
    flow, services = run.flow, driver.services
    asking = asks_for_person(flow, run.node_id)
    if asking:
        services.asked(call_id, now())
    while not run.finished:
        node, step = run.node_id, run.instruction()
        started, clock = now(), monotonic()
        try:
            outcome, data = await perform(step)
        except ChannelGone:
            steps.append(Step(node, "hangup", started, monotonic() - clock))
            report.hung_up = True
            log.info("event=ivr.hangup call=%s node=%s", call_id, node)
            _log_path(call_id, steps)
            return report
        except AgiTimeout:
            # Asterisk never answered: the session is given up (the dialplan's fallback
            # queue takes the caller once Asterisk runs again); the path so far is kept
            steps.append(Step(node, "no-reply", started, monotonic() - clock))
            report.hung_up = True
            log.warning("event=ivr.no-reply call=%s node=%s", call_id, node)
            _log_path(call_id, steps)
            return report
        seen = len(path)
        run.advance(outcome, data)
        taken = monotonic() - clock
        if asking != (asks := asks_for_person(flow, run.node_id)):
            asking = asks  # a new ask starts when the flow enters the agent or a route node
            if asks:
                services.asked(call_id, now())
        visit = path[seen]  # this node, then any set/switch nodes settled on the way
        steps.append(Step(visit.node, visit.outcome, started, taken))
        if len(path) > seen + 1:
            steps += [Step(v.node, v.outcome, started, 0.0) for v in path[seen + 1 :]]
        if debug:
            for v in path[seen:]:
                log.debug("event=ivr.step call=%s node=%s outcome=%s", call_id, v.node, v.outcome)
    if run.exhausted:  # left unhandled: the dialplan's fallback queue takes the caller
        log.warning("event=ivr.exhausted call=%s node=%s steps=%d", call_id, run.node_id, run.steps)
    else:
        await channel.set_variable(HANDLED_VARIABLE, "1")
    _log_path(call_id, steps)
    return report


def _log_path(call_id: str, steps: list[Step]) -> None:
    """One line per call: the nodes and their outcomes, in order (`node:outcome>...`)."""
    if log.isEnabledFor(logging.INFO):
        log.info(
            "event=ivr.path call=%s steps=%d path=%s",
            call_id,
            len(steps),
            ">".join([f"{s.node}:{s.outcome}" for s in steps]),
        )


class _Driver:
    def __init__(
        self,
        run: FlowRun,
        channel: CallChannel,
        services: Services,
        call_id: str,
        caller: str,
        site: str,
        channel_name: str = "",
    ) -> None:
        self.run, self.channel, self.services = run, channel, services
        self.call_id, self.caller, self.site = call_id, caller, site
        self.channel_name = channel_name
        self.messages = 0

    def files(self, prompts: tuple[str, ...]) -> tuple[str, ...]:
        return self.services.files(prompts, self.run.variables["language"])

    async def perform(self, step: Instruction) -> tuple[str, Mapping[str, str] | None]:
        pause = self.services.pause
        if pause is not None and isinstance(step, (Ask, Collect)):
            kind = step.readback if isinstance(step, Ask) else step.sensitive
            direction = pause.direction(kind, isinstance(step, Ask))
            if direction is not None:  # the recording is muted while this step runs
                async with pause.span(self.call_id, self.site, self.channel_name, kind, direction):
                    return await self._perform(step)
        return await self._perform(step)

    async def _perform(self, step: Instruction) -> tuple[str, Mapping[str, str] | None]:
        ch = self.channel
        if isinstance(step, Ask):  # the commonest first
            key = await ch.ask(self.files(step.prompts), step.timeout)
            return (f"digit:{key}" if key else "timeout"), None
        if isinstance(step, Play):
            key = await ch.play(self.files(step.prompts), escape=step.keys)
            return (f"digit:{key}" if key else "done"), None
        if isinstance(step, Collect):
            keys = await ch.collect(
                self.files(step.prompts),
                step.max_length,
                step.terminator,
                step.timeout,
                step.inter_digit_timeout,
            )
            return ("timeout" if keys is None else f"input:{keys}"), None
        if isinstance(step, CheckHours):
            return ("open" if self.is_open() else "closed"), None
        if isinstance(step, Lookup):
            return await self.lookup(step)
        if isinstance(step, Record):
            return await self.record(step)
        if isinstance(step, BookSlot):
            asked_slot = SlotAsked(self.call_id, self.caller, step.business, step.district)
            booked = await self.services.book_slot(asked_slot)
            log.info("event=callback.slot call=%s booked=%s", self.call_id, booked is not None)
            return ("booked", booked) if booked else ("failed", None)
        if isinstance(step, Notify):
            asked = NoticeAsked(self.call_id, self.caller, step.notice, self.run.language)
            sent = await self.services.send_notice(asked)
            log.info(
                "event=notice.asked call=%s notice=%s sent=%s", self.call_id, step.notice, sent
            )
            return ("sent" if sent else "failed"), None
        if isinstance(step, Transfer):
            return await self.transfer(step), None
        assert isinstance(step, Finish)
        await ch.play(self.files(step.prompts))
        return "done", None

    def is_open(self) -> bool:
        directory = self.services.directory
        local = self.services.now().astimezone(ZoneInfo(directory.timezone))
        return directory.calendar.is_open(local)

    async def lookup(self, step: Lookup) -> tuple[str, Mapping[str, str] | None]:
        source = self.services.lookups.get(step.source)
        if source is None:
            log.error("event=lookup.unknown call=%s source=%s", self.call_id, step.source)
            return "error", None
        task = asyncio.ensure_future(source.query(step.inputs))
        try:
            done, _ = await asyncio.wait({task}, timeout=step.slow_after)
            if not done and step.slow_prompt:  # tell the caller, then keep waiting
                log.info("event=lookup.slow call=%s source=%s", self.call_id, step.source)
                await self.channel.play(self.files((step.slow_prompt,)))
            result = await asyncio.wait_for(task, LOOKUP_TIMEOUT)
        except (LookupFailed, TimeoutError) as exc:
            log.warning(
                "event=lookup.failed call=%s source=%s reason=%r",
                self.call_id,
                step.source,
                scrub(str(exc), self.run.secrets()),  # a back end may quote its inputs
            )
            return "error", None
        finally:
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        return ("found", result) if result is not None else ("not_found", None)

    async def record(self, step: Record) -> tuple[str, Mapping[str, str] | None]:
        self.messages += 1
        asterisk_path, name = self.services.message_file(self.call_id, self.messages)
        await self.channel.play(self.files((step.prompt,)), escape="#")
        hung_up = await self.channel.record(asterisk_path, step.max_seconds)
        ticket = await self.services.open_ticket(
            MessageSaved(
                self.call_id,
                self.caller,
                step.category,
                name,
                self.run.variables.get("business", ""),
                self.run.variables.get("district", ""),
            )
        )
        log.info(
            "event=message.saved call=%s category=%s ticket=%s",
            self.call_id,
            step.category,
            ticket or "-",
        )
        if hung_up:
            raise ChannelGone("hung up after leaving a message")
        return ("recorded", {"ticket": ticket}) if ticket else ("empty", None)

    async def transfer(self, step: Transfer) -> str:
        directory, desk = self.services.directory, self.services.routing
        asked = monotonic()  # overflow tiers open by the time since the caller asked
        post = find_post(directory, step.post, step.business, step.district or None)
        if step.hold_prompt:
            key = await self.channel.play(
                self.files((step.hold_prompt,)), escape=step.self_service_key
            )
            if key:
                return "self-service"
        request = RouteRequest(
            self.call_id, self.caller, post, step.business, step.district, self.run.language
        )
        offer = step.offer_callback and desk.offers_callback(request)
        first = await desk.plan(request)
        plan: Plan | None = first
        later: Plan | None = None  # a plan made in line that rang someone
        attempts: list[tuple[DialStep, str]] = []
        waiter: Waiter | None = None
        waited = 0.0
        try:
            while True:
                if plan is not None:
                    answered = await self.ring(plan, attempts)
                    if plan is not first and plan.steps:
                        later = plan
                    if answered:
                        return "answered"
                if not desk.queue.enabled or waited >= desk.queue.max_wait:
                    return "no-answer"
                if waiter is None:  # nobody free: wait in line, announced
                    waiter = desk.line.join(self.call_id, self.services.now())
                    queued, next_announcement = monotonic(), 0.0
                if monotonic() >= next_announcement:
                    next_announcement = monotonic() + desk.queue.announce_every
                    key = await self.channel.play(
                        self.files(self.announcement(waiter, offer)),
                        escape="1" if offer else "",
                    )
                else:
                    key = await self.channel.ask([], desk.queue.retry_every)
                if key == "1" and offer and await desk.book_callback(request, waiter.joined_at):
                    return "callback"
                waited = monotonic() - queued
                # only the head of the line rings, and only after older callbacks
                if desk.line.ahead(waiter) == 0 and not desk.callback_ahead_of(waiter.joined_at):
                    plan = await desk.plan(request, monotonic() - asked)
                else:
                    plan = None
        finally:
            if waiter is not None:
                desk.line.leave(waiter)
            await desk.record(request, first, attempts, waited, later)

    async def ring(self, plan: Plan, attempts: list[tuple[DialStep, str]]) -> bool:
        """Ring the plan's agents in turn, each step decided when the one before has failed;
        True when one answered."""
        desk = self.services.routing
        while (attempt := plan.next_step()) is not None:
            if not await desk.claim(attempt.agent_id, self.call_id):
                attempts.append((attempt, "CLAIMED"))  # another call rings them now
                continue
            try:
                target = self.services.directory.dial_target(attempt.endpoint, self.site)
                result = await self.channel.dial(target, attempt.timeout)
            finally:
                desk.release(attempt.agent_id)
            attempts.append((attempt, result.status))
            desk.rang(attempt.agent_id, result.status)
            log.info(
                "event=route.attempt call=%s agent=%s endpoint=%s reason=%r status=%s",
                self.call_id,
                attempt.agent_id,
                attempt.endpoint,
                attempt.reason,
                result.status,
            )
            if result.answered:
                return True
        return False

    def announcement(self, waiter: Waiter, offer_callback: bool) -> tuple[str, ...]:
        """'N callers ahead of you; the expected wait is about M minutes', then the offer."""
        desk, language = self.services.routing, self.run.language
        minutes = desk.line.expected_wait_minutes(waiter, desk.agents_on_duty())
        return (
            "queue_position",
            *say_number(desk.line.ahead(waiter), language),
            "queue_position_end",
            "queue_expected_wait",
            *say_number(minutes, language),
            "unit/minutes",
            "queue_callback_offer" if offer_callback else "queue_hold",
        )
