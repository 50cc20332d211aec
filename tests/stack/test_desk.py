"""The agent's desk in real headless Chromium while real SIPp calls run on the sandbox Asterisk
(issue 18 item 3): an agent logs in to their desk and makes themself available from it; a SIPp
caller presses 0 and is routed to that agent, whose desk pops the caller (masked number); with
`[routing] wrap_up_required` the agent then owes the call's wrap-up code; the controller is
restarted before the code is entered, and the restarted one still holds the agent: the same
caller's next call waits in the line, never ringing the agent, until the code is entered on
the desk; then it rings them and the pop shows the first call among the caller's recent
calls (answered, by them, with its IVR path and wrap-up code) and the matter the agent raised
in the first call (owned by them: first inquiry)."""

from __future__ import annotations

import threading

from playwright.sync_api import Browser, Page
from sqlalchemy import create_engine, delete, select
from sqlalchemy.orm import Session

from hotline.store.models import Leg, WrapUp, WrapUpOwed
from tests.stack.conftest import (
    ControllerProcess,
    Stack,
    agent_phone,
    place_call,
    running_controller,
    wait_for,
)
from tests.stack.test_dashboard import add_user, browser, log_in

__all__ = ["browser"]  # the module's Chromium, shared with the dashboard's tests

DESK_PORT = 18334
CALLER = "13700000531"  # no other test dials from it
MASKED = "137****0531"
DESK = f"""
[web]
enabled = true
bind = "127.0.0.1:{DESK_PORT}"
[routing]
agents_start_logged_in = false
wrap_up_required = true
wrap_up_seconds = 0
"""


def calls_of(controller: ControllerProcess, caller: str) -> list[str]:
    """The caller's calls' linkedids, in the order the controller saw them start."""
    masked = f"caller={caller[:3]}{'*' * (len(caller) - 7)}{caller[-4:]}"
    return [
        line.split("linkedid=", 1)[1].split()[0]
        for line in controller.text().splitlines()
        if "event=call.started" in line and masked in line
    ]


def test_the_desk_pops_the_caller_and_holds_the_next_call_until_the_wrap_up_code(
    stack: Stack, browser: Browser
) -> None:
    config = stack.config_with("desk", extra=DESK).resolve()
    base = f"http://127.0.0.1:{DESK_PORT}"
    add_user(config, "desk1001", "--role", "agent", "--agent", "1001")
    add_user(config, "desk-sup", "--role", "supervisor")
    try:
        with agent_phone(stack, "desk-a", "agent1001", talk_ms=3000):
            with running_controller(stack, config) as before:
                desk, board, call1, number = first_call(stack, browser, base, before)
            # restarted between the call's end and its wrap-up code: the hold is kept
            with running_controller(stack, config) as controller:
                assert "event=wrap-up.held-again agents=1001" in controller.text()
                # the desk's stream reconnects to the new controller, whose presence starts
                # with the agent logged out (agents_start_logged_in = false) ...
                desk.wait_for_selector('#state[data-state="logged-out"]', timeout=30_000)
                desk.click("#go-available")
                # ... and, made available, they are still in wrap-up, owing call 1's code
                desk.wait_for_selector('#state[data-state="wrap-up"]', timeout=10_000)
                desk.wait_for_selector(f'#wrap-up[data-linkedid="{call1}"]:not([hidden])')
                call2 = second_call(stack, desk, board, controller, call1, number)
                assert "Traceback" not in controller.text()
        engine = create_engine(stack.settings.database_url)
        with Session(engine) as s:
            (wrap,) = s.scalars(select(WrapUp).where(WrapUp.linkedid == call1)).all()
            rang = s.scalars(
                select(Leg.ring_at).where(Leg.linkedid == call2, Leg.agent_id == "1001")
            ).all()
            owed = s.scalars(select(WrapUpOwed.linkedid).where(WrapUpOwed.agent_id == "1001"))
            assert list(owed) == [call2]  # call 1's was settled by its code; call 2's is owed
        engine.dispose()
    finally:
        # the shared database: agent 1001 must not start the next test owing a code
        engine = create_engine(stack.settings.database_url)
        with Session(engine) as s, s.begin():
            s.execute(delete(WrapUpOwed).where(WrapUpOwed.agent_id == "1001"))
        engine.dispose()
    assert (wrap.agent_id, wrap.code, wrap.note) == ("1001", "answered", "policy explained")
    # causal, not timed: the second call rang the agent only after the code was stored
    assert rang and min(r.replace(tzinfo=None) for r in rang) > wrap.at.replace(tzinfo=None)


