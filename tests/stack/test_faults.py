"""Faults on the real stack: the database away for a while, the controller killed mid-call.
Callers still reach a person; nothing the controller had to store is lost."""

from __future__ import annotations

import signal
import sqlite3

from sqlalchemy import select

from sandbox import sipp
from store.models import IvrStep, RouteDecision
from tests.stack.conftest import (
    AGENT_PORTS,
    SIP_PORT,
    Stack,
    agent_phone,
    place_call,
    running_controller,
    wait_for,
)


def database_file(stack: Stack) -> str:
    return stack.settings.database_url.removeprefix("sqlite:///")


def test_with_the_database_locked_calls_are_routed_and_their_rows_stored_afterwards(
    stack: Stack,
) -> None:
    caller = "13900000401"
    with running_controller(stack) as controller, agent_phone(stack, "db-a", "agent1001"):
        # another process holds the database's write lock for the whole call
        lock = sqlite3.connect(database_file(stack), isolation_level=None, timeout=10)
        lock.execute("BEGIN IMMEDIATE")
        try:
            place_call(stack, "db-away", caller, script=[(3000, "0")])
            wait_for(
                lambda: "event=store.unavailable" in controller.text(), 30, "writes to be held"
            )
            assert not stack.calls_from(caller)  # nothing could be written yet
        finally:
            lock.execute("ROLLBACK")
            lock.close()
        wait_for(lambda: "event=store.recovered" in controller.text(), 30, "the writes to land")
        call = stack.ended_call(caller)
    # everything the call produced is there: call, legs, IVR path, routing decision
    assert call.outcome == "answered"
    assert [(leg.agent_id, leg.dial_status) for leg in call.legs] == [("1001", "ANSWER")]
    path = stack.ivr_path(call.linkedid)
    assert path[-1] == ("to_agent", "answered")
    (decision,) = stack.decisions(call.linkedid)
    assert decision.answered_by == "1001"


def test_controller_killed_mid_call_the_caller_reaches_a_person_and_the_row_is_closed(
    stack: Stack,
) -> None:
    caller = "13900000402"
    work = stack.folder / "killed"
    agent = sipp.start_agent(  # the fallback queue's member answers once, then exits 0
        work,
        "agent1001",
        AGENT_PORTS[0],
        sipp.agent_scenario(sipp.party_audio(work, sipp.AGENT_HZ), talk_ms=2000),
        max_calls=1,
    )
    try:
        with running_controller(stack, killed=True) as first:
            # the caller listens to the menus and presses nothing
            silent = sipp.caller_scenario(sipp.party_audio(work, sipp.CALLER_HZ), caller)
            party = sipp.start_caller(work, "caller", silent, SIP_PORT, timeout_s=90)
            wait_for(lambda: "event=ivr.start" in first.text(), 20, "the call to enter the IVR")
            wait_for(lambda: stack.calls_from(caller), 10, "the call row")
            first.process.send_signal(signal.SIGKILL)
            first.process.wait(10)
        assert party.process.wait(60) == 0, party.log.read_text(errors="replace")[-1500:]
        assert agent.process.wait(10) == 0  # a person answered: the dialplan's fallback queue
    finally:
        agent.stop()
    (call,) = stack.calls_from(caller)
    assert call.outcome == "live"  # nobody was listening when it ended
    # a restarted controller finds the call gone from Asterisk and closes its row
    with running_controller(stack) as second:
        wait_for(lambda: "event=calls.closed-stale" in second.text(), 20, "the stale row closed")
    (call,) = stack.calls_from(caller)
    assert call.outcome == "unknown" and call.ended_at is not None
    steps = stack._query(
        lambda s: list(s.scalars(select(IvrStep).where(IvrStep.linkedid == call.linkedid)))
    )
    assert steps == []  # the killed session's path was never written, and nothing invented
    assert not stack._query(
        lambda s: list(
            s.scalars(select(RouteDecision).where(RouteDecision.linkedid == call.linkedid))
        )
    )
