from __future__ import annotations

from ivr.flow import load_flows
from ivr.interpreter import Ask, Finish, FlowRun, Play, Transfer
from tests.conftest import REPO

FLOW = load_flows(REPO / "dialplans", {"pension-city"})["12333"]


def walk(run: FlowRun, outcomes: list[str]) -> list[str]:
    for outcome in outcomes:
        run.advance(outcome)
    return [v.node for v in run.path]


def test_welcome_then_menu_then_pension_info_then_agent() -> None:
    run = FlowRun(FLOW)
    assert run.instruction() == Play(("hello",))
    visited = walk(run, ["done", "digit:1", "done", "digit:0"])
    assert visited == ["welcome", "main_menu", "pension_info", "main_menu"]
    assert run.instruction() == Transfer("pension-city", "pls-hold-while-try")
    run.advance("answered")
    assert run.finished


def test_a_wrong_key_replays_the_menu_after_the_invalid_prompt() -> None:
    run = FlowRun(FLOW)
    walk(run, ["done", "digit:7"])
    assert run.instruction() == Ask(("pm-invalid-option",), "basic-pbx-ivr-main", 5.0)
    run.advance("timeout")
    assert run.instruction() == Ask((), "basic-pbx-ivr-main", 5.0)


def test_three_failures_lead_to_a_person_not_a_hang_up() -> None:
    run = FlowRun(FLOW)
    walk(run, ["done", "timeout", "digit:8", "timeout"])
    assert run.node_id == "to_agent"


def test_no_agent_answering_ends_with_the_busy_message() -> None:
    run = FlowRun(FLOW)
    walk(run, ["done", "digit:0", "no-answer"])
    assert run.instruction() == Finish(("all-circuits-busy-now", "please-try-call-later"))
    run.advance("done")
    assert run.finished


def test_step_limit_hands_a_looping_caller_to_a_person() -> None:
    run = FlowRun(FLOW)
    run.advance("done")
    while run.node_id != "to_agent":
        run.advance("digit:1" if run.node_id == "main_menu" else "done")
        assert run.steps <= FLOW.max_steps
    assert run.steps == FLOW.max_steps


def test_0_during_an_information_prompt_reaches_a_person() -> None:
    run = FlowRun(FLOW)
    walk(run, ["done", "digit:1", "digit:0"])
    assert run.node_id == "to_agent"
