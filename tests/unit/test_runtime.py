"""The flow runtime driven through a scripted CallChannel and fake services (no sockets)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from hotline.controller.callbacks import CallbackDispatcher
from hotline.controller.routing_desk import RoutingDesk
from hotline.pbx.agi import AgiTimeout, ChannelGone
from hotline.pbx.ami import AmiError, AmiNotSent
from hotline.settings import load_settings
from hotline.store.db import open_engine, session_factory
from hotline.store.models import Call, Callback
from ivr.channel import DialResult
from ivr.flow import load_flows
from ivr.interpreter import FlowRun
from ivr.runtime import HANDLED_VARIABLE, CallReport, MessageSaved, Services, run_call
from routing.presence import Presence
from routing.queueing import QueuePolicy
from tests.conftest import REPO

SETTINGS = load_settings(REPO / "config" / "hotline.toml")
FLOW = load_flows(REPO / "dialplans" / "flows", set(SETTINGS.directory.posts))["12333"]
MONDAY_10AM = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # 10:00 in Hangzhou
SUNDAY_10AM = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)


class ScriptedChannel:
    """Keys are consumed by ask/collect in order ('' = silence); None ends the call."""

    def __init__(self, keys: list[str | None], dial: Mapping[str, str] | None = None) -> None:
        self.keys = keys
        self.dial_status = dial or {}
        self.played: list[str] = []
        self.dialled: list[str] = []
        self.variables: dict[str, str] = {}

    def _next(self) -> str:
        if not self.keys or self.keys[0] is None:
            raise ChannelGone("caller hung up")
        return self.keys.pop(0) or ""

    async def answer(self) -> None:
        pass

    async def play(self, prompts: Sequence[str], escape: str = "") -> str:
        self.played.extend(prompts)
        return ""

    async def ask(self, prompts: Sequence[str], timeout: float) -> str:
        self.played.extend(prompts)
        return self._next()

    async def collect(
        self,
        prompts: Sequence[str],
        max_length: int,
        terminator: str,
        timeout: float,
        inter_digit_timeout: float,
    ) -> str | None:
        self.played.extend(prompts)
        return self._next() or None

    async def record(self, file: str, max_seconds: int) -> bool:
        self.played.append(f"record:{file}")
        return False

    async def dial(self, endpoint: str, timeout: int) -> DialResult:
        self.dialled.append(endpoint)
        return DialResult(self.dial_status.get(endpoint, "CHANUNAVAIL"))

    async def get_variable(self, name: str) -> str:
        return self.variables.get(name, "")

    async def set_variable(self, name: str, value: str) -> None:
        self.variables[name] = value


class SlowSource:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    async def query(self, inputs: Mapping[str, str]) -> dict[str, str] | None:
        await asyncio.sleep(self.seconds)
        return {"months": "12", "last_month": "202610", "last_amount": "100"}


def services(
    now: datetime = MONDAY_10AM,
    lookup_seconds: float = 0.0,
    queue: QueuePolicy | None = None,
    sessions: Any = None,
) -> Services:
    async def open_ticket(message: MessageSaved) -> str | None:
        return "2611230007"

    return Services(
        directory=SETTINGS.directory,
        prompt_file=lambda prompt, language: f"{language}/{prompt}",
        message_file=lambda call, n: (f"/rec/msg-{call}-{n}", f"msg-{call}-{n}"),
        open_ticket=open_ticket,
        routing=RoutingDesk(
            SETTINGS.directory,
            Presence(SETTINGS.directory),
            sessions=sessions,
            now=lambda: now,
            queue=queue or QueuePolicy(enabled=False),
        ),
        lookups={"contributions": SlowSource(lookup_seconds)},
        now=lambda: now,
    )


def call(channel: ScriptedChannel, svc: Services, **variables: str) -> tuple[FlowRun, CallReport]:
    run = FlowRun(FLOW, variables={"mode": "menu", "district": "", **variables})
    report = asyncio.run(run_call(run, channel, svc, "1795.1", "13800000000"))
    return run, report


def test_busy_a_agent_falls_back_to_b_and_the_call_is_marked_handled() -> None:
    channel = ScriptedChannel(["", "0"], {"agent1001": "BUSY", "agent1002": "ANSWER"})
    _, report = call(channel, services())
    assert channel.dialled == ["agent1001", "agent1002"]
    assert channel.variables[HANDLED_VARIABLE] == "1"
    assert not report.hung_up


def test_the_callers_district_post_is_tried_first() -> None:
    channel = ScriptedChannel(["", "0"], {"agent2001": "ANSWER"})
    call(channel, services(), district="xihu")
    assert channel.dialled == ["agent2001"]


def test_caller_hanging_up_mid_menu_is_recorded_and_not_marked_handled() -> None:
    channel = ScriptedChannel(["", "2", None])
    _run, report = call(channel, services())
    assert report.hung_up
    assert [(s.node, s.outcome) for s in report.steps][-2:] == [
        ("main_menu", "digit:2"),
        ("policy_menu", "hangup"),
    ]
    assert HANDLED_VARIABLE not in channel.variables


def test_asterisk_not_answering_a_command_ends_the_session_with_the_path_kept() -> None:
    class Frozen(ScriptedChannel):
        async def ask(self, prompts: Sequence[str], timeout: float) -> str:
            if self.keys and self.keys[0] == "freeze":
                raise AgiTimeout("no reply to STREAM FILE within 9 s")
            return await super().ask(prompts, timeout)

    channel = Frozen(["", "freeze"])
    _run, report = call(channel, services())
    assert report.hung_up  # the session is given up: the dialplan's fallback takes the caller
    assert [(s.node, s.outcome) for s in report.steps][-2:] == [
        ("service_hours", "open"),
        ("main_menu", "no-reply"),
    ]
    assert HANDLED_VARIABLE not in channel.variables


def test_prompts_are_played_in_the_callers_language() -> None:
    channel = ScriptedChannel(["8", None])
    call(channel, services())
    assert channel.played[:2] == ["zh-CN/welcome_lang", "en/recording_notice"]


def test_a_slow_lookup_tells_the_caller_to_wait() -> None:
    keys: list[str | None] = ["", "1", "330106198005126726", "1", "123456", None]
    channel = ScriptedChannel(list(keys))
    call(channel, services(lookup_seconds=0.3))
    assert "zh-CN/query_please_wait" not in channel.played  # 0.3 s is not slow (1.5 s is)
    channel = ScriptedChannel(list(keys))
    call(channel, services(lookup_seconds=1.8))
    assert "zh-CN/query_please_wait" in channel.played
    assert channel.played[-1] == "zh-CN/query_done"


def test_nobody_answering_leads_to_a_message_and_a_ticket_number() -> None:
    channel = ScriptedChannel(["", "0"])
    run, _ = call(channel, services())
    assert "zh-CN/all_busy" in channel.played
    assert "record:/rec/msg-1795.1-1" in channel.played
    assert run.variables["ticket"] == "2611230007"
    assert channel.played[-1] == "zh-CN/goodbye"


def test_on_sunday_0_says_agents_are_closed_instead_of_ringing() -> None:
    channel = ScriptedChannel(["", "0", None])
    call(channel, services(now=SUNDAY_10AM))
    assert channel.dialled == []
    assert "zh-CN/after_hours" in channel.played and "zh-CN/agents_closed" in channel.played


def test_with_everyone_busy_the_caller_hears_their_place_and_books_a_callback(
    tmp_path: Path,
) -> None:
    sessions = session_factory(open_engine(f"sqlite:///{tmp_path / 'h.db'}"))
    queue = QueuePolicy(announce_every=30, retry_every=1, average_handle_seconds=120)
    channel = ScriptedChannel(["", "0", "1"], {"agent1001": "BUSY", "agent1002": "BUSY"})
    run, _ = call(channel, services(queue=queue, sessions=sessions))
    start = channel.played.index("zh-CN/queue_position")
    # nobody ahead (零), about 1 minute (120 s shared by the agents on duty), then the offer
    assert channel.played[start : start + 7] == [
        "zh-CN/queue_position",
        "zh-CN/num/0",
        "zh-CN/queue_position_end",
        "zh-CN/queue_expected_wait",
        "zh-CN/num/1",
        "zh-CN/unit/minutes",
        "zh-CN/queue_callback_offer",
    ]
    assert run.path[-1].node == "callback_booked"
    with sessions() as session:
        (booked,) = session.query(Callback).all()
    assert (booked.number, booked.status, booked.linkedid) == ("13800000000", "pending", "1795.1")


def test_a_call_logs_its_path_in_one_line_and_each_step_only_at_debug(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def lines() -> list[str]:
        return [r.getMessage() for r in caplog.records if r.name == "hotline.runtime"]

    with caplog.at_level(logging.INFO, logger="hotline.runtime"):
        call(ScriptedChannel(["", "2", None]), services())
    assert not [line for line in lines() if "event=ivr.step" in line]
    assert "event=ivr.hangup call=1795.1 node=policy_menu" in lines()
    assert lines()[-1] == (
        "event=ivr.path call=1795.1 steps=7 path=no_topic_yet:set>welcome:timeout>notice:done>"
        "mode:case:menu>service_hours:open>main_menu:digit:2>policy_menu:hangup"
    )
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="hotline.runtime"):
        call(ScriptedChannel(["", "2", None]), services())
    assert "event=ivr.step call=1795.1 node=main_menu outcome=digit:2" in lines()


def booked_callback(tmp_path: Path) -> Any:
    """A database with one callback due now, and its sessions."""
    sessions = session_factory(open_engine(f"sqlite:///{tmp_path / 'h.db'}"))
    with sessions() as session, session.begin():
        session.add(
            Callback(
                linkedid="1795.1",
                number="13800000000",
                post="",
                business="pension",
                district="",
                queued_at=MONDAY_10AM,
                next_attempt_at=MONDAY_10AM,
            )
        )
    return sessions


def callback_row(sessions: Any) -> tuple[str, str | None]:
    with sessions() as session:
        row = session.scalars(select(Callback)).one()
        return row.status, row.result


class OriginatingAmi:
    """Answers every Originate with `answer` (a reply, or an AmiError to raise)."""

    logged_in = True

    def __init__(self, answer: Any) -> None:
        self.answer = answer
        self.originated = 0

    async def action(self, name: str, **headers: Any) -> Any:
        self.originated += 1
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


def test_a_callback_whose_originate_got_no_reply_is_never_placed_again(tmp_path: Path) -> None:
    # the AMI link dropped after the Originate left: Asterisk may have rung the agent and the
    # caller, so the callback ends 'unknown' (at most once), not back in line
    sessions = booked_callback(tmp_path)
    ami = OriginatingAmi(AmiError("AMI connection lost before a reply"))
    dispatcher = CallbackDispatcher(services(sessions=sessions).routing, ami, sessions, "12333")  # type: ignore[arg-type]
    asyncio.run(dispatcher.tick())
    assert callback_row(sessions) == (
        "unknown",
        "no reply from Asterisk: AMI connection lost before a reply",
    )
    asyncio.run(dispatcher.tick())
    assert ami.originated == 1


def test_a_callback_never_sent_waits_for_its_turn_again(tmp_path: Path) -> None:
    sessions = booked_callback(tmp_path)
    ami = OriginatingAmi(AmiNotSent("AMI not connected: Originate not sent"))
    dispatcher = CallbackDispatcher(services(sessions=sessions).routing, ami, sessions, "12333")  # type: ignore[arg-type]
    asyncio.run(dispatcher.tick())
    assert callback_row(sessions) == ("pending", "agent did not answer")


def test_an_answered_callback_whose_call_asterisk_lost_ends_unknown(tmp_path: Path) -> None:
    sessions = booked_callback(tmp_path)
    answered = [{"Event": "OriginateResponse", "Response": "Success", "Uniqueid": "1795.9"}]
    dispatcher = CallbackDispatcher(
        services(sessions=sessions).routing,
        OriginatingAmi(answered),
        sessions,
        "12333",  # type: ignore[arg-type]
    )
    later = MONDAY_10AM + timedelta(seconds=30)

    async def main() -> None:
        await dispatcher.tick()
        assert callback_row(sessions)[0] == "dialing"
        dispatcher.forget_gone({"1795.9", ""}, later)  # Asterisk still has the call
        await asyncio.sleep(0.1)
        assert callback_row(sessions)[0] == "dialing"
        dispatcher.forget_gone({"1795.7", ""}, MONDAY_10AM - timedelta(seconds=1))  # listed first
        await asyncio.sleep(0.1)
        assert callback_row(sessions)[0] == "dialing"
        dispatcher.forget_gone({"1795.7", ""}, later)  # a restarted Asterisk: the call is gone
        while dispatcher.tasks:
            await asyncio.sleep(0.05)

    asyncio.run(main())
    assert callback_row(sessions) == (
        "unknown",
        "Asterisk no longer had the call when the AMI link came back",
    )


def test_placing_a_callback_keeps_no_routing_plan(tmp_path: Path) -> None:
    """The desk keeps each call's plan for the dashboard until the call ends; a callback
    belongs to a call that already ended, so its plans were kept for ever."""
    sessions = booked_callback(tmp_path)
    desk = services(sessions=sessions).routing
    originated: list[dict[str, Any]] = []

    class Ami:
        logged_in = True

        async def action(self, name: str, **headers: Any) -> Any:
            originated.append(headers)
            return [{"Event": "OriginateResponse", "Response": "Success"}]

    dispatcher = CallbackDispatcher(desk, Ami(), sessions, '"12333" <12333>')  # type: ignore[arg-type]
    asyncio.run(dispatcher.tick())
    assert originated  # an agent was rung for the callback
    assert desk.plans == {}


def test_the_ask_for_a_person_is_told_once_when_0_is_pressed_before_any_ring() -> None:
    """asked_at is stamped when the caller presses 0 (the flow enters the agent node), not when
    the routing is decided after the rings: told once, before the first dial."""
    events: list[str] = []

    class Logged(ScriptedChannel):
        async def dial(self, endpoint: str, timeout: int) -> DialResult:
            events.append(f"dial {endpoint}")
            return await super().dial(endpoint, timeout)

    svc = replace(services(), asked=lambda call_id, at: events.append(f"asked {call_id} {at}"))
    channel = Logged(["", "0"], {"agent1001": "NOANSWER", "agent1002": "ANSWER"})
    call(channel, svc)
    assert events == [f"asked 1795.1 {MONDAY_10AM}", "dial agent1001", "dial agent1002"]


def test_a_caller_who_only_uses_the_menus_never_asks() -> None:
    asked: list[str] = []
    svc = replace(services(), asked=lambda call_id, _at: asked.append(call_id))
    call(ScriptedChannel(["", "2", "1", None]), svc)
    assert asked == []


def test_a_placed_callback_is_stored_as_a_call_of_its_own_kind_naming_the_call_it_serves(
    tmp_path: Path,
) -> None:
    """The dialplan's result (at the callback's h extension) says the citizen talked 42 s:
    the callback's call row runs from the agent's answer to then, answered 42 s before it."""
    sessions = booked_callback(tmp_path)
    answered = [{"Event": "OriginateResponse", "Response": "Success", "Uniqueid": "1795.9"}]
    dispatcher = CallbackDispatcher(
        services(sessions=sessions).routing,
        OriginatingAmi(answered),
        sessions,
        "12333",  # type: ignore[arg-type]
    )
    result = {
        "Event": "UserEvent",
        "UserEvent": "HotlineCallback",
        "Id": "1",
        "Status": "ANSWER",
        "Talk": "42",
        "Linkedid": "1795.9",
    }

    async def main() -> None:
        await dispatcher.tick()
        dispatcher.on_result(result)
        while dispatcher.tasks:
            await asyncio.sleep(0.05)

    asyncio.run(main())
    with sessions() as session:
        own = session.get(Call, "1795.9")
        assert own is not None
        assert (own.kind, own.serves, own.caller_number, own.outcome) == (
            "callback",
            "1795.1",
            "13800000000",
            "answered",
        )
        assert own.ended_at is not None and own.answered_at is not None
        assert own.ended_at - own.answered_at == timedelta(seconds=42)
    assert callback_row(sessions) == ("done", "ANSWER")
