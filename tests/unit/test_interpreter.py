"""The 12333 flow walked through the pure interpreter (no sockets, no clock)."""

from __future__ import annotations

import pytest

from ivr.flow import load_flows
from ivr.interpreter import (
    Ask,
    BookSlot,
    CheckHours,
    Collect,
    Finish,
    FlowRun,
    Lookup,
    Notify,
    Play,
    Record,
    Transfer,
)
from tests.conftest import REPO

POSTS = {"pension-city", "pension-xihu"}
FLOW = load_flows(REPO / "dialplans" / "flows", POSTS)["12333"]
VALID_ID = "330106198005126726"


@pytest.fixture(autouse=True)
def instructions_made_afresh() -> None:
    """Each test makes its instructions itself. The flow keeps those that depend on the node
    alone, and scripts/mutation (mutmut) runs each mutant in a process forked after the
    unmutated tests ran: instructions kept from then hid every mutant of the code that makes
    them (a Record without its prompt survived the test that asserts the whole Record)."""
    FLOW.instructions.clear()


def start(mode: str = "menu", open_: bool = True, **variables: str) -> FlowRun:
    """A run past the greeting (silence: Mandarin) and the recording notice."""
    run = FlowRun(FLOW, variables={"mode": mode, "district": "", **variables})
    run.advance("timeout")  # no key during the greeting
    run.advance("done")  # recording notice
    if mode == "menu":
        assert run.instruction() == CheckHours()
        run.advance("open" if open_ else "closed")
    return run


def nodes(run: FlowRun) -> list[str]:
    return [v.node for v in run.path]


def test_greeting_then_main_menu_long_then_short_prompt() -> None:
    run = start()
    assert run.node_id == "main_menu"
    assert run.instruction() == Ask(("main_menu",), 6.0)
    run.advance("digit:7")
    assert run.instruction() == Ask(("invalid", "main_menu_short"), 6.0)
    run.advance("timeout")
    assert run.instruction() == Ask(("no_input", "main_menu_short"), 6.0)
    run.advance("digit:*")
    assert run.instruction() == Ask(("main_menu",), 6.0)


def test_8_during_the_greeting_switches_to_english() -> None:
    run = FlowRun(FLOW, variables={"mode": "menu"})
    assert run.language == "zh-CN"
    run.advance("digit:8")
    assert run.language == "en"
    assert run.instruction() == Play(("recording_notice",))


def test_0_from_a_submenu_reaches_a_person_in_the_callers_district() -> None:
    run = start(district="xihu")
    run.advance("digit:2")  # policy menu, no topic chosen yet: general enquiries
    run.advance("digit:0")
    assert run.instruction() == CheckHours()
    run.advance("open")
    assert run.instruction() == Transfer("", "other", "xihu", "transfer_hold", "", True)
    run.advance("answered")
    assert run.finished


@pytest.mark.parametrize(
    ("keys", "business"),
    [
        ("25", "medical"),  # 2 policy, 5 medical insurance
        ("21", "pension"),  # 2 policy, 1 social insurance
        ("22", "employment"),
        ("23", "labour"),
        ("24", "personnel"),
        ("", "other"),  # 0 straight from the main menu
    ],
)
def test_0_after_a_topic_asks_for_a_person_of_that_business(keys: str, business: str) -> None:
    run = start()
    for key in keys:
        run.advance(f"digit:{key}")
    run.advance("digit:0")
    run.advance("open")
    assert run.instruction() == Transfer("", business, "", "transfer_hold", "", True)


def test_hash_goes_back_and_star_repeats_an_information_prompt() -> None:
    run = start()
    run.advance("digit:2")
    run.advance("digit:1")
    assert run.instruction() == Play(("policy_social_insurance",))
    run.advance("digit:*")
    assert run.instruction() == Play(("policy_social_insurance",))
    run.advance("digit:#")
    assert run.node_id == "policy_menu"
    run.advance("digit:#")
    assert run.node_id == "main_menu"


