"""Routing by the 12333 rules on the real stack (issue 15): the business from the caller's
menu choices, English speakers first, the whole city linked when the city is busy, and an
agent who lets rings run out paused. Expected agents and chains are worked out from the
shipped seat directory (config/seats.toml) and each test's phones, never from the router."""

from __future__ import annotations

from tests.conftest import run_hotline
from tests.stack.conftest import Stack, agent_phone, place_call, running_controller, wait_for
from tests.stack.test_ivr import SKIP_GREETING, ms
from tests.stack.test_routing import AGENT_NOW, chain, legs


def test_2_then_5_medical_then_0_rings_the_medical_post_not_the_pension_post(
    stack: Stack,
) -> None:
    """seats.toml: medical-city A 1002 (skills medical); pension-city and other-city A 1001."""
    with (
        running_controller(stack),
        agent_phone(stack, "t-med-1001", "agent1001", talk_ms=2000),
        agent_phone(stack, "t-med-1002", "agent1002", max_calls=1, talk_ms=2000) as medical,
    ):
        keys = [SKIP_GREETING, ("main_menu", "2"), ("policy_menu", "5"), ("policy_medical", "0")]
        place_call(stack, "t-medical", "13600000701", script=keys)
        assert medical.process.wait(10) == 0
    assert legs(stack, "13600000701") == [("1002", "ANSWER")]
    call = stack.ended_call("13600000701")
    (decision,) = stack.decisions(call.linkedid)
    assert decision.business == "medical" and decision.post == "medical-city"
    assert decision.chain.startswith("post medical-city A: 1002")
    path = stack.ivr_path(call.linkedid)
    assert ("topic_medical", "set") in path and ("policy_medical", "digit:0") in path


def test_an_english_caller_is_offered_an_english_speaking_agent_first(stack: Stack) -> None:
    """A Xihu landline: other-xihu's A is 2001 (zh-CN only); 1001 is the one agent with en."""
    english_menu = ms(stack.prompt_seconds("recording_notice", "en") + 1.5)
    with (
        running_controller(stack),
        agent_phone(stack, "t-en-2001", "agent2001", talk_ms=2000),
        agent_phone(stack, "t-en-1001", "agent1001", max_calls=1, talk_ms=2000) as speaker,
    ):
        place_call(stack, "t-english", "057187060702", script=[(2000, "8"), (english_menu, "0")])
        assert speaker.process.wait(10) == 0
    assert legs(stack, "057187060702") == [("1001", "ANSWER")]
    # the plan stops where the call was answered: A (2001) was never reached
    assert chain(stack, "057187060702") == "en speaker: 1001 | rang: 1001 ANSWER"


def test_city_agents_busy_a_city_caller_is_answered_by_an_idle_xihu_agent_after_the_wait(
    stack: Stack,
) -> None:
    """Both city agents busy (486); the caller (a mobile: the city) waits in line; after the
    configured 10 s the other districts' agents with the skill are offered: a Xihu agent
    answers. Before the wait the chain says the tier is not open yet."""
    config = stack.config_with(
        "overflow",
        extra="[routing]\noverflow_districts = true\noverflow_districts_after = 10",
    )
    with (
        running_controller(stack, config),
        agent_phone(stack, "t-of-1001", "agent1001", behaviour="busy"),
        agent_phone(stack, "t-of-1002", "agent1002", behaviour="busy"),
        agent_phone(stack, "t-of-2001", "agent2001", max_calls=1, talk_ms=2000),
        agent_phone(stack, "t-of-2002", "agent2002", max_calls=1, talk_ms=2000),
    ):
        place_call(stack, "t-overflow", "13600000703", script=AGENT_NOW)
    rang = legs(stack, "13600000703")
    assert rang[:2] == [("1001", "BUSY"), ("1002", "BUSY")]
    xihu, status = rang[-1]
    assert xihu in ("2001", "2002") and status == "ANSWER"
    assert all(agent in ("1001", "1002") for agent, _ in rang[:-1])  # only the city before
    text = chain(stack, "13600000703")
    first, _, rest = text.partition(" | ")
    assert first == (
        "post other-city A: 1001 -> post other-city B: 1002 -> overflow after 10 s: not yet"
        " -> then queue"
    )
    assert f"overflow after 10 s, xihu pool: {xihu}" in rest


def test_an_agent_who_lets_two_calls_ring_out_is_paused_and_resumes_from_the_cli(
    stack: Stack,
) -> None:
    """1001 (A of other-city) never answers, 5-s rings, auto-pause after 2: the first two
    callers ring 1001 then 1002; the third goes straight to 1002, the chain saying why."""
    config = stack.config_with(
        "auto-pause",
        flows="ring_timeout = 5",
        extra="[routing]\nwrap_up_seconds = 0\nauto_pause_after = 2",
    )
    with (
        running_controller(stack, config) as controller,
        agent_phone(stack, "t-ap-1001", "agent1001", behaviour="no-answer"),
        agent_phone(stack, "t-ap-1002", "agent1002", max_calls=3, talk_ms=1500),
    ):
        for n in (1, 2, 3):
            place_call(stack, f"t-ap-{n}", f"1360000071{n}", script=AGENT_NOW)
        resumed = run_hotline(stack.config, "agent", "resume", "1001")
        assert resumed.returncode == 0, resumed.stderr
        wait_for(lambda: "event=agent.resume agent=1001" in controller.text(), 5, "the resume")
    assert "event=agent.auto-paused agent=1001 rings_unanswered=2" in controller.text()
    for n in (1, 2):
        assert legs(stack, f"1360000071{n}") == [("1001", "NOANSWER"), ("1002", "ANSWER")]
    assert legs(stack, "13600000713") == [("1002", "ANSWER")]
    assert chain(stack, "13600000713").startswith(
        "post other-city A 1001 paused (no-answer) -> post other-city B: 1002"
    )
