"""Post-call satisfaction surveys on the real stack: in the call when the agent leaves first,
as a queued survey call when the caller left first, placed once across a restart, never
outside the allowed hours or to a do-not-call number."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import create_engine, select, update
from sqlalchemy.orm import Session

from hotline.sandbox import sipp
from hotline.store.models import Call, ReviewItem, Survey, SurveyJob
from tests.conftest import run_hotline
from tests.stack.conftest import (
    SEAT_PORTS,
    Stack,
    agent_phone,
    callers_phone,
    place_call,
    running_controller,
    wait_for,
)

OPEN = 'enabled = true\ndelay_seconds = 0\nhours = "00:00-24:00"'


def closed_now() -> str:
    """A survey window that does not contain the present local time."""
    hour = datetime.now(ZoneInfo("Asia/Shanghai")).hour
    window = "00:00-01:00" if hour >= 2 else "12:00-13:00"
    return f'enabled = true\ndelay_seconds = 0\nhours = "{window}"'


def surveys(stack: Stack, linkedid: str) -> list[Survey]:
    return list(
        stack._query(lambda s: list(s.scalars(select(Survey).where(Survey.linkedid == linkedid))))
    )


def jobs(stack: Stack, number: str) -> list[SurveyJob]:
    return list(
        stack._query(lambda s: list(s.scalars(select(SurveyJob).where(SurveyJob.number == number))))
    )


def only_this_job_pending(stack: Stack, job_id: int) -> None:
    """Earlier tests' answered calls share this database and may have been queued for a
    survey call too; they are settled, so that only the test's own job rings its phone."""
    engine = create_engine(stack.settings.database_url)
    try:
        with Session(engine) as session, session.begin():
            session.execute(
                update(SurveyJob)
                .where(SurveyJob.id != job_id, SurveyJob.status == "pending")
                .values(status="failed", result="another test's call")
            )
    finally:
        engine.dispose()


def test_when_the_agent_hangs_up_the_caller_rates_the_call_in_the_call(stack: Stack) -> None:
    config = stack.config_with("survey-in-call", surveys=OPEN)
    with running_controller(stack, config), agent_phone(stack, "sv-a", "agent1001", talk_ms=3000):
        place_call(
            stack,
            "sv-in-call",
            "13900000301",
            script=[("welcome_lang", "0"), ("survey_ask", "2")],
        )
    call = stack.ended_call("13900000301")
    path = stack.ivr_path(call.linkedid)
    assert ("to_agent", "answered") in path
    assert path[-3:] == [("ask", "digit:2"), ("satisfied", "set"), ("thanks", "done")], path
    (rating,) = surveys(stack, call.linkedid)
    assert (rating.rating, rating.agent_id, rating.channel, rating.caller_number) == (
        "satisfied",
        "1001",
        "in-call",
        "13900000301",
    )


def test_a_dissatisfied_rating_opens_a_review_item_for_the_agents_supervisor(
    stack: Stack,
) -> None:
    config = stack.config_with("survey-review", surveys=OPEN)
    with running_controller(stack, config), agent_phone(stack, "rv-a", "agent1001", talk_ms=3000):
        # 3 dissatisfied, 2 the attitude, then # at the comment prompt: no voice comment
        script = [
            ("welcome_lang", "0"),
            ("survey_ask", "3"),
            ("survey_reason", "2"),
            ("survey_comment", "#"),
        ]
        place_call(stack, "sv-review", "13900000302", script=script)
    call = stack.ended_call("13900000302")
    (rating,) = surveys(stack, call.linkedid)
    assert (rating.rating, rating.reason) == ("dissatisfied", "attitude")
    items = stack._query(
        lambda s: list(s.scalars(select(ReviewItem).where(ReviewItem.linkedid == call.linkedid)))
    )
    assert [(i.agent_id, i.office, i.reason, i.recording, i.status) for i in items] == [
        ("1001", "city", "attitude", call.recording, "open")
    ]


def test_an_agent_sends_the_caller_to_the_survey_with_star_5(stack: Stack) -> None:
    config = stack.config_with("survey-feature", surveys=OPEN)
    work = stack.folder / "sv-feature-a"
    # the agent never hangs up: 2 s into the call they press *5, and Asterisk ends their leg
    scenario = sipp.answering_scenario(sipp.party_audio(work, sipp.AGENT_HZ), [(2000, "*5")])
    agent = sipp.start_agent(work, "agent1001", SEAT_PORTS["agent1001"], scenario, max_calls=1)
    try:
        with running_controller(stack, config):
            place_call(
                stack,
                "sv-feature",
                "13900000305",
                script=[("welcome_lang", "0"), ("survey_ask", "1")],
            )
        assert agent.process.wait(10) == 0, agent.log.read_text(errors="replace")[-1500:]
    finally:
        agent.stop()
    call = stack.ended_call("13900000305")
    (rating,) = surveys(stack, call.linkedid)
    assert (rating.rating, rating.agent_id, rating.channel) == ("very_satisfied", "1001", "in-call")


def caller_leaves_first(stack: Stack, name: str, caller: str) -> None:
    """0 for a person; the caller hangs up 2 s into the conversation (the agent talks 8 s)."""
    with agent_phone(stack, f"{name}-a", "agent1001", talk_ms=8000):
        hold_ms = int((stack.prompt_seconds("transfer_hold") + 0.5 + 2.0) * 1000)
        script: list[tuple[int | str, str]] = [("welcome_lang", "0"), ("transfer_hold", "")]
        place_call(stack, name, caller, script=script, hangup_after_ms=hold_ms)


