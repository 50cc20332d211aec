"""The caller's side of the 12333 menus that no other stack test walks (issue 21 item 5): the
English prompts after 8, `#` back to the parent menu, 9 and a district code reaching that
district's agent, the slow-lookup "please wait", all agents busy leading to a message and its
ticket number, the calendar (an adjusted working weekend, a holiday, the lunch break) and the
message categories besides complaint (message, report). What the other modules already prove
is not repeated: 8 ringing the English-speaking agent first (test_routing_truth.py), the
complaint and its ticket (test_ivr.py, test_matters.py), the hours said when agents are never
on duty (test_ivr.py).

One controller and one agent set serve the whole module, and a caller walks several features
in one call where a caller would: the suite's time is the budget. The agents: 1001 and 1002
(every city post's A and B in config/seats.toml) answer busy, 2001 (Xihu's A) answers; no
queue, so a caller nobody can answer is offered a message at once. The contributions lookup
takes 3 s, past the flow's 1.5-s `slow_after`.

The calendar reads the controller's wall clock and nothing sets "today" for a real
controller, so the module's seat directory makes today what each test needs: its base
calendar opens Mondays only and lists today (never a Monday in the calendar's zone, chosen
below) as an adjusted working day (调休), so every open-hours call here is open only because
of that entry; the calendar test swaps in a holiday today and then a lunch break around now
by rewriting the seat directory and sending SIGHUP, the controller's own reload."""

from __future__ import annotations

import signal
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from hotline.cli.matters import service_of
from hotline.matters.service import MatterService
from hotline.settings import load_settings
from hotline.store.models import Call
from tests.stack.conftest import (
    ControllerProcess,
    Stack,
    agent_phone,
    place_call,
    running_controller,
    wait_for,
)
from tests.stack.test_ivr import ID, SKIP_GREETING, ms
from tests.stack.test_routing import legs

ROUTING = (
    "[routing]\n"
    "queue = false\n"  # nobody free: the flow's no-answer path (all_busy) at once
    "overflow_districts = false\n"  # only the city's own agents for a city caller
    "auto_pause_after = 0\n"  # the busy agents are never paused (the database is shared)
    "wrap_up_seconds = 0\n"
)
LOOKUP_DELAY = 3  # seconds; the flow's query_lookup says "please wait" after 1.5
SPEAKS_MS = 4500  # a caller speaks this long after the message intro starts, then presses #


@dataclass
class Features:
    config: Path
    controller: ControllerProcess
    zone: ZoneInfo
    today: date
    matters: MatterService


def calendar_zone() -> ZoneInfo:
    """A zone where today is not a Monday and midnight is more than 1.5 h away: Shanghai's if
    it will do, else a whole-hour zone (one always will: their dates span 26 hours)."""
    for name in ["Asia/Shanghai", *(f"Etc/GMT{hours:+d}" for hours in range(-14, 13))]:
        local = datetime.now(ZoneInfo(name))
        if local.weekday() != 0 and time(1, 30) <= local.time() <= time(22, 30):
            return ZoneInfo(name)
    raise AssertionError("no zone found where today is not a Monday, away from midnight")


def write_calendar(
    seats: Path,
    zone: ZoneInfo,
    hours: list[str],
    holidays: Sequence[date] = (),
    workdays: Sequence[date] = (),
) -> None:
    """Replace the seat directory's [calendar] (its last table) with this one."""
    text = seats.read_text(encoding="utf-8")
    head = text[: text.index("[calendar]")]

    def listed(items: Sequence[str]) -> str:
        return "[" + ", ".join(f'"{item}"' for item in items) + "]"

    seats.write_text(
        head
        + "[calendar]\n"
        + f'timezone = "{zone.key}"\n'
        + f"hours = {listed(hours)}\n"
        + f"holidays = {listed([d.isoformat() for d in holidays])}\n"
        + f"workdays = {listed([d.isoformat() for d in workdays])}\n",
        encoding="utf-8",
    )


def reload_seats(controller: ControllerProcess) -> None:
    """SIGHUP, and wait until the controller says it read the seat directory again."""
    before = controller.text().count("event=directory.reloaded")
    controller.process.send_signal(signal.SIGHUP)
    wait_for(
        lambda: controller.text().count("event=directory.reloaded") > before,
        10,
        "the controller to reload the seat directory",
    )


@pytest.fixture(scope="module")
def features(stack: Stack) -> Iterator[Features]:
    zone = calendar_zone()
    today = datetime.now(zone).date()
    config = stack.config_with("ivr-features", extra=ROUTING)
    lookup = 'kind = "sqlite-contributions"'
    config.write_text(
        config.read_text().replace(lookup, f"{lookup}\ndelay = {LOOKUP_DELAY}"), encoding="utf-8"
    )
    # Mondays only, and today (not a Monday) worked as an adjusted working day
    write_calendar(config.parent / "seats.toml", zone, ["mon 00:00-24:00"], workdays=[today])
    with (
        running_controller(stack, config) as controller,
        agent_phone(stack, "f-1001", "agent1001", behaviour="busy"),
        agent_phone(stack, "f-1002", "agent1002", behaviour="busy"),
        agent_phone(stack, "f-2001", "agent2001", talk_ms=1500),
    ):
        yield Features(config, controller, zone, today, service_of(load_settings(config)))


