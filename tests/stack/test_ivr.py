"""Callers walking the 12333 menus on the real stack: SIPp with RFC 2833 DTMF, the sandbox
Asterisk, the controller. Key presses are timed from the built prompts' lengths; a key that
lands during a prompt interrupts it, as a caller's would."""

from __future__ import annotations

import array
import json
import math
import wave
from pathlib import Path

from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from hotline.sandbox import sipp
from hotline.store.db import upgrade
from hotline.store.models import IvrStep, Recording
from tests.conftest import run_hotline
from tests.stack.conftest import (
    ControllerProcess,
    Stack,
    agent_phone,
    place_call,
    running_controller,
    wait_for,
)
from tests.stack.test_recordings import probe, tone_power


def wait_for_recording(stack: Stack, linkedid: str) -> Recording:
    def row() -> Recording | None:
        engine = create_engine(stack.settings.database_url)
        try:
            with Session(engine) as s:
                return s.scalars(select(Recording).where(Recording.linkedid == linkedid)).first()
        finally:
            engine.dispose()

    wait_for(row, 30, f"the recording of {linkedid} to be catalogued")
    found = row()
    assert found is not None
    return found


def silent_runs(path: Path, at_least: float) -> list[tuple[float, float]]:
    """Stretches (from, to in s) of exact zero samples lasting `at_least` s, in a 16-bit mono
    8 kHz WAV."""
    with wave.open(str(path), "rb") as w:
        samples = array.array("h", w.readframes(w.getnframes()))
    runs, begun = [], None
    for n, x in enumerate([*samples, 1]):
        if x == 0 and begun is None:
            begun = n
        elif x != 0 and begun is not None:
            if n - begun >= at_least * 8000:
                runs.append((begun / 8000, n / 8000))
            begun = None
    return runs


# Keys are pressed as the prompt they answer starts playing (tests/stack/conftest.py
# place_call): the scripts hold on a slow or busy host.
SKIP_GREETING = ("welcome_lang", "5")  # any key but 8 and 0 in the greeting: Mandarin, go on
ID = "330106198005126726"  # in config/example-contributions.csv, PIN 123456, 186 months
# the record was said to the end once the menu after it starts: the caller hangs up in it
HEARD_THE_RECORD = ("query_done", "")
# 0 as the greeting starts: a person at once (for a caller placed while no other starts)
ZERO_IN_GREETING = [("welcome_lang", "0")]


def ms(seconds: float) -> int:
    return int(seconds * 1000)


def test_wrong_key_star_repeat_and_0_from_a_submenu_reach_a_person(
    stack: Stack, controller: ControllerProcess
) -> None:
    with agent_phone(stack, "walk-menus-agent", talk_ms=2000):
        place_call(
            stack,
            "walk-menus",
            "13800000101",
            script=[
                SKIP_GREETING,
                ("main_menu", "7"),
                ("main_menu_short", "*"),  # after "invalid key", the short menu
                ("main_menu", "2"),  # * said the whole menu again
                ("policy_menu", "0"),
            ],
        )
        call = stack.ended_call("13800000101")
    assert stack.ivr_path(call.linkedid) == [
        ("no_topic_yet", "set"),
        ("welcome", "digit:5"),
        ("notice", "done"),
        ("mode", "case:menu"),
        ("service_hours", "open"),
        ("main_menu", "digit:7"),
        ("main_menu", "digit:*"),
        ("main_menu", "digit:2"),
        ("policy_menu", "digit:0"),
        ("agent_hours", "open"),
        ("to_agent", "answered"),
    ]
    assert call.outcome == "answered" and call.legs[0].agent_id == "1001"


def test_silence_then_hanging_up_mid_menu_is_stored_with_the_node(
    stack: Stack, controller: ControllerProcess
) -> None:
    place_call(
        stack,
        "walk-hangup",
        "13800000102",
        # silent through the menu and its 6 s timeout; gone as the menu is offered again
        script=[SKIP_GREETING, ("main_menu_short", "")],
        hangup_after_ms=500,
    )
    call = stack.settled_call("13800000102")
    assert stack.ivr_path(call.linkedid)[-2:] == [("main_menu", "timeout"), ("main_menu", "hangup")]
    # hung up in the menu without finishing anything or asking: ivr_abandoned (not abandoned,
    # which is for callers who asked for a person)
    assert call.outcome == "ivr_abandoned" and call.legs == []
    assert "event=ivr.hangup" in controller.text()


