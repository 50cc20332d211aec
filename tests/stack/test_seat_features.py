"""What agents and admins do beyond the callers' menus, on the real stack (issue 21 item 5): the
seat's feature codes *11-*14 dialled from the agent's phone, the timed wrap-up of an agent
who enters no code, survey-call retries and the per-minute cap, `hotline recordings
list|show`, and `hotline demo` itself.

Each feature is checked where the people who use it would see it: whose phone Asterisk rang
(its own log), what the seat heard, what the citizen's phone was sent (SIPp's message trace),
what an admin reads. Expected values are worked out by hand in the comments. Calls are few and
short (a caller presses 0 on the greeting's cue, the agent talks half a second) to keep the
stack session inside its budget."""

from __future__ import annotations

import hashlib
import re
import socket
import subprocess
import time
import wave
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, update
from sqlalchemy.orm import Session

from hotline.sandbox import sipp
from hotline.store.models import Call, Recording, SurveyJob
from tests.conftest import run_hotline
from tests.stack.conftest import (
    SIP_PORT,
    ControllerProcess,
    Stack,
    agent_phone,
    place_call,
    running_controller,
    wait_for,
)

# seats only (no surveys: a caller whose agent hangs up first would be sent to one); no
# overflow to the Xihu agents, whose seats have no phone in these tests
SEATS = "[routing]\nwrap_up_seconds = 0\noverflow_districts = false"
TALK_MS = 500  # the agents' phones answer, talk half a second and hang up

A, B = "1001", "1002"  # other-city's post: A 1001, B 1002 (config/seats.toml)

CALLED = re.compile(r"Called PJSIP/(agent\d+)")


def seat_of(agent: str) -> str:
    return f"agent{agent}"


def dial_code(stack: Stack, name: str, agent: str, code: str) -> list[str]:
    """The agent dials a feature code from their own phone (a SIPp call from the seat's
    endpoint name to `code`), waits for Asterisk to hang up, and returns what Asterisk
    played to that phone (its log's `Playing` lines on the seat's channel)."""
    work = stack.folder / name
    scenario = sipp.caller_scenario(sipp.party_audio(work, sipp.AGENT_HZ), seat_of(agent))
    (work / "code.xml").write_text(scenario, encoding="utf-8")
    mark = stack.log_mark()
    log = work / "code.log"
    port = free_udp_port()
    with log.open("wb") as out:
        done = subprocess.run(
            [
                sipp.sipp_binary(),
                "-sf",
                str(work / "code.xml"),
                "-i",
                "127.0.0.1",  # the seats' side of loopback (callers come from 127.0.0.2)
                "-p",
                str(port),
                "-mi",
                "127.0.0.1",
                "-mp",  # RTP and RTCP: 4 ports in a range no other SIPp party of the tests uses
                str(40_000 + (port % 1000) * 4),
                "-m",
                "1",
                "-s",
                code,
                "-nostdin",
                "-timeout",
                "30s",
                "-timeout_error",
                f"127.0.0.1:{SIP_PORT}",
            ],
            cwd=work,
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=40,
            check=False,
        )
    assert done.returncode == 0, log.read_text(errors="replace")[-1500:]
    lines = stack.asterisk_log()[mark:].splitlines()
    channel = f"<PJSIP/{seat_of(agent)}-"  # Asterisk took the call as the seat's own
    folder = stack.settings.prompts.asterisk_directory
    return [
        line.split("Playing '", 1)[1].split("'", 1)[0].split(".", 1)[0]
        for line in lines
        if channel in line and "Playing '" in line and folder not in line
    ]


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def call_for_a_person(stack: Stack, name: str, caller: str) -> tuple[Call, list[str]]:
    """A citizen presses 0 as the greeting starts and stays until hung up; returns the stored
    call and the seats Asterisk rang for it (its `Called PJSIP/...` lines), in order."""
    mark = stack.log_mark()
    place_call(stack, name, caller, script=[("welcome_lang", "0")])
    call = stack.ended_call(caller)
    return call, CALLED.findall(stack.asterisk_log()[mark:])