def heard(stack: Stack, call: Call, since: int) -> list[tuple[str, str]]:
    """(language folder, prompt) for each prompt Asterisk started playing to the caller, from
    its own log: `Playing '<prompts>/<language>/<prompt>.<ext>'` on the caller's channel."""
    folder = stack.settings.prompts.asterisk_directory + "/"
    out = []
    for line in stack.asterisk_log()[since:].splitlines():
        if f"<{call.channel}>" not in line or "Playing '" not in line:
            continue
        name = line.split("Playing '", 1)[1].split("'", 1)[0].rsplit(".", 1)[0]
        if name.startswith(folder):
            language, prompt = name.removeprefix(folder).split("/", 1)
            out.append((language, prompt))
    return out


def after(played: list[str], prompt: str, count: int) -> list[str]:
    """The `count` prompts played after the first `prompt`."""
    return played[played.index(prompt) + 1 :][:count]


def test_8_gives_english_prompts_to_the_end_and_a_report_becomes_a_report_matter(
    stack: Stack, features: Features
) -> None:
    caller = "057187002101"  # a Xihu landline (057187)
    mark = stack.log_mark()
    place_call(
        stack,
        "f-english",
        caller,
        script=[
            ("welcome_lang", "8"),
            ("main_menu", "4"),
            ("message_menu", "3"),  # 3: a report (举报)
            ("message_intro", ""),
            (ms(stack.prompt_seconds("message_intro", "en")) + SPEAKS_MS, "#"),
        ],
    )  # the hotline says the ticket, goodbye, and hangs up
    call = stack.settled_call(caller)
    path = stack.ivr_path(call.linkedid)
    assert path[:3] == [("no_topic_yet", "set"), ("welcome", "digit:8"), ("english", "set")]
    assert ("message_menu", "digit:3") in path and ("leave_report", "recorded") in path
    assert path[-2:] == [("say_ticket", "done"), ("goodbye", "done")]
    assert call.outcome == "self_service"
    prompts = heard(stack, call, mark)
    assert prompts[0] == ("zh-CN", "welcome_lang")  # the bilingual greeting
    # from the recording notice to the goodbye, the English recordings only
    assert prompts[1][1] == "recording_notice"
    assert {language for language, _ in prompts[1:]} == {"en"}, prompts
    names = [prompt for _, prompt in prompts]
    assert names[-1] == "goodbye"
    (ticket,) = stack.tickets(call.linkedid)
    assert ticket.category == "report"
    assert after(names, "message_thanks", len(ticket.number)) == [
        f"num/{digit}" for digit in ticket.number
    ]
    (matter,) = features.matters.for_caller(caller)
    assert matter.number == ticket.number  # the number the caller heard
    # owned by the district's post A for the business: no topic chosen (other), Xihu, so
    # post other-xihu, A 2001 (config/seats.toml)
    assert (matter.category, matter.channel, matter.business) == ("report", "report", "other")
    assert (matter.district, matter.owner) == ("xihu", "2001")
    features.matters.close(matter.number, "test", "reason", "stack test over")


def test_hash_goes_back_up_then_9_and_a_district_code_reach_that_districts_agent(
    stack: Stack, features: Features
) -> None:
    """A city mobile caller: 2 (policy), # (back to the main menu), 9, 03 (Xihu), 0: Xihu's
    post for general enquiries (other-xihu, A 2001) answers, not the city's (1001, 1002, busy).
    All on an adjusted working day: the hours open Mondays only, today is not one."""
    caller = "13900002102"
    mark = stack.log_mark()
    place_call(
        stack,
        "f-district",
        caller,
        script=[
            SKIP_GREETING,
            ("main_menu", "2"),
            ("policy_menu", "#"),
            ("main_menu", "9"),  # the main menu again, in full: # went one level up
            ("district_menu", "03"),
            # the menu starts as the collect ends on the "3", before SIPp's second key is
            # over: the cue's go waits for the press (sipp.busy_after_cues_ms)
            ("main_menu", "0"),
        ],
    )  # the agent talks 1.5 s and hangs up
    call = stack.ended_call(caller)
    assert stack.ivr_path(call.linkedid) == [
        ("no_topic_yet", "set"),
        ("welcome", "digit:5"),
        ("notice", "done"),
        ("mode", "case:menu"),
        ("service_hours", "open"),  # the adjusted working day opened today
        ("main_menu", "digit:2"),
        ("policy_menu", "digit:#"),
        ("main_menu", "digit:9"),
        ("district_menu", "input:03"),
        ("district_of_code", "case:03"),
        ("d_xihu", "set"),
        ("main_menu", "digit:0"),
        ("agent_hours", "open"),
        ("to_agent", "answered"),
    ]
    names = [prompt for _, prompt in heard(stack, call, mark)]
    menus = [n for n in names if n in ("main_menu", "policy_menu", "district_menu")]
    assert menus == ["main_menu", "policy_menu", "main_menu", "district_menu", "main_menu"]
    assert legs(stack, caller) == [("2001", "ANSWER")]
    (decision,) = stack.decisions(call.linkedid)
    assert (decision.post, decision.business) == ("other-xihu", "other")