def test_id_query_reads_back_the_number_and_says_the_example_record(
    stack: Stack, controller: ControllerProcess
) -> None:
    mark = stack.log_mark()
    place_call(
        stack,
        "walk-query",
        "13800000103",
        script=[
            SKIP_GREETING,
            ("main_menu", "1"),
            ("query_enter_id", ID + "#"),  # typed over the "enter your ID number" prompt
            ("confirm_reenter", "1"),  # "1 to confirm", once the number was read back
            ("query_enter_pin", "123456"),  # the PIN: six digits end the input
            HEARD_THE_RECORD,
        ],
        hangup_after_ms=500,
    )
    call = stack.settled_call("13800000103")
    assert call.outcome == "self_service"  # heard the record to the end: not abandoned
    path = stack.ivr_path(call.linkedid)
    # masked at the source: the region code and last 4 only, the PIN not even its length
    assert ("query_id", "input:330106********6726") in path and ("query_id", "digit:1") in path
    assert ("query_pin", "input:******") in path
    assert ("query_lookup", "found") in path
    assert ("query_months", "done") in path and ("query_last_amount", "done") in path
    played = stack.played(call, mark)
    last = len(played) - 1 - played[::-1].index("you_entered")  # the # may restart it
    assert played[last + 1 : last + 19] == [f"num/{d}" for d in ID]
    months = played[played.index("query_months") + 1 :][:6]
    assert months == ["num/1", "num/100", "num/8", "num/10", "num/6", "unit/months"]  # 186
    # neither the ID's birth date and sequence nor the PIN anywhere: the controller's output,
    # its log file, any table of the database
    assert stack.settings.log_file is not None
    kept = controller.text() + stack.settings.log_file.read_text(errors="replace")
    kept += stack.database_dump()
    assert "event=ivr.path" in kept and call.linkedid in kept
    for secret in (ID[6:14], "123456"):
        assert secret not in kept, secret
    # secure pause: the PIN span is listed on the recording and silent on the caller's track
    # (the caller's phone sends its 400 Hz tone between key presses: unmuted, it is there)
    row = wait_for_recording(stack, call.linkedid)
    shown = run_hotline(stack.config, "recordings", "show", call.linkedid)
    muted = json.loads(shown.stdout.split("muted:", 1)[1].splitlines()[0])
    assert [kind for _, _, kind in muted] == ["pin"], shown.stdout
    (start, end, _), root = muted[0], stack.settings.recordings.directory
    assert row.caller_path is not None and end > start
    track = root / row.caller_path
    # MixMonitorMute writes digital silence; the caller's phone never sends a second of it.
    # The track has exactly one such stretch, and lies at or before the listed span: the
    # listing is by the clock, and the file only loses time (MixMonitor writes nothing while
    # the phone sends no audio, as during its RFC 2833 key presses)
    ((silent_from, silent_to),) = silent_runs(track, at_least=1.0)
    assert silent_from <= start and silent_to <= end
    assert silent_to - silent_from <= end - start
    assert tone_power(track, sipp.CALLER_HZ, silent_from - 3, silent_from) > 0  # unmuted before


def test_an_in_band_callers_pin_tones_are_not_left_in_the_recording(
    stack: Stack, controller: ControllerProcess
) -> None:
    """A caller behind a gateway that sends keys as tones in the audio (the sandbox's
    `dtmf_mode = inband` endpoint): Asterisk hears the keys from the audio, so they are in
    the caller's track too, except the PIN's, keyed while the recording was muted."""
    before_pin = "5" + "1" + ID + "#" + "1"
    place_call(
        stack,
        "walk-query-inband",
        "13800000115",  # its own number: 13800000105 is the complaint test's
        script=[
            SKIP_GREETING,
            ("main_menu", "1"),
            ("query_enter_id", ID + "#"),
            ("confirm_reenter", "1"),
            ("query_enter_pin", "123456"),
            HEARD_THE_RECORD,
        ],
        hangup_after_ms=500,
        inband=True,
    )
    call = stack.ended_call("13800000115")
    path = stack.ivr_path(call.linkedid)
    assert ("query_pin", "input:******") in path and ("query_lookup", "found") in path
    row = wait_for_recording(stack, call.linkedid)
    shown = run_hotline(stack.config, "recordings", "show", call.linkedid)
    muted = json.loads(shown.stdout.split("muted:", 1)[1].splitlines()[0])
    assert [kind for _, _, kind in muted] == ["pin"], shown.stdout
    assert row.caller_path is not None
    track = stack.settings.recordings.directory / row.caller_path
    ((silent_from, _),) = silent_runs(track, at_least=1.0)  # the mute
    # key tones are heard in this track (Asterisk's detector takes some out of the audio)...
    assert 0 < key_tones(track, 0, silent_from) <= len(before_pin)
    # ...but none from the mute on: the PIN was the last thing keyed
    assert key_tones(track, silent_from, None) == 0