def answered_by(call: Call) -> list[tuple[str | None, str | None]]:
    return [(leg.agent_id, leg.dial_status) for leg in call.legs]


@dataclass
class SeatRun:
    """What the seat-codes scenario saw, for the tests that read it."""

    heard: dict[str, list[str]]  # code -> what Asterisk played to the seat
    calls: dict[str, Call]  # after which code -> the citizen's call placed then
    rung: dict[str, list[str]]  # after which code -> the seats Asterisk rang for it
    chains: dict[str, str]  # after which code -> the router's decision chain
    controller_log: str


@pytest.fixture(scope="module")
def seat_run(stack: Stack) -> Iterator[SeatRun]:
    """Agent A dials *12, *11 and *132, *14 from their phone; after each change a citizen asks
    for a person. One controller, two answering phones, four code calls, three citizen calls."""
    config = stack.config_with("seat-codes", extra=SEATS)
    run = SeatRun({}, {}, {}, {}, "")
    callers = {"*12": "13900003101", "*132": "13900003102", "*14": "13900003103"}
    with (
        running_controller(stack, config) as controller,
        agent_phone(stack, "sc-a", seat_of(A), talk_ms=TALK_MS),
        agent_phone(stack, "sc-b", seat_of(B), talk_ms=TALK_MS),
    ):
        for codes, change in (
            (["*12"], "logout"),
            (["*11", "*132"], "pause"),
            (["*14"], "resume"),
        ):
            for code in codes:
                run.heard[code] = dial_and_see_it_taken(stack, controller, code)
            key = codes[-1]
            assert change == code_change(key)
            call, rung = call_for_a_person(stack, f"sc-call{key[1:]}", callers[key])
            run.calls[key], run.rung[key] = call, rung
            (decision,) = stack.decisions(call.linkedid)
            run.chains[key] = decision.chain
        run.controller_log = controller.text()
    yield run


def dial_and_see_it_taken(stack: Stack, controller: ControllerProcess, code: str) -> list[str]:
    """A dials `code`; the controller then folds the seat's UserEvent into presence (its log
    says so). Returns what Asterisk played to the seat."""
    said = f"event=agent.{code_change(code)} agent={A}"
    seen = controller.text().count(said)
    heard = dial_code(stack, f"sc-dial{code[1:]}", A, code)
    wait_for(
        lambda: controller.text().count(said) > seen,
        10,
        f"the controller to take {code} from agent {A}'s seat",
    )
    return heard


def code_change(code: str) -> str:
    """The change a feature code makes (README: *11 in, *12 out, *13N pause, *14 back)."""
    return {"*11": "login", "*12": "logout", "*14": "resume"}.get(code, "pause")


def test_seat_codes_log_the_agent_out_and_in_pause_and_resume_them(seat_run: SeatRun) -> None:
    # Asterisk answered each code on the seat's own channel with its confirmation
    assert seat_run.heard == {
        "*12": ["agent-loggedoff"],
        "*11": ["agent-loginok"],
        "*132": ["activated"],
        "*14": ["de-activated"],
    }
    # *12: A is logged out, so the citizen is offered B only; A's phone never rang
    assert seat_run.rung["*12"] == [seat_of(B)]
    assert answered_by(seat_run.calls["*12"]) == [(B, "ANSWER")]
    assert f"A {A} logged-out" in seat_run.chains["*12"]
    # *11 then *132 (pause, reason 2 = training): logged in but paused, still not offered
    assert seat_run.rung["*132"] == [seat_of(B)]
    assert answered_by(seat_run.calls["*132"]) == [(B, "ANSWER")]
    assert f"A {A} paused (training)" in seat_run.chains["*132"]
    # *14: back, and as the post's A the first offered. This call also proves *11 took:
    # *14 ends a pause, it does not log an agent in
    assert seat_run.rung["*14"] == [seat_of(A)]
    assert answered_by(seat_run.calls["*14"]) == [(A, "ANSWER")]
    assert f"event=agent.pause agent={A}" in seat_run.controller_log