def test_after_the_pension_information_1_sends_the_transfer_notice_by_sms() -> None:
    run = start()
    run.advance("digit:2")
    run.advance("digit:1")
    run.advance("done")  # the pension information played
    assert run.node_id == "pension_sms_offer"
    run.advance("digit:1")
    assert run.instruction() == Notify("pension-transfer")
    run.advance("sent")
    assert run.instruction() == Play(("sms_sent",))
    run.advance("done")
    assert run.node_id == "policy_menu"
    # a failed send says so and goes back too; silence skips the offer
    run.advance("digit:1")
    run.advance("done")
    run.advance("digit:1")
    run.advance("failed")
    assert run.instruction() == Play(("sms_failed",))
    run.advance("done")
    run.advance("digit:1")
    run.advance("done")
    run.advance("timeout")
    assert run.node_id == "policy_menu"


def test_three_wrong_keys_hand_the_caller_to_a_person_not_a_hang_up() -> None:
    run = start()
    for key in "777":
        run.advance(f"digit:{key}")
    assert run.node_id == "agent_hours"


def test_id_query_reads_back_confirms_masks_the_pin_and_says_the_record() -> None:
    run = start()
    run.advance("digit:1")
    assert isinstance(run.instruction(), Collect)
    run.advance(f"input:{VALID_ID}")
    readback = run.instruction()
    assert isinstance(readback, Ask)
    assert readback.prompts[0] == "you_entered" and readback.prompts[-1] == "confirm_reenter"
    assert readback.prompts[1:-1] == tuple(f"num/{d}" for d in VALID_ID)
    run.advance("digit:1")
    assert run.variables["id_number"] == VALID_ID
    run.advance("input:123456")
    assert run.path[-1].outcome == "input:******"
    assert run.path[-3].outcome == f"input:{VALID_ID[:6]}********{VALID_ID[-4:]}"
    assert run.instruction() == Lookup(
        "contributions", {"id": VALID_ID, "pin": "123456"}, 1.5, "query_please_wait"
    )
    run.advance("found", {"months": "186", "last_month": "202610", "last_amount": "1180.50"})
    said = run.instruction()
    # 186 months: 一百八十六个月
    assert said == Play(
        ("query_months", "num/1", "num/100", "num/8", "num/10", "num/6", "unit/months")
    )


def test_a_bad_check_digit_is_refused_with_the_clear_prompt() -> None:
    run = start()
    run.advance("digit:1")
    run.advance("input:330106198005126727")  # last digit wrong
    collect = run.instruction()
    assert isinstance(collect, Collect)
    assert collect.prompts == ("query_bad_id", "query_enter_id")


def test_star_keys_the_letter_x_of_an_id_number() -> None:
    run = start()
    run.advance("digit:1")
    run.advance("input:33010619850101108*")
    readback = run.instruction()
    assert isinstance(readback, Ask) and readback.prompts[-2] == "letter_x"


def test_a_complaint_is_recorded_and_the_ticket_number_said_back() -> None:
    run = start()
    run.advance("digit:4")
    run.advance("digit:2")
    assert run.instruction() == Record("message_intro", "complaint", 120)
    run.advance("recorded", {"ticket": "2611270001"})
    said = run.instruction()
    assert isinstance(said, Play) and said.prompts[0] == "message_thanks"
    assert said.prompts[1:] == tuple(f"num/{d}" for d in "2611270001")
    run.advance("done")
    assert run.instruction() == Finish(("goodbye",))


