"""Everyone busy: the caller waits in hotline's line (announced), or books a callback that is
placed once, when an agent frees. Real stack, SIPp phones."""

from __future__ import annotations

import threading
from pathlib import Path

from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from hotline.sandbox import sipp
from hotline.store.models import Call, Callback
from tests.stack.conftest import (
    Stack,
    agent_phone,
    callers_phone,
    place_call,
    running_controller,
    wait_for,
)
from tests.stack.test_recordings import tone_power

QUEUE = "[routing]\nwrap_up_seconds = 0\nannounce_every = 20\nretry_every = 2"


def occupy_a(stack: Stack, name: str, caller: str) -> threading.Thread:
    """A first caller presses 0 and is put through to A, who stays busy with them; returns
    once A's phone rings (join the thread to wait for that call's end)."""
    thread = threading.Thread(
        target=place_call, args=(stack, name, caller), kwargs={"script": [("welcome_lang", "0")]}
    )
    thread.start()
    wait_for(
        lambda: [c for c in stack.calls_from(caller) if c.legs], 20, "the first call to ring A"
    )
    return thread


def test_with_every_agent_busy_the_caller_waits_announced_and_is_answered_when_one_frees(
    stack: Stack,
) -> None:
    config = stack.config_with("queue", extra=QUEUE)
    mark = stack.log_mark()
    with (
        running_controller(stack, config),
        agent_phone(stack, "q-a", "agent1001", talk_ms=10_000),
        agent_phone(stack, "q-b", "agent1002", behaviour="busy"),
    ):
        first = occupy_a(stack, "q-first", "13900000250")
        place_call(stack, "q-second", "13900000251", script=[("welcome_lang", "0")])
        first.join(60)
    second = stack.ended_call("13900000251")
    assert second.outcome == "answered"
    statuses = [(leg.agent_id, leg.dial_status) for leg in second.legs]
    assert statuses[0] == ("1002", "BUSY") and statuses[-1] == ("1001", "ANSWER")
    assert all(agent != "1001" for agent, _ in statuses[:-1])  # A was never rung while busy
    (decision,) = stack.decisions(second.linkedid)
    assert " | queued " in decision.chain
    played = stack.played(second, mark)
    assert "queue_position" in played and "queue_callback_offer" in played


def test_a_booked_callback_is_placed_once_when_an_agent_frees(stack: Stack) -> None:
    config = stack.config_with("callback", extra=QUEUE)
    with (
        callers_phone(stack, "callback-phone") as phone,
        running_controller(stack, config) as controller,
        agent_phone(stack, "cb-a", "agent1001", talk_ms=8000),
        agent_phone(stack, "cb-b", "agent1002", behaviour="busy"),
    ):
        first = occupy_a(stack, "cb-first", "13900000260")
        # 0 for a person; once in line, 1 during the announcement books the callback
        place_call(
            stack,
            "cb-second",
            "13900000261",
            script=[("welcome_lang", "0"), ("queue_callback_offer", "1")],
        )
        first.join(60)
        wait_for(
            lambda: "event=callback.result" in controller.text(),
            60,
            "the callback to be placed and reported",
        )
        assert phone.process.wait(40) == 0  # the caller's phone took exactly one call
    second = stack.settled_call("13900000261")
    assert stack.ivr_path(second.linkedid)[-2:] == [
        ("to_agent", "callback"),
        ("callback_booked", "done"),
    ]
    engine = create_engine(stack.settings.database_url)
    with Session(engine) as session:
        rows = session.scalars(select(Callback).where(Callback.number == "13900000261")).all()
        own = session.scalars(
            select(Call).where(Call.kind == "callback", Call.caller_number == "13900000261")
        ).all()
    engine.dispose()
    assert [(r.status, r.agent_id, r.result) for r in rows] == [("done", "1001", "ANSWER")]
    # the callback's own call: a row of its kind naming the call that booked it
    assert [(c.serves, c.caller_number, c.outcome) for c in own] == [
        (second.linkedid, "13900000261", "answered")
    ]
    assert second.outcome == "callback_booked"  # not abandoned
    # the callback call was recorded, each party in its own file: the citizen's phone sends
    # its 400 Hz tone, the agent's 1000 Hz (MixMonitor runs on the agent's channel there, so a
    # swapped r()/t() would put each tone in the other's file)
    folder = Path(stack.settings.recordings.directory)
    citizen, agent = (folder / f"{own[0].linkedid}-{p}.wav" for p in ("caller", "agent"))
    assert tone_power(citizen, sipp.CALLER_HZ) > 10 * tone_power(citizen, sipp.AGENT_HZ)
    assert tone_power(agent, sipp.AGENT_HZ) > 10 * tone_power(agent, sipp.CALLER_HZ)