def recording_of(stack: Stack, linkedid: str) -> Recording:
    def row() -> Recording | None:
        found: Recording | None = stack._query(
            lambda s: s.scalars(select(Recording).where(Recording.linkedid == linkedid)).first()
        )
        return found

    wait_for(row, 30, f"the recording of {linkedid} to be catalogued")
    found = row()
    assert found is not None
    return found


def test_an_admin_lists_and_shows_the_recording_of_a_call_with_the_number_masked(
    stack: Stack, seat_run: SeatRun
) -> None:
    """The citizen's call after *12 (13900003101, answered by B on the other-city post, no
    ticket): what `hotline recordings list` and `show` print for it."""
    call = seat_run.calls["*12"]
    row = recording_of(stack, call.linkedid)
    listed = run_hotline(stack.config, "recordings", "list", "--caller", "3101")
    assert listed.returncode == 0, listed.stderr
    header, *lines, total = listed.stdout.splitlines()
    assert header.split() == [
        "id", "linkedid", "started", "length", "caller", "agents", "post", "district",
        "category", "state",
    ]  # fmt: skip
    assert total == "1 recording(s)" and len(lines) == 1, listed.stdout
    fields = lines[0].split()
    # id, linkedid, started (date and time), length, caller, agents, post, district, category
    assert fields[0] == str(row.id) and fields[1] == call.linkedid
    assert fields[5:10] == ["139****3101", B, "other-city", "city", "general"], lines[0]
    # the length is the file's own, read here with the standard library's wave module
    wav = Path(stack.settings.recordings.directory) / row.path
    assert fields[4] == f"{wav_seconds(wav):.1f}s"
    shown = run_hotline(stack.config, "recordings", "show", call.linkedid)
    assert shown.returncode == 0, shown.stderr
    said = dict(line.split(":", 1) for line in shown.stdout.splitlines())
    said = {name: value.strip() for name, value in said.items()}
    assert said["linkedid"] == call.linkedid and said["file"] == row.path
    assert said["sha256"] == hashlib.sha256(wav.read_bytes()).hexdigest()
    assert (said["caller"], said["agents"], said["post"]) == ("139****3101", B, "other-city")
    assert said["category"] == "general" and said["legal hold"] == "no"
    # an admin reads no caller's number in full, in either command
    assert "13900003101" not in listed.stdout + shown.stdout


def wav_seconds(path: Path) -> float:
    with wave.open(str(path), "rb") as w:
        return w.getnframes() / w.getframerate()


WRAP_UP_S = 15  # [routing] wrap_up_seconds: long enough that the next call is routed inside it


def test_an_agent_who_enters_no_code_is_offered_calls_again_when_the_wrap_up_ends(
    stack: Stack,
) -> None:
    """No wrap-up code required (the default): after a call the agent is in wrap-up for
    `wrap_up_seconds`, offered nothing, then offered calls again without entering a code."""
    config = stack.config_with(
        "wrap-up", extra=f"[routing]\nwrap_up_seconds = {WRAP_UP_S}\noverflow_districts = false"
    )
    with (
        running_controller(stack, config),
        agent_phone(stack, "wu-a", seat_of(A), talk_ms=TALK_MS),
        agent_phone(stack, "wu-b", seat_of(B), talk_ms=TALK_MS),
    ):
        # 1: both free, A (the post's A) answers; A's wrap-up starts when A's phone hangs up,
        # at the latest when this caller's call ends
        first, rung_first = call_for_a_person(stack, "wu-1", "13900002111")
        first_over = time.monotonic()
        # 2: at once, well inside A's wrap-up: B is offered the call, A's phone never rings
        second, rung_second = call_for_a_person(stack, "wu-2", "13900002112")
        # 3: once A's wrap-up is over (time is the point here), A is first again; B is in
        # its own wrap-up from call 2, so had A still been held this caller would wait for B
        time.sleep(max(0.0, first_over + WRAP_UP_S + 1 - time.monotonic()))
        third, rung_third = call_for_a_person(stack, "wu-3", "13900002113")
    assert (rung_first, answered_by(first)) == ([seat_of(A)], [(A, "ANSWER")])
    assert (rung_second, answered_by(second)) == ([seat_of(B)], [(B, "ANSWER")])
    (decision,) = stack.decisions(second.linkedid)
    assert f"A {A} wrap-up" in decision.chain
    assert (rung_third, answered_by(third)) == ([seat_of(A)], [(A, "ANSWER")])


