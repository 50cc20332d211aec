"""The outcome rule as a table: what the caller did in the IVR, whether an agent's leg was
answered, and the outcome stored and shown for the call (README "How a call ends").

The flow is a small one of this test's own, shaped like the 12333 flow (a greeting, a menu with
policy topics, a query that says a value, messages, 0 for a person through an hours check,
straight-to-agent mode), so the table reads without the 12333 flow's node names."""

from __future__ import annotations

from pathlib import Path

import pytest

from ivr.flow import Flow, load_flow
from ivr.outcome import asks_for_person, call_outcome, ivr_end, own_call_outcome

FLOW_TEXT = """
schema: 1
flow: outcome-table
start: welcome
agent: agent_hours
home: main_menu
nodes:
  welcome: {type: play, prompts: [welcome], next: mode}
  mode: {type: switch, variable: mode, cases: {straight: straight}, default: main_menu}
  main_menu:
    type: menu
    prompt: main_menu
    choices: {"1": query_id, "2": policy, "4": complaint}
    on_failure: agent_hours
  policy: {type: play, prompts: [policy_text], next: main_menu}
  query_id:
    type: collect
    prompt: enter_id
    variable: id_number
    min_length: 2
    max_length: 2
    next: query_say
    on_failure: agent_hours
  query_say: {type: say, prompts: [months], value: $id_number, as: digits, next: main_menu}
  complaint:
    type: message
    prompt: message_intro
    category: complaint
    next: goodbye
    on_empty: main_menu
  agent_hours: {type: hours, open: to_agent, closed: agents_closed}
  to_agent:
    type: route
    business: pension
    hold_prompt: transfer_hold
    no_answer: all_busy
    on_callback: callback_booked
  straight:
    type: route
    business: pension
    hold_prompt: straight_hold
    self_service_key: "9"
    self_service: main_menu
    no_answer: all_busy
    on_callback: callback_booked
  all_busy: {type: play, prompts: [all_busy], next: complaint}
  agents_closed: {type: play, prompts: [agents_closed], next: main_menu}
  callback_booked: {type: hangup, prompts: [callback_confirmed]}
  goodbye: {type: hangup, prompts: [goodbye]}
"""


@pytest.fixture(scope="module")
def flow(tmp_path_factory: pytest.TempPathFactory) -> Flow:
    path: Path = tmp_path_factory.mktemp("flows") / "outcome.yaml"
    path.write_text(FLOW_TEXT, encoding="utf-8")
    return load_flow(path)


GREETED = [("welcome", "done"), ("mode", "case:menu")]
ASK = [("main_menu", "digit:0"), ("agent_hours", "open")]

# (situation, the IVR path, the flow gave up, an agent's leg answered, the outcome)
TABLE: list[tuple[str, list[tuple[str, str]], bool, bool, str]] = [
    (
        "query heard to the end, then hung up at the menu",
        [
            *GREETED,
            ("main_menu", "digit:1"),
            ("query_id", "input:12"),
            ("query_say", "done"),
            ("main_menu", "hangup"),
        ],
        False,
        False,
        "self_service",
    ),
    (
        "policy topic heard to the end",
        [*GREETED, ("main_menu", "digit:2"), ("policy", "done"), ("main_menu", "hangup")],
        False,
        False,
        "self_service",
    ),
    (
        "complaint recorded (a ticket)",
        [*GREETED, ("main_menu", "digit:4"), ("complaint", "recorded"), ("goodbye", "done")],
        False,
        False,
        "self_service",
    ),
    (
        "hung up during the policy text",
        [*GREETED, ("main_menu", "digit:2"), ("policy", "hangup")],
        False,
        False,
        "ivr_abandoned",
    ),
    (
        "hung up during the greeting (a heard greeting is nothing finished)",
        [("welcome", "done"), ("mode", "case:menu"), ("main_menu", "hangup")],
        False,
        False,
        "ivr_abandoned",
    ),
    (
        "left the policy text with # (not heard to the end)",
        [*GREETED, ("main_menu", "digit:2"), ("policy", "digit:#"), ("main_menu", "hangup")],
        False,
        False,
        "ivr_abandoned",
    ),
    (
        "asked, an agent answered",
        [*GREETED, *ASK, ("to_agent", "answered")],
        False,
        True,
        "answered",
    ),
    (
        "self-service first, then asked and answered",
        [*GREETED, ("main_menu", "digit:2"), ("policy", "done"), *ASK, ("to_agent", "answered")],
        False,
        True,
        "answered",
    ),
    (
        "asked, hung up in the hold prompt",
        [*GREETED, *ASK, ("to_agent", "hangup")],
        False,
        False,
        "abandoned",
    ),
    (
        "asked, hung up in the line or while an agent rang",
        [*GREETED, ("main_menu", "digit:2"), ("policy", "done"), *ASK, ("to_agent", "hangup")],
        False,
        False,
        "abandoned",
    ),
    (
        "asked, hung up the instant the hours were checked",
        [*GREETED, ("main_menu", "digit:0"), ("agent_hours", "hangup")],
        False,
        False,
        "abandoned",
    ),
    (
        "asked, booked a callback in the line",
        [*GREETED, *ASK, ("to_agent", "callback"), ("callback_booked", "done")],
        False,
        False,
        "callback_booked",
    ),
    (
        "asked, nobody answered, left a message on the no-answer path",
        [
            *GREETED,
            *ASK,
            ("to_agent", "no-answer"),
            ("all_busy", "done"),
            ("complaint", "recorded"),
            ("goodbye", "done"),
        ],
        False,
        False,
        "overflow",
    ),
    (
        "asked, nobody answered, hung up in the all-busy prompt",
        [*GREETED, *ASK, ("to_agent", "no-answer"), ("all_busy", "hangup")],
        False,
        False,
        "overflow",
    ),
    (
        "asked after hours: the agents-closed path took the caller",
        [
            *GREETED,
            ("main_menu", "digit:0"),
            ("agent_hours", "closed"),
            ("agents_closed", "done"),
            ("main_menu", "hangup"),
        ],
        False,
        False,
        "overflow",
    ),
    (
        "sent to the message after no answer, asked again and hung up waiting",
        [
            *GREETED,
            *ASK,
            ("to_agent", "no-answer"),
            ("all_busy", "digit:0"),
            ("agent_hours", "open"),
            ("to_agent", "hangup"),
        ],
        False,
        False,
        "abandoned",
    ),
    (
        "straight to an agent: answered",
        [("welcome", "done"), ("mode", "case:straight"), ("straight", "answered")],
        False,
        True,
        "answered",
    ),
    (
        "straight mode, 9 to the menus, heard a topic",
        [
            ("welcome", "done"),
            ("mode", "case:straight"),
            ("straight", "self-service"),
            ("main_menu", "digit:2"),
            ("policy", "done"),
            ("main_menu", "hangup"),
        ],
        False,
        False,
        "self_service",
    ),
    (
        "the flow gave up on a caller going round: the fallback queue answered",
        [*GREETED, *ASK, ("to_agent", "no-answer")],
        True,
        True,
        "fallback",
    ),
]


