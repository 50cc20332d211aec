"""Matters end to end on the real stack: a Xihu caller leaves a complaint in the IVR and it is
a matter on the spot (owner by routing policy, a due time, the number they heard); the owner
changes by an audited assignment; the caller calls again and presses 0, and the owner's phone
rings first; the matter goes to a department and its reply is entered; a callback booked for
the next working day's 09:00-10:00 is placed once on the controller's controlled clock (not at
08:59, once at 09:00), rings the owner, reaches the citizen's phone and closes the matter.
Out of hours, the IVR's keys do what the prompts promise: 1 after the pension text sends the
pension-transfer notice by SMS (the outbox file holds it for the caller's number), and 3 books
a callback in the first hour the agents are next on duty."""

from __future__ import annotations

import json
import tomllib
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, create_engine, select, update
from sqlalchemy.orm import Session

from hotline.cli.matters import service_of
from hotline.controller.assembly import open_database
from hotline.matters.service import MatterService, NewMatter
from hotline.settings import load_settings
from hotline.store.models import Call, Callback, Matter, NoticeSent
from tests.conftest import REPO, run_hotline
from tests.stack.clock import ControlledClock, controller_time
from tests.stack.conftest import (
    Stack,
    agent_phone,
    callers_phone,
    free_tcp_port,
    place_call,
    running_controller,
    wait_for,
)
from tests.stack.test_ivr import SKIP_GREETING, ms

ZONE = ZoneInfo("Asia/Shanghai")  # config/seats.toml's calendar

CALLER = "057187090001"  # a Xihu number (057187): post other-xihu, A agent 2001
AGENT_NOW = [(3000, "0")]  # 0 during the greeting: a person at once (business "other")


