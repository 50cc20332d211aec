"""The KPI oracle: a scripted morning of real calls on the real stack, and the figures
`hotline report kpi --json` gives for it, each worked out by hand below from the script.

The morning (A = agent 1001, the city post's A; B = agent 1002, whose phone is busy all
morning, so every call that reaches B's step goes on to the line):

  1. 901 queries a contribution record and hears it to the end ......... self_service
  2. 902 hangs up during the greeting .................................... ivr_abandoned
  3. 903 presses 0; A answers at once .................................... answered, <= 15 s
  4. 904 presses 0; A answers and talks 20 s (A is busy from here) ........ answered, <= 15 s
  5. 905 presses 0; B busy; waits in hotline's line until A frees ......... answered, > 15 s
  6. 906 presses 0; B busy; hangs up in the line before anyone rings ...... abandoned
  7. 907 presses 0; B busy; presses 1 in the line: a callback, placed
     when A frees (the caller's phone answers) ........................... callback_booked
  8. 908 calls after hours and presses 0 .................................. overflow

By hand: 8 calls, all entered the IVR; asked = 3, 4, 5, 6, 7, 8 = 6; answered = 3, 4, 5 = 3;
within 15 s = 3, 4 = 2; abandoned = 6 = 1; so connection 3/6 = 50.0 %, 15-s answer rate
2/6 = 33.3 %, abandonment 1/6 = 16.7 %; self-service 1/8 = 12.5 %. Routing reached the city
post's A step on calls 3-7 (A rung, or passed over while talking) = 5, and no call was answered
by anyone but A: AB fallback 0/5. Surveys are off here: 3 answered calls eligible, 0 rated.
Callbacks: 1 booked, 1 placed, 1 answered.
"""

from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session, selectinload

from hotline.store.models import Call, RouteDecision
from tests.conftest import run_hotline
from tests.stack.conftest import (
    Stack,
    agent_phone,
    callers_phone,
    place_call,
    running_controller,
    wait_for,
)

QUEUE = "[routing]\nwrap_up_seconds = 0\nannounce_every = 20\nretry_every = 2"
ID = "330106198005126726"  # in config/example-contributions.csv, PIN 123456
AGENT_NOW = [(3000, "0")]  # 0 during the greeting (calls 4-7: they start close together,
# and a cued caller must be the only one starting: conftest.PromptCues)


def ms(seconds: float) -> int:
    return int(seconds * 1000)


def own_database(stack: Stack, config: Path, url: str) -> Path:
    """The morning's calls in a database of their own: the report sees only them."""
    config.write_text(config.read_text().replace(stack.settings.database_url, url))
    return config


def in_background(stack: Stack, name: str, caller: str, **kwargs: object) -> threading.Thread:
    thread = threading.Thread(target=place_call, args=(stack, name, caller), kwargs=kwargs)
    thread.start()
    return thread