def key_tones(path: Path, start: float, end: float | None) -> int:
    """How many DTMF tones a 16-bit mono 8 kHz WAV holds from `start` to `end` s: 20 ms blocks
    where one low-group and one high-group frequency both outweigh the party's 400 Hz tone,
    counted per burst."""
    with wave.open(str(path), "rb") as w:
        samples = array.array("h", w.readframes(w.getnframes()))
    samples = samples[int(start * 8000) : None if end is None else int(end * 8000)]
    low, high = (697, 770, 852, 941), (1209, 1336, 1477)

    def power(block: array.array[int], hz: float) -> float:
        coeff = 2 * math.cos(2 * math.pi * hz / 8000)
        s1 = s2 = 0.0
        for x in block:
            s1, s2 = x + coeff * s1 - s2, s1
        return s1 * s1 + s2 * s2 - coeff * s1 * s2

    bursts, inside = 0, False
    for start in range(0, len(samples) - 160, 160):
        block = samples[start : start + 160]
        voice = power(block, sipp.CALLER_HZ)
        tone = (
            max(power(block, f) for f in low) > voice and max(power(block, f) for f in high) > voice
        )
        if tone and not inside:
            bursts += 1
        inside = tone
    return bursts


def test_a_bad_check_digit_is_refused_with_a_clear_prompt(
    stack: Stack, controller: ControllerProcess
) -> None:
    mark = stack.log_mark()
    place_call(
        stack,
        "walk-bad-id",
        "13800000104",
        script=[SKIP_GREETING, ("main_menu", "1"), ("query_enter_id", ID[:-1] + "7#")],
        hangup_after_ms=4000,
    )
    call = stack.ended_call("13800000104")
    assert ("query_id", "input:330106********6727") in stack.ivr_path(call.linkedid)
    assert "query_bad_id" in stack.played(call, mark)
    assert "you_entered" not in stack.played(call, mark)


def test_a_complaint_leaves_a_recording_and_a_ticket_said_back_to_the_caller(
    stack: Stack, controller: ControllerProcess
) -> None:
    mark = stack.log_mark()
    place_call(
        stack,
        "walk-complaint",
        "13800000105",
        script=[
            SKIP_GREETING,
            ("main_menu", "4"),
            ("message_menu", "2"),
            # the caller speaks (their tone) for about 4 s after the intro and beep, then #
            ("message_intro", ""),
            (ms(stack.prompt_seconds("message_intro")) + 4500, "#"),
        ],
    )  # the hotline hangs up after the goodbye
    call = stack.settled_call("13800000105")
    assert call.outcome == "self_service"  # a ticket: not abandoned
    (ticket,) = stack.tickets(call.linkedid)
    assert ticket.category == "complaint" and ticket.caller_number == "13800000105"
    recording = stack.settings.recordings.directory / ticket.recording
    assert 2.5 <= probe(recording) <= 6.5  # ffprobe's length, not the product's wav_info
    path = stack.ivr_path(call.linkedid)
    assert ("leave_complaint", "recorded") in path and path[-1] == ("goodbye", "done")
    played = stack.played(call, mark)
    said = played[played.index("message_thanks") + 1 :][: len(ticket.number)]
    assert said == [f"num/{d}" for d in ticket.number]


def test_after_hours_the_hours_are_announced_and_0_leads_to_no_agent(stack: Stack) -> None:
    closed = stack.config_with("after-hours", hours="")  # agents never on duty
    with running_controller(stack, closed):
        place_call(
            stack,
            "walk-closed",
            "13800000106",
            # 0 while the hours are announced; gone while told no agent is on duty
            script=[SKIP_GREETING, ("after_hours", "0"), ("agents_closed", "")],
            hangup_after_ms=500,
        )
        call = stack.settled_call("13800000106")
    assert (call.outcome, call.asked_at is not None) == ("overflow", True)  # asked, closed
    path = stack.ivr_path(call.linkedid)
    assert ("service_hours", "closed") in path
    # the hours (none here) are said between the two parts of the after-hours prompt
    assert ("after_hours", "digit:0") in path
    assert ("agent_hours", "closed") in path
    assert path[-1] == ("agents_closed", "hangup")
    assert call.legs == []  # nobody was rung