def test_a_slow_lookup_says_please_wait_and_all_agents_busy_offers_a_message_with_a_ticket(
    stack: Stack, features: Features
) -> None:
    """The contribution query with a 3-s back end, # from its end to the main menu, then 0:
    the pension post's A 1001 and B 1002 are both busy, no queue: the caller hears that all
    agents are busy, leaves a message, and hears its number."""
    caller = "13900002103"
    mark = stack.log_mark()
    place_call(
        stack,
        "f-slow-busy",
        caller,
        script=[
            SKIP_GREETING,
            ("main_menu", "1"),
            ("query_enter_id", ID + "#"),
            ("confirm_reenter", "1"),
            ("query_enter_pin", "123456"),
            ("query_done", "#"),
            ("main_menu", "0"),
            ("message_intro", ""),
            (ms(stack.prompt_seconds("message_intro")) + SPEAKS_MS, "#"),
        ],
    )
    call = stack.settled_call(caller)
    names = [prompt for _, prompt in heard(stack, call, mark)]
    # the PIN, then "please wait" while the back end works, then the record
    pin = len(names) - 1 - names[::-1].index("query_enter_pin")
    assert names[pin + 1 : pin + 3] == ["query_please_wait", "query_months"], names
    assert "event=lookup.slow" in features.controller.text()
    path = stack.ivr_path(call.linkedid)
    assert path[path.index(("query_lookup", "found")) + 4 :] == [
        ("query_done", "digit:#"),
        ("main_menu", "digit:0"),
        ("agent_hours", "open"),
        ("to_agent", "no-answer"),
        ("all_busy", "done"),
        ("leave_message", "recorded"),
        ("say_ticket", "done"),
        ("goodbye", "done"),
    ]
    assert legs(stack, caller) == [("1001", "BUSY"), ("1002", "BUSY")]
    assert after(names, "all_busy", 1) == ["message_intro"]
    (ticket,) = stack.tickets(call.linkedid)
    assert ticket.category == "message"
    assert after(names, "message_thanks", len(ticket.number)) == [
        f"num/{digit}" for digit in ticket.number
    ]
    (matter,) = features.matters.for_caller(caller)
    assert matter.number == ticket.number
    # the query chose pension; a mobile caller has no district, so no district post owns it:
    # the pool (no owner), as hotline/matters/service.py policy_owner says
    assert (matter.category, matter.channel, matter.business) == (
        "message",
        "ivr_message",
        "pension",
    )
    assert (matter.district, matter.owner) == ("", None)
    features.matters.close(matter.number, "test", "reason", "stack test over")


def test_a_holiday_and_the_lunch_break_close_the_agents_and_the_caller_hears_the_hours(
    stack: Stack, features: Features
) -> None:
    """Today a holiday (hours every day, all day): closed. Then no holiday, the hours every
    day with a break from an hour ago to an hour ahead: closed for lunch. Each caller hears
    the after-hours prompt with the hours said from the calendar, then the after-hours menu."""
    seats = features.config.parent / "seats.toml"
    local = datetime.now(features.zone)
    # whole minutes, at least 30 min from now either side (spans are written to the minute)
    lunch_from = (local - timedelta(hours=1)).strftime("%H:%M")
    lunch_to = (local + timedelta(hours=1)).strftime("%H:%M")
    cases: dict[str, tuple[list[str], list[date]]] = {
        "13900002104": (["mon-sun 00:00-24:00"], [features.today]),
        "13900002105": ([f"mon-sun 00:00-{lunch_from}", f"mon-sun {lunch_to}-24:00"], []),
    }
    try:
        for caller, (hours, holidays) in cases.items():
            write_calendar(seats, features.zone, hours, holidays=holidays)
            reload_seats(features.controller)
            mark = stack.log_mark()
            place_call(
                stack,
                f"f-closed-{caller}",
                caller,
                script=[SKIP_GREETING, ("after_hours_menu", "")],
                hangup_after_ms=500,
            )
            call = stack.settled_call(caller)
            path = stack.ivr_path(call.linkedid)
            assert path[4:7] == [
                ("service_hours", "closed"),
                ("after_hours", "done"),
                ("after_hours_end", "done"),
            ], path
            names = [prompt for _, prompt in heard(stack, call, mark)]
            said = names[names.index("after_hours") + 1 : names.index("after_hours_end")]
            # "Monday to Sunday ... to midnight": once with the holiday's one span, and
            # "and" between the two spans around lunch (days said once: the same days)
            assert said[:3] == ["day/mon", "word/to", "day/sun"], said
            assert said[-1] == "time/midnight", said
            assert said.count("word/and") == len(hours) - 1, said
            assert names[-1] == "after_hours_menu"
            assert call.legs == []
    finally:
        write_calendar(seats, features.zone, ["mon 00:00-24:00"], workdays=[features.today])
        reload_seats(features.controller)
