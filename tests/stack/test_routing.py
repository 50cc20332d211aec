"""AB-post fallback on the real stack: SIPp phones that answer, are busy (486), never answer,
or are not there at all; every test reads the stored decision chain."""

from __future__ import annotations

import itertools
import threading
from contextlib import ExitStack
from datetime import UTC
from zoneinfo import ZoneInfo

from tests.conftest import run_hotline
from tests.stack.conftest import (
    ControllerProcess,
    Stack,
    agent_phone,
    place_call,
    running_controller,
    wait_for,
)

AGENT_NOW = [(3000, "0")]  # 0 during the greeting: a person at once


def legs(stack: Stack, caller: str) -> list[tuple[str, str | None]]:
    call = stack.ended_call(caller)
    return [(leg.agent_id or "", leg.dial_status) for leg in call.legs]


def chain(stack: Stack, caller: str) -> str:
    call = stack.ended_call(caller)
    wait_for(lambda: stack.decisions(call.linkedid), 10, "the route decision")
    (decision,) = stack.decisions(call.linkedid)
    return decision.chain


def test_a_busy_then_b_answers(stack: Stack, controller: ControllerProcess) -> None:
    with (
        agent_phone(stack, "r-busy-a", "agent1001", behaviour="busy"),
        agent_phone(stack, "r-busy-b", "agent1002", max_calls=1, talk_ms=2000) as b,
    ):
        place_call(stack, "r-busy", "13900000201", script=AGENT_NOW)
        assert b.process.wait(10) == 0
    assert legs(stack, "13900000201") == [("1001", "BUSY"), ("1002", "ANSWER")]
    assert chain(stack, "13900000201").endswith("| rang: 1001 BUSY, 1002 ANSWER")


def test_a_not_answering_moves_to_b_after_the_ring_timeout(stack: Stack) -> None:
    quick = stack.config_with("ring5", flows="ring_timeout = 5")
    with (
        running_controller(stack, quick),
        agent_phone(stack, "r-na-a", "agent1001", behaviour="no-answer"),
        agent_phone(stack, "r-na-b", "agent1002", max_calls=1, talk_ms=2000),
    ):
        place_call(stack, "r-noanswer", "13900000202", script=AGENT_NOW)
    call = stack.ended_call("13900000202")
    (a, b) = call.legs
    assert (a.agent_id, a.dial_status, b.agent_id, b.dial_status) == (
        "1001",
        "NOANSWER",
        "1002",
        "ANSWER",
    )
    assert a.ended_at is not None
    assert 4.5 <= (a.ended_at - a.ring_at).total_seconds() <= 7.0  # the 5 s ring timeout
    assert chain(stack, "13900000202").endswith("| rang: 1001 NOANSWER, 1002 ANSWER")


def test_a_with_no_phone_at_the_seat_moves_to_b(
    stack: Stack, controller: ControllerProcess
) -> None:
    with agent_phone(stack, "r-gone-b", "agent1002", max_calls=1, talk_ms=2000):
        place_call(stack, "r-gone", "13900000203", script=AGENT_NOW)  # nobody at agent1001
    (a, b) = legs(stack, "13900000203")
    assert a[0] == "1001" and a[1] in ("CHANUNAVAIL", "CONGESTION", "NOANSWER")
    assert b == ("1002", "ANSWER")
    assert chain(stack, "13900000203").endswith(f"| rang: 1001 {a[1]}, 1002 ANSWER")


def test_a_busy_b_logged_out_the_district_pool_answers(
    stack: Stack, controller: ControllerProcess
) -> None:
    logout = run_hotline(stack.config, "agent", "logout", "1002")
    assert logout.stdout.strip() == "agent 1002: logout"
    wait_for(lambda: "event=agent.logout agent=1002" in controller.text(), 5, "the logout")
    try:
        with (
            agent_phone(stack, "r-pool-a", "agent2001", behaviour="busy"),
            agent_phone(stack, "r-pool-d", "agent2002", max_calls=1, talk_ms=2000),
        ):
            # a Xihu landline: the other-xihu post (A 2001, B 1002): 0 before any topic
            place_call(stack, "r-pool", "057187000204", script=AGENT_NOW)
    finally:
        assert run_hotline(stack.config, "agent", "login", "1002").returncode == 0
    assert legs(stack, "057187000204") == [("2001", "BUSY"), ("2002", "ANSWER")]
    text = chain(stack, "057187000204")
    assert text.startswith(
        "post other-xihu A: 2001 -> post other-xihu B 1002 logged-out -> district pool xihu: 2002"
    )