def first_call(
    stack: Stack, browser: Browser, base: str, controller: ControllerProcess
) -> tuple[Page, Page, str, str]:
    """The agent logs in to the desk, goes available and searches the standard answers; the
    first call pops, the agent raises a matter from it; it ends and the desk asks for its code.
    Returns the desk, the supervisor's board, the call and the matter's number."""
    desk = log_in(browser, "desk1001", base)
    assert desk.url == base + "/desk"
    board = log_in(browser, "desk-sup", base)
    desk.wait_for_selector('#state[data-state="logged-out"]', timeout=10_000)
    desk.click("#go-available")  # the same UserEvent as the seat's *11
    desk.wait_for_selector('#state[data-state="available"]', timeout=10_000)
    # the standard answers, by keyboard alone: the search box, Enter, the arrow keys
    desk.focus("#answers-q")
    desk.keyboard.type("转移")
    desk.keyboard.press("Enter")
    desk.wait_for_selector('#answers-list li[data-id="pension-transfer"]', timeout=10_000)
    desk.keyboard.press("ArrowDown")
    assert desk.evaluate("document.activeElement.dataset.id") == "pension-transfer-progress"
    answer = desk.inner_text('#answers-list li[data-id="pension-transfer-progress"]')
    assert "15个工作日" in answer and "15 working days" in answer  # config/notices.toml

    first = threading.Thread(
        target=place_call,
        args=(stack, "desk-call-1", CALLER),
        kwargs={"script": [(3000, "0")]},
    )
    first.start()
    try:
        wait_for(lambda: calls_of(controller, CALLER), 30, "the first call")
        (call1,) = calls_of(controller, CALLER)
        desk.wait_for_selector(f'#pop[data-linkedid="{call1}"]', timeout=30_000)
        assert desk.inner_text("#pop-caller") == MASKED
        assert CALLER not in desk.content()
        # the agent raises a matter from the pop: they own it (first inquiry)
        desk.select_option("#matter-action", "create")
        desk.select_option("#matter-category", "complaint")
        desk.fill("#matter-text", "wages unpaid since October")
        desk.click("#matter-save")
        desk.wait_for_selector("#matters tbody tr[data-number]", timeout=10_000)
        number = desk.get_attribute("#matters tbody tr[data-number]", "data-number")
        assert number
    finally:
        first.join(120)
    # the call ended: the agent owes its code, the desk asks for it
    desk.wait_for_selector('#state[data-state="wrap-up"]', timeout=20_000)
    desk.wait_for_selector(f'#wrap-up[data-linkedid="{call1}"]:not([hidden])')
    assert "Traceback" not in controller.text()
    return desk, board, call1, number


def second_call(
    stack: Stack, desk: Page, board: Page, controller: ControllerProcess, call1: str, number: str
) -> str:
    """The same caller's next call waits in the line, the agent (held) not rung, until the code
    is entered; then it rings them and pops with call 1 and the matter. Returns the call."""
    second = threading.Thread(
        target=place_call, args=(stack, "desk-call-2", CALLER), kwargs={"script": [(3000, "0")]}
    )
    second.start()
    try:
        wait_for(lambda: calls_of(controller, CALLER), 30, "the second call")
        (call2,) = calls_of(controller, CALLER)  # this controller's first
        # the caller waits in hotline's line (the supervisors' board says so) ...
        wait_for(
            lambda: board.evaluate(
                """async (id) => (await (await fetch('/api/state')).json()).calls
                     .some((c) => c.linkedid === id && c.state === 'queued')""",
                call2,
            ),
            60,
            "the second call to wait in the line",
        )
        # ... and the agent, free but owing the code, was not rung
        assert f"event=leg.ringing linkedid={call2}" not in controller.text()
        desk.select_option("#wrap-code", "answered")
        desk.fill("#wrap-note", "policy explained")
        desk.click("#wrap-save")
        desk.wait_for_selector(f'#pop[data-linkedid="{call2}"]', timeout=30_000)
        recent = f'#recent tbody tr[data-linkedid="{call1}"]'
        assert desk.get_attribute(recent, "data-outcome") == "answered"
        cells = desk.locator(f"{recent} td").all_inner_texts()
        assert "1001" in cells[2]  # who answered
        assert cells[3]  # the IVR path it took
        assert cells[4] == "已解答"  # its wrap-up code, in Mandarin first
        # and the caller's open matter, with its owner and status
        matter = f'#matters tbody tr[data-number="{number}"]'
        assert desk.get_attribute(matter, "data-status") == "open"
        assert "1001" in desk.locator(f"{matter} td").all_inner_texts()[3]
    finally:
        second.join(120)
    return call2
