"""The KPI rules' edges, each worked out by hand from a small script (found by mutation testing,
issue 21): the period is [since, until), a day is the calendar's local day, a call's district
is its first post's, callbacks are placed when dialled or final, the first answered leg is the
one that answered first, and a wait is never below zero nor rounded up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hotline.supervisor.kpi import (
    CallbackRow,
    CallRow,
    DecisionRow,
    Figures,
    LegRow,
    Places,
    compute,
    rows,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
# the period: 7 December 2026 in Hangzhou, 00:00 to 24:00 local (16:00 UTC the day before)
SINCE = datetime(2026, 12, 6, 16, 0, tzinfo=UTC)
UNTIL = SINCE + timedelta(days=1)
PLACES = Places(
    {"pension-xihu": "xihu", "pension-city": "city"},
    lambda n: "xihu" if n.startswith("057187") else None,
    SHANGHAI,
)


def at(seconds: float) -> datetime:
    return SINCE + timedelta(seconds=seconds)


def answered(linkedid: str, start: float, legs: tuple[LegRow, ...], asked: float | None) -> CallRow:
    return CallRow(
        linkedid,
        "13900000000",
        at(start),
        at(start + 300),
        legs,
        "answered",
        None if asked is None else at(asked),
        "answered",
    )


def ended(linkedid: str, start: float, outcome: str, ivr: str | None) -> CallRow:
    return CallRow(linkedid, "13900000000", at(start), at(start + 60), (), outcome, None, ivr)


def test_the_period_holds_its_first_instant_and_not_its_last() -> None:
    """A call and a callback at exactly `since` are in; at exactly `until` they are out."""
    calls = [
        ended("first", 0, "self_service", "served"),
        ended("next", 86400, "self_service", "served"),
    ]
    callbacks = [CallbackRow("x", at(0), "pending", 0), CallbackRow("y", at(86400), "pending", 0)]
    total = compute(calls, [], PLACES, SINCE, UNTIL, callbacks=callbacks).total
    assert (total.calls, total.callbacks_booked) == (1, 1)


def test_a_day_is_the_calendars_local_day_for_callbacks_too() -> None:
    """Queued at 00:00 Hangzhou time (16:00 UTC the day before): the 7th, not the 6th; a
    callback alone makes its day and its district (no call in either)."""
    report = compute(
        [], [], PLACES, SINCE, UNTIL, callbacks=[CallbackRow("x", at(0), "pending", 0, "")]
    )
    assert list(report.days) == ["2026-12-07"]
    assert list(report.districts) == ["city"]  # no call, no district of its own: the city
    assert report.days["2026-12-07"].callbacks_booked == 1


def test_callbacks_are_placed_once_dialled_or_final_and_answered_only_when_done() -> None:
    """Booked 6. Placed 5: "d" (dialling, 1 attempt), "r" (2 attempts, waiting to retry) and
    the three final ones whatever their count (done, failed, unknown). Answered 1: "ok"."""
    callbacks = [
        CallbackRow("p", at(10), "pending", 0),  # booked, not dialled yet
        CallbackRow("d", at(20), "dialing", 1),  # placed
        CallbackRow("r", at(30), "pending", 2),  # placed twice, waiting for the next try
        CallbackRow("ok", at(40), "done", 0),  # final: placed (a row from before attempts)
        CallbackRow("no", at(50), "failed", 0),  # final: placed
        CallbackRow("un", at(60), "unknown", 0),  # final: placed
    ]
    total = compute([], [], PLACES, SINCE, UNTIL, callbacks=callbacks).total
    assert (total.callbacks_booked, total.callbacks_placed, total.callbacks_answered) == (6, 5, 1)


def test_a_calls_district_is_its_first_posts_and_its_callback_follows_it() -> None:
    """Two decisions, given latest first: the first one in time went to the Xihu post, so the
    call (a city mobile) and the callback it booked (no district of its own) are Xihu's."""
    call = CallRow("c", "13900000000", at(100), at(200), (), "callback_booked", at(100), "callback")
    decisions = [
        DecisionRow("c", at(150), "pension-city", None),
        DecisionRow("c", at(110), "pension-xihu", None),
    ]
    callbacks = [CallbackRow("c", at(190), "pending", 0)]
    report = compute([call], decisions, PLACES, SINCE, UNTIL, callbacks=callbacks)
    assert list(report.districts) == ["xihu"]
    assert (report.districts["xihu"].calls, report.districts["xihu"].callbacks_booked) == (1, 1)
    scoped = compute([call], decisions, PLACES, SINCE, UNTIL, callbacks=callbacks, district="xihu")
    assert (scoped.district, scoped.total.calls, scoped.total.callbacks_booked) == ("xihu", 1, 1)
    assert scoped.as_json()["district"] == "xihu"
    assert (scoped.as_json()["since"], scoped.as_json()["until"]) == (
        "2026-12-06T16:00:00+00:00",
        "2026-12-07T16:00:00+00:00",
    )