@pytest.mark.parametrize(
    ("path", "exhausted", "agent_answered", "expected"),
    [pytest.param(p, x, a, e, id=situation) for situation, p, x, a, e in TABLE],
)
def test_the_outcome_of_a_call(
    flow: Flow,
    path: list[tuple[str, str]],
    exhausted: bool,
    agent_answered: bool,
    expected: str,
) -> None:
    assert call_outcome(True, agent_answered, ivr_end(flow, path, exhausted)) == expected


def test_a_call_no_ivr_reported_on_is_the_fallback_queues_answered_or_not() -> None:
    assert call_outcome(True, True, None) == "fallback"
    assert call_outcome(True, False, None) == "fallback"


def test_a_call_not_ended_is_live_whatever_is_known() -> None:
    assert call_outcome(False, True, "answered") == "live"


def test_an_agent_answering_wins_over_the_ivrs_view() -> None:
    """The tracker saw the agent's leg answered though the IVR saw the caller leave (the
    hang-up raced the Dial's return)."""
    assert call_outcome(True, True, "asked") == "answered"


def test_the_agent_node_and_route_nodes_are_asks_and_menus_are_not(flow: Flow) -> None:
    assert [asks_for_person(flow, n) for n in ("agent_hours", "to_agent", "straight")] == [
        True,
        True,
        True,
    ]
    assert not asks_for_person(flow, "main_menu")
    assert not asks_for_person(flow, "all_busy")


def test_the_ivrs_own_word_for_a_dial_it_saw_answered_is_answered(flow: Flow) -> None:
    """The IVR's summary on its own (the call row's `ivr_end`): the route's Dial returned
    answered, and the call is answered even before the tracker's leg event is stored."""
    ivr = ivr_end(flow, [*GREETED, *ASK, ("to_agent", "answered")], False)
    assert ivr == "answered"
    assert call_outcome(True, False, ivr) == "answered"


def test_a_path_is_not_given_up_unless_the_caller_says_so(flow: Flow) -> None:
    """`exhausted` defaults to no: a policy topic heard is self-service, not the fallback."""
    assert ivr_end(flow, [*GREETED, ("main_menu", "digit:2"), ("policy", "done")]) == "served"


def test_a_message_left_empty_is_nothing_finished(flow: Flow) -> None:
    """Only a recorded message serves the caller; one who said nothing (`empty`, back to the
    menu) and hung up finished nothing."""
    path = [*GREETED, ("main_menu", "digit:4"), ("complaint", "empty"), ("main_menu", "hangup")]
    assert call_outcome(True, False, ivr_end(flow, path, False)) == "ivr_abandoned"


def test_an_ask_withdrawn_with_the_self_service_key_is_not_a_no_answer(
    tmp_path: Path,
) -> None:
    """A flow whose hours check leads to a hold prompt with a self-service key: the caller
    asked (hours open), pressed the key, heard a policy topic and hung up. The ask was
    withdrawn, nobody failed to answer it: self-service, not overflow."""
    path_ = tmp_path / "withdraw.yaml"
    text = FLOW_TEXT.replace("open: to_agent", "open: straight").replace(
        '"4": complaint}',
        '"4": complaint, "5": to_agent}',  # keeps to_agent reachable
    )
    path_.write_text(text, encoding="utf-8")
    withdraw = load_flow(path_)
    path = [
        *GREETED,
        ("main_menu", "digit:0"),
        ("agent_hours", "open"),
        ("straight", "self-service"),
        ("main_menu", "digit:2"),
        ("policy", "done"),
        ("main_menu", "hangup"),
    ]
    assert call_outcome(True, False, ivr_end(withdraw, path, False)) == "self_service"


def test_our_own_call_is_answered_when_it_reached_the_citizen() -> None:
    assert [own_call_outcome(True), own_call_outcome(False)] == ["answered", "not_reached"]