def test_a_complaint_becomes_a_matter_its_owner_answers_the_caller_and_a_slot_callback_closes_it(
    stack: Stack,
) -> None:
    # the office's own hours (config/seats.toml: mon-fri 08:30-12:00, 13:30-17:00) on a
    # controlled clock: the calls happen on a Tuesday at 10:00 (open), and the owner books the
    # next working day's 09:00-10:00 for the callback
    metrics = f"127.0.0.1:{free_tcp_port()}"
    config = stack.config_with(
        "matters",
        hours=None,
        extra=f'[routing]\nwrap_up_seconds = 0\n[metrics]\nenabled = true\nbind = "{metrics}"',
    )
    settings = load_settings(config)
    tuesday, wednesday = working_tuesday(settings.directory.calendar.holidays)
    open_at = datetime.combine(tuesday, time(10, 0), ZONE)
    slot = (
        datetime.combine(wednesday, time(9, 0), ZONE),
        datetime.combine(wednesday, time(10, 0), ZONE),
    )
    clock = ControlledClock(stack.folder / "matters-clock", open_at)
    matters = MatterService(
        open_database(settings),
        settings.directory,
        settings.matters.departments,
        settings.matters.due,
        clock.now,
    )
    with running_controller(stack, config, clock=clock) as controller:
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
        # raised on the controller's clock: that Tuesday, a few seconds after 10:00
        assert open_at <= matter.created_at < open_at + timedelta(minutes=5)
        assert matter.due_at > matter.created_at

        moved = run_hotline(
            config,
            "matters",
            "assign",
            matter.number,
            "1002",
            "--reason",
            "pension expert",
            env=clock.env(),
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

            callback_id = matters.book_callback(matter.number, "1002", *slot)
            try:
                with callers_phone(stack, "m-citizen", talk_ms=2000):
                    # a minute before the slot, and long enough on that clock for the
                    # dispatcher (a look every 2 s) to have looked twice: nothing placed
                    clock.move_to(slot[0] - timedelta(minutes=1))
                    healthz = f"http://{metrics}/healthz"
                    wait_for(
                        lambda: controller_time(healthz) >= slot[0] - timedelta(seconds=55),
                        30,
                        "the controller's clock at 08:59:05 on the slot's day",
                    )
                    assert callback_status(stack, callback_id) == "pending"
                    assert "event=callback.dialing" not in controller.text()
                    clock.move_to(slot[0])
                    wait_for(
                        lambda: matters.get(matter.number).matter.status == "closed",
                        60,
                        "the callback to reach the citizen and close the matter",
                    )
            finally:
                cancel_pending(stack, Callback.id == callback_id)
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
    started = utc(placed[0].started_at)
    assert slot[0] <= started < slot[1]  # in its slot, on the controller's clock
    assert controller.text().count(f"event=callback.dialing id={callback_id} ") == 1


def working_tuesday(holidays: frozenset[date]) -> tuple[date, date]:
    """The first Tuesday two or more days from today (Shanghai) such that it and the Wednesday
    after it are working days (neither a holiday): the calls' day and the callback's day."""
    day = datetime.now(ZONE).date() + timedelta(days=2)
    day += timedelta(days=(1 - day.weekday()) % 7)
    while day in holidays or day + timedelta(days=1) in holidays:
        day += timedelta(days=7)
    return day, day + timedelta(days=1)


def callback_status(stack: Stack, callback_id: int) -> str:
    engine = create_engine(stack.settings.database_url)
    try:
        with Session(engine) as s:
            row = s.get(Callback, callback_id)
            assert row is not None
            return row.status
    finally:
        engine.dispose()


def cancel_pending(stack: Stack, which: ColumnElement[bool]) -> None:
    """Callbacks a test booked are not left pending in the shared database (a later
    controller on a controlled clock ahead of the real one would place them)."""
    engine = create_engine(stack.settings.database_url)
    try:
        with Session(engine) as s, s.begin():
            s.execute(
                update(Callback)
                .where(which, Callback.status == "pending")
                .values(status="failed", result="test over")
            )
    finally:
        engine.dispose()


def test_out_of_hours_1_sends_the_pension_notice_by_sms_and_3_books_a_callback_in_the_next_hours(
    stack: Stack,
) -> None:
    # the agents are on duty for half an hour a day, starting 3 to 4 hours from now: closed
    # now, and the slot's callback is not due while this test runs
    now = datetime.now(ZONE)
    hour = (now.hour + 3) % 24
    opens = now.replace(hour=hour, minute=0, second=0, microsecond=0)
    if opens <= now:
        opens += timedelta(days=1)
    outbox = stack.folder / "sms-after-hours.jsonl"
    config = stack.config_with(
        "matters-after-hours",
        hours=f'"mon-sun {hour:02d}:00-{hour:02d}:30"',
        extra=f'[matters.sms]\noutbox_file = "{outbox}"',
    )
    sms_caller, callback_caller = "057187090011", "057187090012"
    matters = service_of(load_settings(config))
    # the SMS caller has a pension matter open: the notice is stored with it, and the call
    asked = NewMatter(sms_caller, business="pension", channel="manual", summary="pension transfer")
    pending = matters.create(asked, "test")
    # its slot's callback is no longer needed once seen booked: not left pending (a later
    # controller on a clock ahead of the real one would place it)
    try:
        with running_controller(stack, config):
            place_call(
                stack,
                "m-sms",
                sms_caller,
                script=[
                    SKIP_GREETING,
                    ("after_hours_menu", "2"),  # policy information
                    ("policy_menu", "1"),  # pension
                    ("sms_offer", "1"),  # by SMS
                    ("sms_sent", ""),
                ],
                hangup_after_ms=ms(stack.prompt_seconds("sms_sent")) + 1000,
            )
            place_call(
                stack, "m-slot", callback_caller, script=[SKIP_GREETING, ("after_hours_menu", "3")]
            )
            sms_call = stack.settled_call(sms_caller)
            slot_call = stack.settled_call(callback_caller)

        assert ("pension_sms", "sent") in stack.ivr_path(sms_call.linkedid)
        notices = tomllib.loads((REPO / "config" / "notices.toml").read_text(encoding="utf-8"))
        (pension,) = [n for n in notices["notice"] if n["id"] == "pension-transfer"]
        (line,) = [json.loads(t) for t in outbox.read_text(encoding="utf-8").splitlines()]
        assert (line["to"], line["text"]) == (sms_caller, pension["text"]["zh-CN"])
        engine = create_engine(stack.settings.database_url)
        try:
            with Session(engine) as s:
                (sent,) = s.scalars(select(NoticeSent).where(NoticeSent.number == sms_caller)).all()
                assert (sent.notice, sent.status, sent.matter_id, sent.linkedid, sent.key) == (
                    "pension-transfer",
                    "sent",
                    pending.id,
                    sms_call.linkedid,  # asked in that call
                    line["key"],
                )
                (callback,) = s.scalars(
                    select(Callback).where(Callback.number == callback_caller)
                ).all()
                matter = s.get(Matter, callback.matter_id)
                assert matter is not None
                assert (matter.caller_number, matter.channel, matter.first_linkedid) == (
                    callback_caller,
                    "ivr_message",
                    slot_call.linkedid,
                )
                start, end = utc(callback.next_attempt_at), callback.slot_end
                assert callback.status == "pending"
        finally:
            engine.dispose()
        # the first hour from when the agents are next on duty
        assert end is not None
        assert (start, utc(end)) == (
            opens.astimezone(UTC),
            opens.astimezone(UTC) + timedelta(hours=1),
        )
        told = matters.get(pending.number).events[-1]
        assert (told.kind, told.actor) == ("notice", "ivr")
        assert "pension-transfer" in told.detail and sms_caller not in told.detail  # masked
        path = stack.ivr_path(slot_call.linkedid)
        assert ("after_hours_callback", "booked") in path
        assert ("callback_slot_number", "done") in path

    finally:
        cancel_pending(stack, Callback.number == callback_caller)


def utc(at: datetime) -> datetime:
    """SQLite gives the stored UTC times back without their zone."""
    return at if at.tzinfo else at.replace(tzinfo=UTC)