def test_after_hours_3_books_a_call_back_and_says_the_slot_and_the_number() -> None:
    run = start(open_=False, service_hours="mon-fri 09:00-12:00")
    run.advance("done")
    run.advance("done")
    assert run.node_id == "after_hours_menu"
    run.advance("digit:3")
    assert run.instruction() == BookSlot("other", "")  # no topic chosen yet
    run.advance("booked", {"callback_slot": "tue 09:00-10:00", "ticket": "2612080001"})
    slot = ("day/tue", "time/am", "num/9", "unit/oclock", "word/to", "time/am", "num/10")
    assert run.instruction() == Play(("callback_slot_booked", *slot, "unit/oclock"))
    run.advance("done")
    said = run.instruction()
    assert isinstance(said, Play) and said.prompts[0] == "callback_slot_number"
    run.advance("done")
    assert run.node_id == "goodbye"
    # a slot that could not be booked says so and offers the menu again
    again = start(open_=False, service_hours="mon-fri 09:00-12:00")
    again.advance("done")
    again.advance("done")
    again.advance("digit:3")
    again.advance("failed")
    assert again.instruction() == Play(("callback_slot_failed",))


def test_after_hours_announces_the_hours_and_offers_no_agent() -> None:
    run = start(open_=False, service_hours="mon-fri 09:00-12:00")
    hours: tuple[str, ...] = (
        "day/mon",
        "word/to",
        "day/fri",
        "time/am",
        "num/9",
        "unit/oclock",
        "word/to",
    )
    hours += ("time/noon", "num/10", "num/2", "unit/oclock")  # 中午十二点
    assert run.instruction() == Play(("after_hours", *hours))
    run.advance("done")
    assert run.instruction() == Play(("after_hours_end",))
    run.advance("done")
    assert run.node_id == "after_hours_menu"
    run.advance("digit:0")  # 0 anyway: the agent node checks the hours and says so
    assert run.instruction() == CheckHours()
    run.advance("closed")
    assert run.instruction() == Play(("agents_closed", *hours))


def test_straight_to_agent_mode_routes_at_once_and_keeps_self_service_on_9() -> None:
    run = start(mode="straight")
    assert run.instruction() == Transfer("", "other", "", "straight_hold", "9", True)
    run.advance("self-service")
    assert run.instruction() == CheckHours()
    run.advance("open")
    assert run.node_id == "main_menu"


def test_district_code_sets_the_routing_district() -> None:
    run = start()
    run.advance("digit:9")
    run.advance("input:03")
    assert run.variables["district"] == "xihu"
    assert run.node_id == "main_menu"
    assert [v.node for v in run.path][-2:] == ["district_of_code", "d_xihu"]


def test_step_limit_hands_a_caller_going_round_in_circles_to_a_person() -> None:
    run = start()
    while not run.guarded:
        run.advance("digit:*")
    assert run.node_id == "agent_hours"
    assert run.steps <= FLOW.max_steps


def test_visit_limit_stops_a_loop_between_two_nodes() -> None:
    run = start()
    run.advance("digit:2")
    # employment's information, back to the menu (pension's offers its SMS notice between)
    outcomes = iter(["digit:2", "done"] * (FLOW.max_visits + 1))
    while not run.guarded:
        run.advance(next(outcomes))
    assert run.node_id == "agent_hours"
    assert run.visits["policy_menu"] == FLOW.max_visits


def test_a_trailing_hash_after_a_full_length_id_does_not_count_as_an_answer() -> None:
    run = start()
    run.advance("digit:1")
    run.advance(f"input:{VALID_ID}")  # 18 keys end the input; the caller's # comes after
    run.advance("digit:#")
    readback = run.instruction()
    assert isinstance(readback, Ask) and readback.prompts[0] == "you_entered"
    run.advance("digit:1")
    assert run.variables["id_number"] == VALID_ID


def test_instructions_made_once_per_flow_are_the_same_for_every_call() -> None:
    first, second = start(), start()
    ask = first.instruction()
    assert second.instruction() is ask  # made once for the flow, shared: it is immutable
    second.advance("digit:7")  # a wrong key: the preamble is this call's, never the flow's
    assert second.instruction() == Ask(("invalid", "main_menu_short"), 6.0)
    assert first.instruction() == Ask(("main_menu",), 6.0)
    second.advance("digit:*")
    assert second.instruction() is ask