def test_fallback_calls_are_counted_each() -> None:
    calls = [ended("f1", 10, "fallback", None), ended("f2", 20, "fallback", None)]
    calls.append(ended("s", 30, "self_service", "served"))
    assert compute(calls, [], PLACES, SINCE, UNTIL).total.fallback == 2


def test_the_first_answer_is_the_earliest_whatever_order_the_legs_come_in() -> None:
    """A blind transfer: 1001 answered 5 s after the ask, then 1002 took the call at 65 s.
    The legs come latest first. The wait is 5 s (1001's answer); 1001 answered the call."""
    legs = (LegRow("1002", at(64), at(65), at(120)), LegRow("1001", at(2), at(5), at(64)))
    report = compute([answered("t", 0, legs, 0)], [], PLACES, SINCE, UNTIL)
    assert (report.total.wait_total, report.total.answered_15s) == (5.0, 1)
    assert report.agents["1001"].answered == 1
    assert report.agents["1002"].answered == 0  # 1002 only talked (59 s of the 114 s talk)
    assert report.total.talk_total == 59.0 + 55.0


def test_without_an_ask_time_the_first_decision_or_ring_stands_in() -> None:
    """A call stored before asked_at existed: decided at 10 s, rang 1001 at 12 s, answered at
    30 s: the wait is 30 - 10 = 20 s, not within 15 s."""
    legs = (LegRow("1001", at(12), at(30), at(90)),)
    decisions = [DecisionRow("old", at(10), "pension-city", "1001")]
    total = compute([answered("old", 0, legs, None)], decisions, PLACES, SINCE, UNTIL).total
    assert (total.wait_total, total.answered_15s) == (20.0, 0)


def test_an_answer_at_the_instant_of_the_ask_waited_nothing() -> None:
    """Answered the same second the caller asked (a free agent, no hold prompt): 0 s, and a
    clock step that puts the answer before the ask counts 0 s too, never less."""
    now = answered("now", 0, (LegRow("1001", at(50), at(50), at(80)),), 50)
    skew = answered("skew", 100, (LegRow("1001", at(150), at(151), at(180)),), 152)
    total = compute([now, skew], [], PLACES, SINCE, UNTIL).total
    assert (total.answered, total.wait_total, total.answered_15s) == (2, 0.0, 2)


def test_the_json_fields_are_the_readmes_with_rates_in_percent_and_one_decimal() -> None:
    """Counts set by hand; every rate divided out here (README "KPIs" names the fields)."""
    figures = Figures(
        calls=5,
        entered_ivr=4,
        self_service=1,
        ivr_abandoned=0,
        fallback=1,
        asked=3,
        answered=2,
        answered_15s=1,
        abandoned=1,
        callback_booked=0,
        overflow=0,
        wait_total=21.0,
        talk_total=100.0,
        talks=3,
        ab_reached=2,
        ab_fallbacks=1,
        survey_eligible=2,
        responded=1,
        satisfied=1,
        callbacks_booked=0,
    )
    assert figures.as_json() == {
        "calls": 5,
        "entered_ivr": 4,
        "self_service": 1,
        "ivr_abandoned": 0,
        "fallback": 1,
        "asked": 3,
        "answered": 2,
        "answered_15s": 1,
        "abandoned": 1,
        "callback_booked": 0,
        "overflow": 0,
        "answer_rate_15s": 33.3,  # 1 / 3
        "connection_rate": 66.7,  # 2 / 3
        "abandonment": 33.3,  # 1 / 3
        "self_service_rate": 25.0,  # 1 / 4
        "average_wait": 10.5,  # 21 s / 2
        "average_talk": 33.3,  # 100 s / 3 legs
        "ab_reached": 2,
        "ab_fallbacks": 1,
        "ab_fallback_rate": 50.0,  # 1 / 2
        "survey_eligible": 2,
        "responded": 1,
        "satisfied": 1,
        "satisfaction_rate": 100.0,  # 1 / 1
        "response_rate": 50.0,  # 1 / 2
        "callbacks_booked": 0,
        "callbacks_placed": 0,
        "callbacks_answered": 0,
    }
    nothing = Figures().as_json()  # every denominator 0: null, not 0 and not an error
    rates = ("answer_rate_15s", "connection_rate", "abandonment", "self_service_rate")
    averages = ("average_wait", "average_talk", "ab_fallback_rate", "satisfaction_rate")
    assert [nothing[k] for k in (*rates, *averages, "response_rate")] == [None] * 9