def test_a_b_and_the_district_unavailable_the_city_pool_answers(
    stack: Stack, controller: ControllerProcess
) -> None:
    with ExitStack() as phones:
        for endpoint in ("agent2001", "agent1002", "agent2002"):
            phones.enter_context(
                agent_phone(stack, f"r-city-{endpoint}", endpoint, behaviour="busy")
            )
        # no call limit: Asterisk may still be retransmitting the INVITE and CANCEL of the
        # earlier test that rang 1001 with no phone at the seat (SIP's 32-s timer), and a
        # one-call phone would spend its call on that and leave this one unanswered
        phones.enter_context(agent_phone(stack, "r-city-1001", "agent1001", talk_ms=2000))
        place_call(stack, "r-city", "057187000205", script=AGENT_NOW)
    assert legs(stack, "057187000205") == [
        ("2001", "BUSY"),
        ("1002", "BUSY"),
        ("2002", "BUSY"),
        ("1001", "ANSWER"),
    ]
    assert "city pool: 1001" in chain(stack, "057187000205")


def test_simultaneous_calls_never_ring_one_free_agent_twice(
    stack: Stack, controller: ControllerProcess
) -> None:
    callers = [f"1390000021{n}" for n in range(4)]
    with (
        agent_phone(stack, "r-many-a", "agent1001", talk_ms=12_000),
        agent_phone(stack, "r-many-b", "agent1002", talk_ms=12_000),
    ):
        threads = [
            threading.Thread(
                target=place_call,
                args=(stack, f"r-many-{n}", caller),
                kwargs={"script": AGENT_NOW, "hangup_after_ms": 14_000},
            )
            for n, caller in enumerate(callers)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
    rings: dict[str, list[tuple[float, float]]] = {}
    for caller in callers:
        for leg in stack.ended_call(caller).legs:
            assert leg.ended_at is not None
            rings.setdefault(leg.endpoint, []).append(
                (leg.ring_at.timestamp(), leg.ended_at.timestamp())
            )
    for endpoint, spans in rings.items():
        spans.sort()
        for (_, end), (start, _) in itertools.pairwise(spans):
            assert start >= end - 0.05, f"{endpoint} rang for two calls at once: {spans}"
    answered = [c for c in callers if stack.ended_call(c).outcome == "answered"]
    assert len(answered) >= 2  # both agents took a call


def test_a_repeat_caller_is_offered_the_agent_who_answered_them_first(stack: Stack) -> None:
    """First-inquiry responsibility: B took the first call (A was busy); on the second call
    A is free, yet the caller is offered B first (no wrap-up time here: B is free at once)."""
    no_wrap_up = stack.config_with("no-wrap-up", extra="[routing]\nwrap_up_seconds = 0")
    with running_controller(stack, no_wrap_up):
        repeat_calls(stack)


def repeat_calls(stack: Stack) -> None:
    with (
        agent_phone(stack, "r-owner-a1", "agent1001", behaviour="busy"),
        agent_phone(stack, "r-owner-b1", "agent1002", max_calls=1, talk_ms=2000),
    ):
        place_call(stack, "r-owner-1", "13900000220", script=AGENT_NOW)
    first = stack.ended_call("13900000220")
    with (
        agent_phone(stack, "r-owner-a2", "agent1001", talk_ms=2000),
        agent_phone(stack, "r-owner-b2", "agent1002", max_calls=1, talk_ms=2000) as b,
    ):
        place_call(stack, "r-owner-2", "13900000220", script=AGENT_NOW)
        assert b.process.wait(10) == 0
    wait_for(
        lambda: len([c for c in stack.calls_from("13900000220") if c.ended_at]) == 2,
        10,
        "both calls stored",
    )
    (second,) = [c for c in stack.calls_from("13900000220") if c.linkedid != first.linkedid]
    assert [(leg.agent_id, leg.dial_status) for leg in second.legs] == [("1002", "ANSWER")]
    wait_for(lambda: stack.decisions(second.linkedid), 10, "the route decision")
    # the first call (0 before any topic: business "other") was answered today by 1002
    today = first.legs[-1].answered_at
    assert today is not None
    day = today.replace(tzinfo=today.tzinfo or UTC).astimezone(ZoneInfo("Asia/Shanghai")).date()
    assert stack.decisions(second.linkedid)[0].chain.startswith(
        f"owner 1002 (first answered {day.isoformat()}, other)"
    )
    assert stack.decisions(second.linkedid)[0].business == "other"


def test_presence_is_resynchronised_after_asterisk_restarts(stack: Stack) -> None:
    """A is talking when Asterisk restarts (the call dies with it). After the controller's AMI
    link comes back, presence is read again: A is free, not left 'talking' (no wrap-up time
    here, so 'free' is immediate)."""
    no_wrap_up = stack.config_with("restart", extra="[routing]\nwrap_up_seconds = 0")
    with running_controller(stack, no_wrap_up) as controller:
        restart_while_talking(stack, controller)


def restart_while_talking(stack: Stack, controller: ControllerProcess) -> None:
    from hotline.sandbox import commands as sandbox_cmd

    with agent_phone(stack, "r-restart-a", "agent1001", talk_ms=60_000):
        # this call dies with Asterisk: its caller waits for the BYE the shutdown sends
        caller = threading.Thread(
            target=place_call,
            args=(stack, "r-restart-1", "13900000230"),
            kwargs={"script": AGENT_NOW, "timeout": 60},
        )
        caller.start()
        wait_for(
            lambda: "event=seat.state endpoint=agent1001 state=INUSE" in controller.text(),
            30,
            "agent1001 talking",
        )
        stack.instance.stop()
        wait_for(lambda: "event=ami.disconnected" in controller.text(), 20, "the AMI link down")
        stack.instance = sandbox_cmd.up(stack.settings, say=lambda _line: None)
        caller.join(60)
        wait_for(
            lambda: controller.text().count("event=presence.resync") >= 2,
            30,
            "presence resynchronised after the reconnect",
        )
    with agent_phone(stack, "r-restart-a2", "agent1001", max_calls=1, talk_ms=2000) as a:
        place_call(stack, "r-restart-2", "13900000231", script=AGENT_NOW)
        assert a.process.wait(10) == 0
    call = stack.ended_call("13900000231")
    wait_for(lambda: stack.decisions(call.linkedid), 10, "the route decision")
    assert stack.decisions(call.linkedid)[0].chain.startswith("post other-city A: 1001")


def test_the_seat_directory_reloads_on_sighup_and_a_broken_one_is_refused(stack: Stack) -> None:
    import signal

    config = stack.config_with("reload")
    seats = config.parent / "seats.toml"
    with running_controller(stack, config) as controller:
        good = seats.read_text()
        seats.write_text(good.replace('b = "1002"', 'b = "9999"'))  # a post naming nobody
        controller.process.send_signal(signal.SIGHUP)
        wait_for(
            lambda: "event=directory.reload-failed" in controller.text(),
            10,
            "the broken directory to be refused",
        )
        assert "unknown agent '9999'" in controller.text()
        # swap A and B of the city post: the reload takes effect for the next call
        seats.write_text(good.replace('a = "1001"\nb = "1002"', 'a = "1002"\nb = "1001"'))
        controller.process.send_signal(signal.SIGHUP)
        wait_for(lambda: "event=directory.reloaded" in controller.text(), 10, "the reload")
        with agent_phone(stack, "reload-b", "agent1002", max_calls=1, talk_ms=2000) as a:
            place_call(stack, "reload", "13900000270", script=AGENT_NOW)
            assert a.process.wait(10) == 0
    assert legs(stack, "13900000270") == [("1002", "ANSWER")]
    assert chain(stack, "13900000270").startswith("post other-city A: 1002")