def test_straight_to_agent_mode_rings_an_agent_at_once_and_keeps_9_for_self_service(
    stack: Stack,
) -> None:
    straight = stack.config_with("straight", flows="straight_to_agent = true")
    with running_controller(stack, straight), agent_phone(stack, "straight-agent", talk_ms=2000):
        place_call(stack, "walk-straight", "13800000107", script=[SKIP_GREETING])
        call = stack.ended_call("13800000107")
        assert stack.ivr_path(call.linkedid) == [
            ("no_topic_yet", "set"),
            ("welcome", "digit:5"),
            ("notice", "done"),
            ("mode", "case:straight"),
            ("straight_to_agent", "answered"),
        ]
        place_call(
            stack,
            "walk-straight-9",
            "13800000108",
            script=[SKIP_GREETING, ("straight_hold", "9"), ("main_menu", "")],  # gone in the menu
            hangup_after_ms=500,
        )
        selfservice = stack.settled_call("13800000108")
    assert selfservice.outcome == "ivr_abandoned"  # 9 withdrew the ask; nothing finished
    path = stack.ivr_path(selfservice.linkedid)
    assert ("straight_to_agent", "self-service") in path
    assert path[-1] == ("main_menu", "hangup") and selfservice.legs == []


def test_dialplan_load_is_confirmed_by_asterisks_own_dialplan_show(stack: Stack) -> None:
    other = stack.config_with("load-12399", extra="")
    other.write_text(other.read_text().replace("[dialplan]", '[dialplan]\nnumber = "12399"'))

    try:
        loaded = run_hotline(other, "dialplan", "load")
        assert loaded.returncode == 0, loaded.stderr
        assert "Asterisk: Success" in loaded.stdout
        shown = stack.instance.cli("dialplan show hotline-inbound")
        assert "'12399' =>" in shown and "'12333' =>" not in shown
        main = (stack.settings.dialplan.asterisk_config / "extensions.conf").read_text()
        assert main.count("#include extensions_hotline.conf") == 1  # never added twice
    finally:
        restored = run_hotline(stack.config, "dialplan", "load")
    assert restored.returncode == 0, restored.stderr
    assert "'12333' =>" in stack.instance.cli("dialplan show hotline-inbound")


def test_the_same_flow_runs_through_the_classic_process_per_call_entry(stack: Stack) -> None:
    """No controller: Asterisk starts hotline's pyst2 entry for the call (inside its tree)."""
    classic = stack.config_with("classic")
    classic.write_text(classic.read_text().replace("[dialplan]", '[dialplan]\nagi = "classic"'))
    database = stack.instance.home / "classic" / "hotline.db"
    # the sandbox tree is cached across runs: every run starts its own database, made at the
    # newest revision before the call as an install does (the caller's process never migrates)
    for stale in (
        database,
        database.with_name("hotline.db-wal"),
        database.with_name("hotline.db-shm"),
    ):
        stale.unlink(missing_ok=True)
    upgrade(f"sqlite:///{database}")

    try:
        assert run_hotline(classic, "dialplan", "load").returncode == 0
        assert "/opt/hotline/bin/hotline-agi,12333" in stack.instance.cli(
            "dialplan show hotline-inbound"
        )
        with agent_phone(stack, "classic-agent", talk_ms=2000, max_calls=1) as agent:
            place_call(
                stack,
                "walk-classic",
                "13800000109",
                # a process per call starts Python first: a key sent before it listens
                # would be lost, so each key waits for its prompt
                script=[SKIP_GREETING, ("main_menu", "2"), ("policy_menu", "0")],
            )
            assert agent.process.wait(10) == 0  # the agent's phone took exactly that call
    finally:
        restored = run_hotline(stack.config, "dialplan", "load")
    assert restored.returncode == 0, restored.stderr
    engine = create_engine(f"sqlite:///{database}")
    with Session(engine) as session:
        steps = session.scalars(select(IvrStep).order_by(IvrStep.id.desc()).limit(6)).all()
    engine.dispose()
    assert [(s.node, s.outcome) for s in reversed(steps)] == [
        ("mode", "case:menu"),
        ("service_hours", "open"),
        ("main_menu", "digit:2"),
        ("policy_menu", "digit:0"),
        ("agent_hours", "open"),
        ("to_agent", "answered"),
    ]