def test_a_report_lists_its_groups_in_order_under_the_readmes_names() -> None:
    """Two days, the later call first: the days come out in calendar order."""
    calls = [ended("b", 86400 + 100, "self_service", "served"), ended("a", 10, "fallback", None)]
    document = compute(calls, [], PLACES, SINCE, UNTIL + timedelta(days=1)).as_json()
    assert list(document) == ["since", "until", "district", "total", "districts", "agents", "days"]
    days = document["days"]
    assert isinstance(days, dict) and list(days) == ["2026-12-07", "2026-12-08"]


def test_an_agents_own_figures_count_each_call_they_answered_first() -> None:
    """1001 answered two calls (each entered the IVR and asked), one of them rated; a third call
    was answered by a leg Asterisk named no agent for (the fallback queue's member): it counts
    for the city, not for an agent."""
    one = answered("c1", 0, (LegRow("1001", at(1), at(3), at(30)),), 0)
    two = answered("c2", 100, (LegRow("1001", at(101), at(104), at(160)),), 100)
    nobody = answered("c3", 200, (LegRow(None, at(201), at(202), at(260)),), 200)
    report = compute([one, two, nobody], [], PLACES, SINCE, UNTIL, ratings={"c2": "satisfied"})
    assert list(report.agents) == ["1001"]
    mine = report.agents["1001"]
    assert (mine.calls, mine.entered_ivr, mine.asked, mine.answered) == (2, 2, 2, 2)
    assert (mine.responded, mine.satisfied, report.total.responded) == (1, 1, 1)
    assert report.total.answered == 3


def test_talk_is_over_answered_legs_that_ended_and_may_be_zero() -> None:
    """Three answered legs on a transferred call: the first has no end stored (skipped), the
    second hung up the instant it answered (0 s), the third talked 40 s: 2 talks, 40 s."""
    legs = (
        LegRow("1001", at(1), at(2), None),
        LegRow("1002", at(10), at(12), at(12)),
        LegRow("1003", at(20), at(22), at(62)),
    )
    total = compute([answered("t", 0, legs, 0)], [], PLACES, SINCE, UNTIL).total
    assert (total.talks, total.talk_total) == (2, 40.0)


def test_the_report_rows_are_the_total_then_each_group_in_order() -> None:
    """The CLI's table and CSV rows: the total (named by the scope), then districts, agents
    and days, each sorted; `by` keeps the total and that group only."""
    xihu_call = CallRow(
        "x",
        "057187000011",
        at(10),
        at(90),
        (LegRow("2002", at(11), at(12), at(80)),),
        "answered",
        at(10),
        "answered",
    )
    city_call = answered("c", 86400 + 20, (LegRow("1001", at(86421), at(86423), at(86480)),), 86420)
    report = compute([city_call, xihu_call], [], PLACES, SINCE, UNTIL + timedelta(days=1))
    listed = [(scope, key) for scope, key, _ in rows(report, None)]
    assert listed == [
        ("total", "city"),
        ("district", "city"),
        ("district", "xihu"),
        ("agent", "1001"),
        ("agent", "2002"),
        ("day", "2026-12-07"),
        ("day", "2026-12-08"),
    ]
    assert [(s, k) for s, k, _ in rows(report, "agent")] == [
        ("total", "city"),
        ("agent", "1001"),
        ("agent", "2002"),
    ]
    assert rows(report, "day")[0][2] is report.total
    scoped = compute([xihu_call], [], PLACES, SINCE, UNTIL, district="xihu")
    assert [(s, k) for s, k, _ in rows(scoped, "district")] == [
        ("total", "xihu"),
        ("district", "xihu"),
    ]