# survey calls: each unanswered one is retried once a minute later (2 attempts at most), and
# no more than 2 start in any minute; jobs the controller queues for earlier tests' calls
# are due only a day after those calls, so they stay out of the way
SURVEY_POLICY = """enabled = true
hours = "00:00-24:00"
delay_seconds = 86400
retry_after_minutes = [1]
max_attempts = 2
per_minute = 2
ring_seconds = 5"""
SURVEYED = ("13900002121", "13900002122", "13900002123")  # due in this order


def citizens_busy_phone(stack: Stack, name: str) -> tuple[subprocess.Popen[bytes], Path]:
    """The citizens' side of the trunk (where survey calls ring) answering every call 486
    Busy Here, with SIPp's own trace of every message it got (each with its time)."""
    work = stack.folder / name
    work.mkdir(parents=True, exist_ok=True)
    (work / "busy.xml").write_text(sipp.busy_agent_scenario(), encoding="utf-8")
    trace = work / "messages.log"
    command = [
        sipp.sipp_binary(),
        "-sf",
        str(work / "busy.xml"),
        "-i",
        "127.0.0.3",
        "-p",
        str(SIP_PORT + 20),  # the sandbox's callers_contact
        "-nostdin",
        "-trace_msg",
        "-message_file",
        str(trace),
    ]
    with (work / "sipp.log").open("wb") as out:
        phone = subprocess.Popen(command, cwd=work, stdout=out, stderr=subprocess.STDOUT)
    return phone, trace


TRACE_ENTRY = re.compile(
    r"^-{10,} (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+)\n[^\n]*received[^\n]*\n\n"
    r"INVITE sip:(\d+)@[^\n]*\n(?:[^\n]+\n)*?Call-ID: ([^\n]+)\n",
    re.MULTILINE,
)


def invites(trace: Path) -> list[tuple[datetime, str]]:
    """Each survey call the phone was sent, as (when, number), once per call (a retransmitted
    INVITE carries the same Call-ID)."""
    seen: dict[str, tuple[datetime, str]] = {}
    for when, number, call_id in TRACE_ENTRY.findall(trace.read_text(errors="replace")):
        seen.setdefault(call_id, (datetime.fromisoformat(when), number))
    return sorted(seen.values())


def settle_survey_jobs(stack: Stack, why: str) -> None:
    """No survey job left pending or dialing for a later test's controller to place."""
    engine = create_engine(stack.settings.database_url)
    try:
        with Session(engine) as session, session.begin():
            session.execute(
                update(SurveyJob)
                .where(SurveyJob.status.in_(("pending", "dialing")))
                .values(status="failed", result=why)
            )
    finally:
        engine.dispose()


