"""Survey decisions (allowed hours, retries, limits, catch-up cap) and the survey tables:
one rating per call, one job per call, one placement per attempt, review items."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select

from hotline.store.db import open_engine, session_factory, write
from hotline.store.models import Call, DoNotCall, Leg, ReviewItem, RouteDecision, Survey, SurveyJob
from hotline.surveys.policy import (
    SurveyPolicy,
    after_failure,
    is_allowed,
    refusal,
    satisfaction,
    start_budget,
)
from hotline.surveys.service import Rating, SurveyStore
from routing.directory import Agent, Directory, Office, Post, Seat

ZONE = ZoneInfo("Asia/Shanghai")
POLICY = SurveyPolicy(opens=time(9), closes=time(20), delay=timedelta(minutes=5))


def local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=ZONE).astimezone(UTC)


def test_survey_calls_keep_to_the_allowed_hours() -> None:
    assert is_allowed(local(27, 9), POLICY, ZONE)  # opening is inclusive
    assert is_allowed(local(27, 19, 59), POLICY, ZONE)
    assert not is_allowed(local(27, 20), POLICY, ZONE)  # closing is exclusive
    assert not is_allowed(local(27, 8, 59), POLICY, ZONE)
    assert not is_allowed(local(27, 21), POLICY, ZONE)


def test_retries_are_spaced_and_bounded() -> None:
    policy = SurveyPolicy(retry_after=(timedelta(minutes=30), timedelta(hours=2)), max_attempts=3)
    assert after_failure(local(27, 10), 1, policy) == local(27, 10, 30)
    assert after_failure(local(27, 10), 2, policy) == local(27, 12)
    assert after_failure(local(27, 10), 3, policy) is None


def test_refusals_name_their_reason() -> None:
    now = local(27, 10)
    assert refusal("13900000001", False, None, now, POLICY) is None
    assert refusal("13900000001", True, None, now, POLICY) == "do-not-call list"
    recent = now - timedelta(days=3)
    assert refusal("13900000001", False, recent, now, POLICY) == "surveyed recently"
    assert refusal("13900000001", False, now - timedelta(days=31), now, POLICY) is None
    assert refusal("anonymous", False, None, now, POLICY) == "no callable number"
    assert refusal("", False, None, now, POLICY) == "no callable number"


def test_catch_up_is_capped_per_minute_and_rates_count_only_the_rated() -> None:
    assert start_budget(0, SurveyPolicy(per_minute=6)) == 6
    assert start_budget(4, SurveyPolicy(per_minute=6)) == 2
    assert start_budget(9, SurveyPolicy(per_minute=6)) == 0
    assert satisfaction([]) is None
    assert satisfaction(["very_satisfied", "satisfied", "dissatisfied", "satisfied"]) == 0.75


# --- the tables -----------------------------------------------------------------------------


def directory() -> Directory:
    offices = {
        "city": Office("city", "市中心", "city"),
        "xihu": Office("xihu", "西湖区", "district"),
    }
    agents = {
        "2001": Agent("2001", "陈静", "s2001", "xihu", ("pension",)),
        "2002": Agent("2002", "刘洋", "s2002", "xihu", ("pension",)),
    }
    seats = {a.seat: Seat(a.seat, a.office) for a in agents.values()}
    posts = {"pension-xihu": Post("pension-xihu", "pension", "xihu", "2001", "2002")}
    return Directory(offices, seats, agents, posts)


def store(tmp_path: Path, **policy: object) -> SurveyStore:
    sessions = session_factory(open_engine(f"sqlite:///{tmp_path / 'hotline.db'}"))
    d = directory()
    return SurveyStore(sessions, lambda: d, SurveyPolicy(**policy))  # type: ignore[arg-type]


def save(s: SurveyStore, rating: Rating, now: datetime) -> bool:
    """A rating stored in its own transaction (the controller stores it inside the call's)."""
    with write(s.sessions) as session:
        return s.save_in(session, rating, now)


def answered_call(
    s: SurveyStore, linkedid: str, caller: str, ended: datetime, agent: str = "2001"
) -> None:
    with write(s.sessions) as session:
        session.add(
            Call(
                linkedid=linkedid,
                caller_number=caller,
                started_at=ended - timedelta(minutes=3),
                answered_at=ended - timedelta(minutes=2),
                ended_at=ended,
                outcome="answered",
                recording=f"{linkedid}.wav",
            )
        )
        session.add(
            Leg(
                uniqueid=f"{linkedid}.1",
                linkedid=linkedid,
                channel="PJSIP/s2001-1",
                endpoint="s2001",
                agent_id=agent,
                ring_at=ended - timedelta(minutes=2),
                answered_at=ended - timedelta(minutes=2),
                ended_at=ended,
                dial_status="ANSWER",
            )
        )
        session.add(
            RouteDecision(
                linkedid=linkedid,
                decided_at=ended,
                post="pension-xihu",
                chain="A",
                answered_by=agent,
            )
        )


def jobs(s: SurveyStore) -> list[tuple[str, str, int, str]]:
    with s.sessions() as session:
        return [
            (j.linkedid, j.status, j.attempts, j.result)
            for j in session.scalars(select(SurveyJob).order_by(SurveyJob.id))
        ]


def test_a_rating_is_stored_once_with_agent_post_and_district(tmp_path: Path) -> None:
    s = store(tmp_path)
    answered_call(s, "c1", "13900000001", local(27, 10))
    rating = Rating("c1", "13900000001", "satisfied", "", "", "in-call")
    assert save(s, rating, local(27, 10, 1)) is True
    assert (
        save(s, Rating("c1", "13900000001", "dissatisfied", "", "", "in-call"), local(27, 11))
        is False
    )
    with s.sessions() as session:
        rows = session.scalars(select(Survey)).all()
        reviews = session.scalars(select(ReviewItem)).all()
    assert [(r.linkedid, r.agent_id, r.post, r.district, r.rating) for r in rows] == [
        ("c1", "2001", "pension-xihu", "xihu", "satisfied")
    ]
    assert reviews == []  # the second (dissatisfied) rating was refused: no review either


def test_a_dissatisfied_rating_opens_a_review_item_linked_to_call_and_recording(
    tmp_path: Path,
) -> None:
    s = store(tmp_path)
    answered_call(s, "c2", "13900000002", local(27, 10))
    save(
        s,
        Rating("c2", "13900000002", "dissatisfied", "attitude", "msg-c2-1", "in-call"),
        local(27, 10, 1),
    )
    with s.sessions() as session:
        (item,) = session.scalars(select(ReviewItem)).all()
    assert (item.linkedid, item.agent_id, item.office, item.recording, item.reason) == (
        "c2",
        "2001",
        "xihu",
        "c2.wav",
        "attitude",
    )


def test_jobs_are_queued_once_per_call_and_only_when_allowed(tmp_path: Path) -> None:
    s = store(tmp_path, per_caller=timedelta(days=30))
    answered_call(s, "a", "13900000010", local(27, 10))
    answered_call(s, "rated", "13900000011", local(27, 10))
    answered_call(s, "dnc", "13900000012", local(27, 10))
    answered_call(s, "again", "13900000010", local(27, 10, 30))  # same caller as "a"
    save(s, Rating("rated", "13900000011", "satisfied", "", "", "in-call"), local(27, 10, 1))
    with write(s.sessions) as session:
        session.add(DoNotCall(number="13900000012", added_at=local(1, 9)))
    now = local(27, 11)
    s.enqueue(now)
    s.enqueue(now)  # a second pass (or a second controller) adds nothing
    (a,) = [j for j in jobs(s) if j[0] == "a"]
    assert a == ("a", "pending", 0, "")
    assert ("dnc", "skipped", 0, "do-not-call list") in jobs(s)
    assert not [j for j in jobs(s) if j[0] == "rated"]
    # caller 13900000010 already has a survey queued: one survey per caller
    assert ("again", "skipped", 0, "a survey is already queued for this caller") in jobs(s)
    taken = s.take_due(local(27, 11, 40), budget=5)
    assert [j.linkedid for j in taken] == ["a"]


def test_the_limits_are_checked_again_when_a_job_falls_due(tmp_path: Path) -> None:
    s = store(tmp_path)
    answered_call(s, "b", "13900000040", local(27, 10))
    answered_call(s, "c", "13900000041", local(27, 10))
    s.enqueue(local(27, 10, 1))
    with write(s.sessions) as session:  # the caller asked not to be called, meanwhile
        session.add(DoNotCall(number="13900000040", added_at=local(27, 10, 2)))
    save(s, Rating("c", "13900000041", "satisfied", "", "", "in-call"), local(27, 10, 3))
    assert s.take_due(local(27, 10, 10), budget=5) == []
    assert jobs(s) == [
        ("b", "skipped", 0, "do-not-call list"),
        ("c", "rated", 0, "rated in-call"),
    ]


def test_an_attempt_is_taken_once_and_retried_spaced_then_given_up(tmp_path: Path) -> None:
    s = store(tmp_path, max_attempts=2, retry_after=(timedelta(minutes=30),))
    answered_call(s, "x", "13900000020", local(27, 10))
    s.enqueue(local(27, 10, 1))
    assert s.take_due(local(27, 10, 2), budget=5) == []  # due 10:05, not yet
    first = s.take_due(local(27, 10, 6), budget=5)
    assert [j.linkedid for j in first] == ["x"]
    assert s.take_due(local(27, 10, 6), budget=5) == []  # dialing: nobody takes it again
    assert s.attempt_ended(first[0].id, False, "no answer", local(27, 10, 7)) == "pending"
    assert s.take_due(local(27, 10, 20), budget=5) == []  # spaced: due 10:37
    second = s.take_due(local(27, 10, 40), budget=5)
    assert s.attempt_ended(second[0].id, False, "busy", local(27, 10, 41)) == "failed"
    assert jobs(s) == [("x", "failed", 2, "busy")]


def test_nothing_starts_outside_the_allowed_hours_and_dialing_is_not_redone(
    tmp_path: Path,
) -> None:
    s = store(tmp_path, delay=timedelta(0))
    answered_call(s, "late", "13900000030", local(27, 19, 59))
    s.enqueue(
        local(
            27,
            19,
            59,
        )
    )
    assert s.take_due(local(27, 21), budget=5) == []  # evening
    (job,) = s.take_due(local(28, 9, 1), budget=5)
    assert s.recover() == 1  # the controller stopped while dialing
    assert s.take_due(local(28, 9, 2), budget=5) == []
    assert jobs(s) == [("late", "unknown", 1, "controller stopped while dialing")]
    assert job.linkedid == "late"


class FakeAmi:
    """Answers every Originate as answered (or raises `fails`); counts them."""

    logged_in = True

    def __init__(self, fails: Exception | None = None) -> None:
        self.originated: list[dict[str, object]] = []
        self.fails = fails

    async def action(self, name: str, timeout: float, **headers: object) -> list[dict[str, str]]:
        self.originated.append({"action": name, **headers})
        if self.fails is not None:
            raise self.fails
        return [{"Response": "Success"}, {"Event": "OriginateResponse", "Response": "Success"}]


def test_a_survey_call_whose_originate_reply_was_lost_is_not_placed_again(
    tmp_path: Path,
) -> None:
    import asyncio

    from hotline.pbx.ami import AmiError, AmiNotSent
    from hotline.surveys.service import SurveyDispatcher

    s = store(tmp_path, per_minute=10, delay=timedelta(0))
    answered_call(s, "lost", "13900000120", local(27, 9, 10))
    answered_call(s, "lost-too", "13900000121", local(27, 9, 11))
    clock = [local(27, 12)]

    async def tick(ami: FakeAmi) -> None:
        dispatcher = SurveyDispatcher(s, ami, '"12333" <12333>', "callers", lambda: clock[0])  # type: ignore[arg-type]
        await dispatcher.tick()
        await asyncio.gather(*dispatcher.calls)

    asyncio.run(tick(FakeAmi(AmiError("AMI connection lost before a reply"))))
    # the link dropped after both Originates left: the caller may be ringing; never twice
    assert [(j[1], j[3]) for j in jobs(s)] == [
        ("unknown", "no reply from Asterisk: AMI connection lost before a reply")
    ] * 2
    (tmp_path / "two").mkdir()
    s = store(tmp_path / "two", per_minute=10, delay=timedelta(0))  # Asterisk never got it
    answered_call(s, "unsent", "13900000121", local(27, 9, 11))
    asyncio.run(tick(FakeAmi(AmiNotSent("AMI not connected: Originate not sent"))))
    assert [(j[1], j[3]) for j in jobs(s)] == [
        ("pending", "originate failed: AMI not connected: Originate not sent")
    ]


def test_after_an_outage_overdue_surveys_start_a_few_a_minute_oldest_first(
    tmp_path: Path,
) -> None:
    import asyncio

    from hotline.surveys.service import SurveyDispatcher

    s = store(tmp_path, per_minute=3, delay=timedelta(0))
    for n in range(8):  # eight calls ended during the outage, each from another caller
        answered_call(s, f"o{n}", f"1390000010{n}", local(27, 9, 10 + n))
    clock = [local(27, 12)]
    ami = FakeAmi()
    dispatcher = SurveyDispatcher(s, ami, '"12333" <12333>', "callers", lambda: clock[0])  # type: ignore[arg-type]

    async def tick() -> None:
        await dispatcher.tick()
        await asyncio.gather(*dispatcher.calls)

    asyncio.run(tick())
    assert [o["Variable"] for o in ami.originated] == [[f"HOTLINE_SURVEY={n}"] for n in (1, 2, 3)]
    clock[0] = local(27, 12, 0) + timedelta(seconds=30)
    asyncio.run(tick())  # the same minute: the cap is spent
    assert len(ami.originated) == 3
    clock[0] = local(27, 12, 1) + timedelta(seconds=5)
    asyncio.run(tick())
    assert len(ami.originated) == 6
    assert ami.originated[0]["Channel"] == "PJSIP/13900000100@callers"
    assert [j[1] for j in jobs(s)] == ["answered"] * 6 + ["pending"] * 2


def test_the_report_groups_by_day_in_local_time_and_shows_the_response_rate() -> None:
    from hotline.surveys.report import AnsweredCall, as_csv, as_text, summarize

    calls = [  # 23:30 UTC on the 26th is the 27th in Hangzhou
        AnsweredCall(
            "a", datetime(2026, 11, 26, 23, 30, tzinfo=UTC), "2001", "p", "xihu", "satisfied"
        ),
        AnsweredCall("b", local(27, 10), "2001", "p", "xihu", "dissatisfied"),
        AnsweredCall("c", local(27, 11), "2002", "p", "xihu", None),
        AnsweredCall("d", local(28, 9), "2002", "p", "xihu", "very_satisfied"),
    ]
    rows = summarize(calls, "day", ZONE)
    assert [(r.key, r.answered, r.rated, r.satisfaction, r.response) for r in rows] == [
        ("2026-11-27", 3, 2, 0.5, 2 / 3),
        ("2026-11-28", 1, 1, 1.0, 1.0),
        ("all", 4, 3, 2 / 3, 0.75),
    ]
    by_agent = summarize(calls, "agent", ZONE)
    assert [r.key for r in by_agent] == ["2001", "2002", "all"]
    assert as_csv(by_agent, "agent").splitlines()[1] == "2001,2,2,0,1,1,0.5000,1.0000"
    assert "50.0%" in as_text(by_agent, "agent").splitlines()[1]
