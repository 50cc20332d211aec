"""Matters end to end on the real stack: a Xihu caller leaves a complaint in the IVR and it is
a matter on the spot (owner by routing policy, a due time, the number they heard); the owner
changes by an audited assignment; the caller calls again and presses 0, and the owner's phone
rings first; the matter goes to a department and its reply is entered; a callback booked for
a slot a few seconds ahead is placed once, not before the slot, rings the owner, reaches the
citizen's phone and closes the matter."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from hotline.cli.matters import service_of
from hotline.settings import load_settings
from hotline.store.models import Call, Callback
from tests.conftest import run_hotline
from tests.stack.conftest import (
    Stack,
    agent_phone,
    callers_phone,
    place_call,
    running_controller,
    wait_for,
)
from tests.stack.test_ivr import SKIP_GREETING, ms

CALLER = "057187090001"  # a Xihu number (057187): post other-xihu, A agent 2001
AGENT_NOW = [(3000, "0")]  # 0 during the greeting: a person at once (business "other")


def test_a_complaint_becomes_a_matter_its_owner_answers_the_caller_and_a_slot_callback_closes_it(
    stack: Stack,
) -> None:
    config = stack.config_with("matters", extra="[routing]\nwrap_up_seconds = 0")
    matters = service_of(load_settings(config))
    with running_controller(stack, config) as controller:
        place_call(
            stack,
            "m-complaint",
            CALLER,
            script=[
                SKIP_GREETING,
                ("main_menu", "4"),
                ("message_menu", "2"),
                ("message_intro", ""),
                (ms(stack.prompt_seconds("message_intro")) + 4000, "#"),
            ],
        )
        first = stack.settled_call(CALLER)
        (matter,) = matters.for_caller(CALLER)
        (ticket,) = stack.tickets(first.linkedid)
        assert ticket.number == matter.number  # what the caller heard
        assert (matter.owner, matter.channel, matter.category) == ("2001", "complaint", "complaint")
        assert matter.first_linkedid == first.linkedid
        assert matter.due_at > matter.created_at

        moved = run_hotline(
            config, "matters", "assign", matter.number, "1002", "--reason", "pension expert"
        )
        assert moved.returncode == 0, moved.stderr

        with (
            agent_phone(stack, "m-post-a", "agent2001"),
            agent_phone(stack, "m-owner", "agent1002", talk_ms=2000),
        ):
            place_call(stack, "m-again", CALLER, script=AGENT_NOW)
            wait_for(
                lambda: (
                    [c for c in stack.calls_from(CALLER) if c.ended_at and c != first]
                    and len([c for c in stack.calls_from(CALLER) if c.ended_at]) == 2
                ),
                15,
                "the second call stored as ended",
            )
            again = max(stack.calls_from(CALLER), key=lambda c: c.started_at)
            # the owner (1002) rang first and answered; the post's A (2001) was not rung
            assert [(leg.agent_id, leg.dial_status) for leg in again.legs] == [("1002", "ANSWER")]
            wait_for(lambda: stack.decisions(again.linkedid), 10, "the route decision")
            (decision,) = stack.decisions(again.linkedid)
            assert f"owner 1002 (owner of matter {matter.number}" in decision.chain

            matters.hand_over(matter.number, "1002", "si-xihu", "养老金转移进度？")
            matters.reply(matter.number, "dept:si-xihu", "已办结，12月10日到账")
            assert matters.get(matter.number).matter.status == "answered"

            with callers_phone(stack, "m-citizen", talk_ms=2000):
                slot = datetime.now(UTC) + timedelta(seconds=6)
                callback_id = matters.book_callback(matter.number, "1002", slot)
                wait_for(
                    lambda: matters.get(matter.number).matter.status == "closed",
                    60,
                    "the callback to reach the citizen and close the matter",
                )
    detail = matters.get(matter.number)
    assert detail.matter.told == "callback"
    assert [e.kind for e in detail.events] == [
        "created",
        "assigned",
        "handed_over",
        "replied",
        "callback_booked",
        "callback",
        "closed",
    ]
    engine = create_engine(stack.settings.database_url)
    try:
        with Session(engine) as s:
            row = s.get(Callback, callback_id)
            assert row is not None and (row.status, row.agent_id) == ("done", "1002")
            placed = s.scalars(
                select(Call).where(Call.kind == "callback", Call.serves == first.linkedid)
            ).all()
    finally:
        engine.dispose()
    assert len(placed) == 1  # once
    started = placed[0].started_at.replace(tzinfo=placed[0].started_at.tzinfo or UTC)
    assert started >= slot  # not before its slot
    assert controller.text().count(f"event=callback.dialing id={callback_id} ") == 1