def test_unanswered_survey_calls_are_retried_once_and_never_more_than_two_a_minute(
    stack: Stack,
) -> None:
    """Three survey calls due at once, the citizens' phones all busy. By hand, with at most 2
    starts a minute and one retry a minute after a failure: the first tick places the two
    oldest (2121, 2122); 2123 waits for the minute to pass; then 2123 goes with whichever of
    2121/2122 came due first (its retry, the second and last attempt: the job fails), and the
    other waits for the next minute. So Asterisk sends 2 survey calls in the first minute and
    2 in the second, and 2123 is not rung before 60 s after the first."""
    settle_survey_jobs(stack, "another test's call")  # earlier tests' calls ring no phone here
    now = datetime.now(UTC)
    engine = create_engine(stack.settings.database_url)
    with Session(engine) as session, session.begin():
        for n, number in enumerate(SURVEYED):
            session.add(
                SurveyJob(
                    linkedid=f"seat21-survey-{number}",
                    number=number,
                    agent_id=A,
                    created_at=now,
                    status="pending",
                    next_attempt_at=now - timedelta(seconds=len(SURVEYED) - n),
                )
            )
    engine.dispose()
    config = stack.config_with("survey-retries", surveys=SURVEY_POLICY)
    phone, trace = citizens_busy_phone(stack, "sv-retries-phone")
    try:
        with running_controller(stack, config) as controller:
            wait_for(
                lambda: (
                    len(invites(trace)) >= 4
                    and controller.text().count("event=survey.attempt") >= 4
                ),
                100,
                "four survey calls to be placed and end",
            )
            sent = invites(trace)
    finally:
        phone.terminate()
        phone.wait(10)
        settle_survey_jobs(stack, "left by the survey retries test")
    assert sorted(n for _, n in sent[:2]) == list(SURVEYED[:2]), sent
    again = sent[3][1] if sent[2][1] == SURVEYED[2] else sent[2][1]
    assert sorted(n for _, n in sent[2:4]) == sorted([SURVEYED[2], again]), sent
    assert again in SURVEYED[:2]
    first_minute, second_minute = sent[0][0], sent[2][0]
    # the cap, by Asterisk's sending times: the third call no sooner than a minute after the
    # first (the controller starts a minute's count at its tick, before the INVITE leaves)
    assert second_minute - first_minute >= timedelta(seconds=59), sent
    # the retry: the same number again at least a minute after its first call
    tries = [when for when, number in sent if number == again]
    assert len(tries) == 2 and tries[1] - tries[0] >= timedelta(seconds=59), sent
    jobs = {
        j.number: (j.status, j.attempts, j.result)
        for j in stack._query(
            lambda s: list(s.scalars(select(SurveyJob).where(SurveyJob.number.in_(SURVEYED))))
        )
    }
    # by the end the retried job gave up after its 2 attempts; the others were each tried once
    # (then settled by this test)
    # (the reason stored is Asterisk's Originate reason; for the phone's 486 Asterisk 22 says
    # 0, stored as "failed", not 5 "busy": the phone's trace above is what says busy)
    assert jobs[again][:2] == ("failed", 2)
    assert {n: a for n, (_, a, _) in jobs.items() if n != again} == {
        n: 1 for n in SURVEYED if n != again
    }


def test_the_demo_places_its_first_call_and_reports_it_as_it_went(stack: Stack) -> None:
    """`hotline demo --calls 1`, the README's command in its shortest form (the full six calls
    would add about half a minute to the session): its first story, 13800000001 pressing 0
    during the greeting and rating the call 1, against the running sandbox. The demo starts
    its own controller and seat phones; the test checks its report against what Asterisk
    logged and what was stored."""
    config = stack.config_with("demo", surveys="enabled = true\ndelay_seconds = 86400")
    mark = stack.log_mark()
    started = datetime.now(UTC)
    try:
        demo = run_hotline(config, "demo", "--calls", "1", timeout=240)
    finally:
        settle_survey_jobs(stack, "queued by the demo's controller")
    assert demo.returncode == 0, demo.stdout[-2000:] + demo.stderr[-2000:]
    report = demo.stdout.split("calls finished", 1)[1]
    caller = "13800000001"
    assert f"\n{caller}: presses 0 during the greeting" in report
    assert "outcome answered; answered by agent 1001 (agent1001)" in report, report
    assert "survey: very_satisfied (in-call, agent 1001)" in report, report
    assert "MISSING" not in report
    # Asterisk rang the post's A only, once (other-city: A 1001)
    assert CALLED.findall(stack.asterisk_log()[mark:]) == [seat_of(A)]
    (call,) = [c for c in stack.calls_from(caller) if started <= aware(c.started_at)]
    assert (call.outcome, answered_by(call)) == ("answered", [(A, "ANSWER")])


def aware(t: datetime) -> datetime:
    """SQLite gives stored times back without their zone (they are UTC)."""
    return t if t.tzinfo else t.replace(tzinfo=UTC)
