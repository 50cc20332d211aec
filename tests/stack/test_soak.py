"""A reduced soak (the full one is `python bench/soak.py`, see docs/PERFORMANCE.md): dozens of
simulated callers at once on Local channels, in a realistic mix (self-service only, an agent
then the survey, a caller who gives up), with SIPp agents answering. Every call is accounted
for: an ended call row, a catalogued recording, and for calls an agent answered a rating or
a queued survey."""

from __future__ import annotations

import asyncio
import time

from sqlalchemy import create_engine

from hotline.sandbox.load import account, place_load
from hotline.store.db import session_factory
from tests.stack.conftest import Stack, agent_phone, running_controller

CONCURRENT, SECONDS = 24, 45
MIX = {"self-service": 5.0, "agent": 3.0, "gives-up": 2.0}


def test_a_reduced_soak_accounts_for_every_call(stack: Stack) -> None:
    config = stack.config_with(
        "soak", surveys='enabled = true\ndelay_seconds = 3600\nhours = "00:00-24:00"'
    )
    with (
        running_controller(stack, config) as controller,
        agent_phone(stack, "soak-a1", "agent1001", talk_ms=3000),
        agent_phone(stack, "soak-a2", "agent1002", talk_ms=3000),
    ):
        result = asyncio.run(
            place_load(
                stack.settings,
                CONCURRENT,
                SECONDS,
                MIX,
                stack.prompt_seconds,
                controller.process.pid,
            )
        )
        placed = [p for p in result.placed if p.accepted]
        assert len(placed) == len(result.placed), "Asterisk refused some originations"
        engine = create_engine(stack.settings.database_url)
        sessions = session_factory(engine)
        welcome_ms = (stack.prompt_seconds("welcome_lang") + 1) * 1000

        deadline = time.monotonic() + 120  # the last calls end, their recordings land
        while True:
            tally = account(sessions, placed, welcome_ms)
            if tally.ended == tally.recorded == tally.calls or time.monotonic() > deadline:
                break
            time.sleep(0.5)  # a poll: the test goes on as soon as the last one lands
        engine.dispose()
        log = controller.text()
    assert tally.missing == [], log[-3000:]
    assert (tally.ended, tally.recorded) == (tally.calls, tally.calls), (tally, log[-3000:])
    assert tally.agent_answered > 0, "the mix put callers through to agents"
    assert tally.survey_state == tally.agent_answered  # rated, or a survey call queued
    assert max(up for _, up in result.concurrency) >= CONCURRENT  # (channels: two per call)
    assert tally.welcome_overhead_ms, "silent greetings were timed"