def test_caller_hangs_up_first_then_a_survey_call_is_placed_once_across_a_restart(
    stack: Stack,
) -> None:
    caller = "13900000303"
    # queued while survey calls are not allowed: nothing is dialled
    closed = stack.config_with("survey-closed", surveys=closed_now())
    with running_controller(stack, closed) as controller:
        caller_leaves_first(stack, "sv-left", caller)
        wait_for(lambda: jobs(stack, caller), 20, "the survey job to be queued")
        wait_for(lambda: "event=survey.queued" in controller.text(), 5, "the queue log line")
        threading.Event().wait(4)  # due, but the clock ticks outside the allowed hours
        (job,) = jobs(stack, caller)
        assert (job.status, job.attempts) == ("pending", 0)
        assert "event=survey.dialing" not in controller.text()
    only_this_job_pending(stack, job.id)
    # the controller restarts in allowed hours: the survey call goes out, once
    opened = stack.config_with("survey-open", surveys=OPEN)
    with (
        callers_phone(stack, "sv-phone", keys="1") as phone,
        running_controller(stack, opened) as again,
    ):
        assert phone.process.wait(60) == 0, phone.log.read_text(errors="replace")[-1500:]
        wait_for(lambda: "event=survey.rated" in again.text(), 10, "the rating")
        # several ticks later still one attempt: the job is not placed twice
        wait_for(lambda: "event=survey.attempt" in again.text(), 20, "the attempt's end")
        threading.Event().wait(6)
        assert again.text().count("event=survey.dialing") == 1
    (job,) = jobs(stack, caller)
    assert (job.status, job.attempts) == ("answered", 1)
    (rating,) = surveys(stack, job.linkedid)
    assert (rating.rating, rating.channel, rating.agent_id) == (
        "very_satisfied",
        "survey-call",
        "1001",
    )
    # the survey call itself: a call row of kind survey naming the rated call
    own = stack._query(
        lambda s: list(
            s.scalars(select(Call).where(Call.kind == "survey", Call.serves == job.linkedid))
        )
    )
    assert [(c.caller_number, c.outcome) for c in own] == [(caller, "answered")]


def test_no_survey_call_to_a_do_not_call_number(stack: Stack) -> None:
    caller = "13900000304"
    config = stack.config_with("survey-dnc", surveys=OPEN)
    added = run_hotline(config, "survey", "dnc", "add", caller, "--note", "asked not to be called")
    assert added.returncode == 0, added.stderr
    with running_controller(stack, config) as controller:
        caller_leaves_first(stack, "sv-dnc", caller)
        wait_for(lambda: jobs(stack, caller), 20, "the call to be looked at for a survey")
        threading.Event().wait(4)  # a couple of ticks
        assert "event=survey.dialing" not in controller.text()
    (job,) = jobs(stack, caller)
    assert (job.status, job.result, job.attempts) == ("skipped", "do-not-call list", 0)
    listed = run_hotline(config, "survey", "jobs", "--status", "skipped")
    assert caller in listed.stdout and "do-not-call list" in listed.stdout


def test_no_second_survey_for_a_caller_within_the_per_caller_limit(stack: Stack) -> None:
    caller = "13900000306"
    config = stack.config_with("survey-limit", surveys=OPEN + "\nper_caller_days = 30")
    yesterday = datetime.now(UTC) - timedelta(days=1)
    engine = create_engine(stack.settings.database_url)
    with Session(engine) as session, session.begin():
        session.add(  # they rated an earlier call yesterday
            Survey(
                linkedid="earlier-call",
                caller_number=caller,
                rating="satisfied",
                channel="in-call",
                rated_at=yesterday,
            )
        )
    engine.dispose()
    with running_controller(stack, config) as controller:
        caller_leaves_first(stack, "sv-limit", caller)
        wait_for(lambda: jobs(stack, caller), 20, "the call to be looked at for a survey")
        threading.Event().wait(4)
        assert "event=survey.dialing" not in controller.text()
    (job,) = jobs(stack, caller)
    assert (job.status, job.result, job.attempts) == ("skipped", "surveyed recently", 0)


def test_the_report_counts_what_callers_said(stack: Stack) -> None:
    """Runs after the calls above (same database): figures equal the stored ratings."""
    config = stack.config_with("survey-report", surveys=OPEN)
    result = run_hotline(config, "survey", "report", "--by", "agent", "--csv")
    assert result.returncode == 0, result.stderr
    rows = {line.split(",")[0]: line.split(",") for line in result.stdout.splitlines()[1:]}
    rated = stack._query(  # ratings of calls an agent answered, counted here independently
        lambda s: list(
            s.scalars(
                select(Survey)
                .join(Call, Call.linkedid == Survey.linkedid)
                .where(Call.outcome == "answered")
            )
        )
    )
    assert rated, "the tests above stored ratings"
    satisfied = sum(r.rating in ("very_satisfied", "satisfied") for r in rated)
    answered = len(  # calls in (our survey calls are rows of their own kind)
        stack._query(
            lambda s: list(
                s.scalars(select(Call).where(Call.outcome == "answered", Call.kind == "inbound"))
            )
        )
    )
    assert (int(rows["all"][1]), int(rows["all"][2])) == (answered, len(rated))
    assert float(rows["all"][6]) == round(satisfied / len(rated), 4)  # satisfaction rate
    assert float(rows["all"][7]) == round(len(rated) / answered, 4)  # response rate