def test_a_scripted_morning_gives_the_hand_worked_kpis(stack: Stack) -> None:
    url = f"sqlite:///{stack.folder / 'oracle.db'}"
    config = own_database(stack, stack.config_with("oracle", extra=QUEUE), url)
    closed = own_database(stack, stack.config_with("oracle-closed", hours=""), url)
    # call 3 and 4 are answered within 15 s of the 0 only if the hold prompt leaves room for
    # the ring: a precondition of the script, not a measurement
    assert stack.prompt_seconds("transfer_hold") + 2 < 15
    with running_controller(stack, config) as controller:
        with (
            agent_phone(stack, "o-a1", "agent1001", talk_ms=2000),
            agent_phone(stack, "o-b1", "agent1002", behaviour="busy"),
        ):
            place_call(  # 1: keys on their prompts' cues, gone once the record was said
                stack,
                "o-901",
                "13900000901",
                script=[
                    ("welcome_lang", "5"),
                    ("main_menu", "1"),
                    ("query_enter_id", ID + "#"),
                    ("confirm_reenter", "1"),
                    ("query_enter_pin", "123456"),
                    ("query_done", ""),
                ],
                hangup_after_ms=500,
            )
            place_call(  # 2: gone half a second into the greeting
                stack, "o-902", "13900000902", script=[("welcome_lang", "")], hangup_after_ms=500
            )
            place_call(stack, "o-903", "13900000903", script=[("welcome_lang", "0")])  # 3
        with (
            callers_phone(stack, "o-callback-phone") as phone,
            agent_phone(stack, "o-a2", "agent1001", talk_ms=20_000),
            agent_phone(stack, "o-b2", "agent1002", behaviour="busy"),
        ):
            first = in_background(stack, "o-904", "13900000904", script=AGENT_NOW)  # 4
            wait_for(lambda: _rung(url, "13900000904"), 20, "A to ring for call 4")
            waiting = in_background(stack, "o-905", "13900000905", script=AGENT_NOW)  # 5
            wait_for(lambda: _rung(url, "13900000905"), 20, "B to be tried for call 5")
            hold = ms(stack.prompt_seconds("transfer_hold"))
            gone = in_background(  # 6: in the line a few seconds, then gone
                stack, "o-906", "13900000906", script=AGENT_NOW, hangup_after_ms=hold + 8000
            )
            booked = in_background(  # 7: 1 during the line's announcement
                stack, "o-907", "13900000907", script=[(3000, "0"), (7000, "1")]
            )
            for thread in (first, waiting, gone, booked):
                thread.join(120)
            wait_for(
                lambda: "event=callback.result" in controller.text(),
                90,
                "the callback to be placed and reported",
            )
            assert phone.process.wait(40) == 0  # the caller's phone took the callback
    with running_controller(stack, closed):
        place_call(  # 8
            stack,
            "o-908",
            "13900000908",
            # 0 while the hours are announced; gone while told no agent is on duty
            script=[("welcome_lang", "5"), ("after_hours", "0"), ("agents_closed", "")],
            hangup_after_ms=500,
        )
    calls = _settled(url, 8)
    assert {c.caller_number[-3:]: c.outcome for c in calls} == {
        "901": "self_service",
        "902": "ivr_abandoned",
        "903": "answered",
        "904": "answered",
        "905": "answered",
        "906": "abandoned",
        "907": "callback_booked",
        "908": "overflow",
    }
    today = datetime.now(ZoneInfo(stack.settings.directory.timezone)).date()
    done = run_hotline(
        config,
        "report",
        "kpi",
        "--from",
        str(today - timedelta(days=1)),
        "--to",
        str(today + timedelta(days=1)),
        "--json",
    )
    assert done.returncode == 0, done.stderr
    total = json.loads(done.stdout)["total"]
    assert (total["calls"], total["entered_ivr"], total["asked"]) == (8, 8, 6)
    assert (total["self_service"], total["ivr_abandoned"], total["overflow"]) == (1, 1, 1)
    assert (total["answered"], total["answered_15s"], total["abandoned"]) == (3, 2, 1)
    assert total["callback_booked"] == 1
    assert total["connection_rate"] == round(100 * 3 / 6, 1)
    assert total["answer_rate_15s"] == round(100 * 2 / 6, 1)
    assert total["abandonment"] == round(100 * 1 / 6, 1)
    assert total["self_service_rate"] == round(100 * 1 / 8, 1)
    assert (total["ab_reached"], total["ab_fallbacks"], total["ab_fallback_rate"]) == (5, 0, 0.0)
    assert (total["survey_eligible"], total["responded"]) == (3, 0)
    counted = (total["callbacks_booked"], total["callbacks_placed"], total["callbacks_answered"])
    assert counted == (1, 1, 1)
    # the waits, from the stored moments the callers asked (the 0) to the agent's answer
    waits = {}
    for c in calls:
        answers = [leg.answered_at for leg in c.legs if leg.answered_at is not None]
        if c.outcome == "answered":
            assert c.asked_at is not None and answers
            waits[c.caller_number[-3:]] = (min(answers) - c.asked_at).total_seconds()
    assert waits["905"] > 15  # waited in the line: not within 15 s, though A answered at once
    assert total["average_wait"] == round(sum(waits.values()) / 3, 1)


def _rung(url: str, caller: str) -> bool:
    """An agent's phone was rung for this caller's call (a leg is stored)."""
    engine = create_engine(url)
    try:
        with Session(engine) as s:
            query = select(Call).where(Call.caller_number == caller)
            return any(c.legs for c in s.scalars(query.options(selectinload(Call.legs))))
    finally:
        engine.dispose()


def _settled(url: str, count: int) -> list[Call]:
    engine = create_engine(url)

    def calls() -> list[Call]:
        with Session(engine) as s:
            query = select(Call).where(Call.kind == "inbound").options(selectinload(Call.legs))
            return list(s.scalars(query))

    def done() -> bool:
        found = calls()
        return len(found) == count and all(c.ended_at and c.ivr_end for c in found)

    try:
        wait_for(done, 30, f"{count} calls stored, ended and summed up by the IVR")
        with Session(engine) as s:
            decided = len(s.scalars(select(RouteDecision)).all())
        assert decided == 5, decided  # calls 3 to 7 were routed
        return calls()
    finally:
        engine.dispose()