def test_0_during_the_greeting_asks_for_general_enquiries() -> None:
    run = FlowRun(FLOW, variables={"mode": "menu", "district": ""})
    run.advance("digit:0")  # before any topic, before even the recording notice
    run.advance("open")
    assert run.instruction() == Transfer("", "other", "", "transfer_hold", "", True)


def test_a_menu_forgets_earlier_wrong_keys_when_the_caller_comes_back_to_it() -> None:
    """Two wrong keys, a visit to the policy menu and # back: the main menu starts again
    from nothing, so it takes three fresh wrong keys (the default limit) to reach a person."""
    run = start()
    run.advance("digit:7")
    run.advance("digit:7")
    assert run.node_id == "main_menu"
    run.advance("digit:2")
    assert run.node_id == "policy_menu"
    run.advance("digit:#")
    assert run.node_id == "main_menu"
    run.advance("digit:7")
    run.advance("digit:7")
    assert run.node_id == "main_menu"  # 2 wrong keys since coming back: not yet
    run.advance("digit:7")
    assert run.node_id == "agent_hours"


def test_a_collect_node_gives_up_after_exactly_its_failure_limit() -> None:
    """The ID number node has the default limit of 3: two bad numbers ask again, the third
    hands the caller to a person."""
    run = start()
    run.advance("digit:1")
    for attempt in (1, 2):
        run.advance("input:330106198005126727")  # check digit wrong
        assert run.node_id == "query_id", attempt
    run.advance("input:330106198005126727")
    assert run.node_id == "agent_hours"


def test_a_menu_hands_over_after_exactly_three_silences() -> None:
    run = start()
    run.advance("timeout")
    run.advance("timeout")
    assert run.node_id == "main_menu"
    run.advance("timeout")
    assert run.node_id == "agent_hours"


def test_a_menu_forgets_earlier_silences_when_the_caller_comes_back_to_it() -> None:
    """Two silences, a visit to the policy menu and # back: the main menu counts silences
    from nothing again, so it takes three fresh ones (its limit) to reach a person."""
    run = start()
    run.advance("timeout")
    run.advance("timeout")
    run.advance("digit:2")
    assert run.node_id == "policy_menu"
    run.advance("digit:#")
    assert run.node_id == "main_menu"
    run.advance("timeout")
    run.advance("timeout")
    assert run.node_id == "main_menu"  # 2 silences since coming back: not yet
    run.advance("timeout")
    assert run.node_id == "agent_hours"


def test_wrong_keys_at_the_id_read_back_give_up_after_exactly_the_nodes_limit() -> None:
    """A key that is neither 1 (confirm) nor 2 (re-enter) after the read-back is a failure of
    the ID node (limit 3): twice the caller is asked for the number again, the third time a
    person takes over."""
    run = start()
    run.advance("digit:1")
    for attempt in (1, 2):
        run.advance(f"input:{VALID_ID}")
        assert isinstance(run.instruction(), Ask), attempt
        run.advance("digit:5")
        assert run.node_id == "query_id", attempt
        collect = run.instruction()
        assert isinstance(collect, Collect), attempt
        assert collect.prompts == ("query_bad_id", "query_enter_id"), attempt
    run.advance(f"input:{VALID_ID}")
    run.advance("digit:5")
    assert run.node_id == "agent_hours"


def test_the_id_and_pin_nodes_instructions_are_the_flows_settings_in_full() -> None:
    """query_id in 12333.yaml: 18 keys ended by #, 10 s for the first, 5 s between keys,
    masked as an ID number; its read-back waits 6 s for 1 or 2 and is masked the same way.
    query_pin: 6 keys, # by default, masked as a PIN."""
    run = start()
    run.advance("digit:1")
    assert run.instruction() == Collect(("query_enter_id",), 18, "#", 10.0, 5.0, "id")
    run.advance(f"input:{VALID_ID}")
    readback = run.instruction()
    assert isinstance(readback, Ask) and (readback.timeout, readback.readback) == (6, "id")
    run.advance("digit:1")
    assert run.instruction() == Collect(("query_enter_pin",), 6, "#", 10.0, 5.0, "pin")
