"""A caller mashing keys never gets stuck: the runtime guards (a step limit per call, a
visit limit per node) hand them to a person, or the flow ends cleanly (a message and a
ticket when nobody can answer). Driven through the real 12333 flow and runtime with a
scripted caller that never stops pressing keys and never hangs up."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from itertools import cycle

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ivr.interpreter import FlowRun
from ivr.runtime import HANDLED_VARIABLE, run_call
from tests.unit.test_runtime import FLOW, MONDAY_10AM, SUNDAY_10AM, ScriptedChannel, services

KEYS = "0123456789*#"
# more than any call can take: the guards end a flood far sooner (max_steps is 80)
INTERACTION_CAP = 2_000


class Masher(ScriptedChannel):
    """Presses the pattern's keys for ever ('' = a moment of silence); counts interactions
    so a call that would never end fails the test instead of hanging it."""

    def __init__(self, pattern: Sequence[str], answer: bool) -> None:
        super().__init__([], {"agent1001": "ANSWER", "agent1002": "ANSWER"} if answer else {})
        self.source = cycle(pattern)
        self.interactions = 0

    def _next(self) -> str:
        self.interactions += 1
        assert self.interactions < INTERACTION_CAP, "the call never ends: stuck"
        return next(self.source)

    async def collect(
        self,
        prompts: Sequence[str],
        max_length: int,
        terminator: str,
        timeout: float,
        inter_digit_timeout: float,
    ) -> str | None:
        # a flood fills a collect to its length (the terminator ends it early)
        self.played.extend(prompts)
        keys = ""
        while len(keys) < max_length:
            key = self._next()
            if not key or key == terminator:
                break
            keys += key
        return keys or None


def flood(
    pattern: Sequence[str], answer: bool, sunday: bool, straight: bool = False
) -> tuple[FlowRun, Masher, int]:
    channel = Masher(pattern, answer)
    run = FlowRun(FLOW, variables={"mode": "straight" if straight else "menu", "district": ""})
    svc = services(now=SUNDAY_10AM if sunday else MONDAY_10AM)
    report = asyncio.run(asyncio.wait_for(run_call(run, channel, svc, "1795.1", "139"), 30))
    assert not report.hung_up  # the caller never hangs up: the flow itself ended the call
    return run, channel, len(report.steps)


def assert_ended_well(run: FlowRun, channel: Masher, steps: int, answer: bool) -> None:
    """A person, a clean goodbye, or (still going round max_steps after the guard's hand-over)
    the call left unhandled for the dialplan's fallback queue: a person too."""
    assert run.finished
    # the guards: max_steps to the hand-over, at most max_steps more after it (steps taken
    # by the caller; the report also lists the set/switch nodes settled on the way)
    assert run.steps <= 2 * FLOW.max_steps + 1, (run.steps, [v.node for v in run.path][-30:])
    assert steps <= 3 * FLOW.max_steps
    if run.exhausted:
        assert run.guarded
        assert HANDLED_VARIABLE not in channel.variables  # the dialplan's fallback queue
        return
    assert channel.variables.get(HANDLED_VARIABLE) == "1"
    if channel.dialled and answer:
        assert channel.dialled[-1] in ("agent1001", "agent1002")  # a person took the call
    else:  # nobody can answer (closed, or everyone unavailable): a clean goodbye
        assert channel.played[-1].endswith("/goodbye"), channel.played[-5:]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    pattern=st.lists(st.sampled_from([*KEYS, ""]), min_size=1, max_size=40),
    answer=st.booleans(),
    sunday=st.booleans(),
    straight=st.booleans(),
)
def test_any_key_flood_ends_at_a_person_or_a_clean_goodbye(
    pattern: list[str], answer: bool, sunday: bool, straight: bool
) -> None:
    run, channel, steps = flood(pattern, answer, sunday, straight)
    assert_ended_well(run, channel, steps, answer)


def test_sixty_keys_mashed_in_a_row_then_silence() -> None:
    """The SIPp-style flood: 60 quick keys, then the caller waits."""
    mashed = [KEYS[(i * 7) % len(KEYS)] for i in range(60)]
    for answer in (True, False):
        channel = Masher([*mashed, *[""] * 200], answer)
        run = FlowRun(FLOW, variables={"mode": "menu", "district": ""})
        report = asyncio.run(run_call(run, channel, services(), "1795.1", "139"))
        assert not report.hung_up
        assert_ended_well(run, channel, len(report.steps), answer)


def test_one_key_held_down_for_ever_is_guarded() -> None:
    for key in KEYS:
        run, channel, steps = flood([key], answer=True, sunday=False)
        assert_ended_well(run, channel, steps, True)


def test_zero_pressed_for_ever_after_hours_is_handed_to_the_dialplan_fallback() -> None:
    """Found by the flood test: after hours 0 leads to 'agents closed' and back to the
    after-hours menu; once the guard had fired nothing bounded that loop (6,000 steps and
    counting). Now the flow ends unhandled max_steps after the hand-over."""
    run, channel, steps = flood(["0"], answer=False, sunday=True)
    assert run.guarded and run.exhausted
    assert run.steps <= 2 * FLOW.max_steps + 1 and steps <= 3 * FLOW.max_steps
    assert HANDLED_VARIABLE not in channel.variables
