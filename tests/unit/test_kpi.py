"""The KPIs over a scripted set of calls whose figures are worked out by hand below (each
expected value is a count or a division written out from the script, never the code's own
output), and the calendar periods they are reported for."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from hotline.supervisor import periods
from hotline.supervisor.kpi import CallbackRow, CallRow, DecisionRow, LegRow, Places, compute

SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)  # 09:00 in Hangzhou


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def leg(agent: str, ring: float, answer: float | None, end: float) -> LegRow:
    return LegRow(agent, at(ring), at(answer) if answer is not None else None, at(end))


def call(
    linkedid: str,
    outcome: str,
    ivr: str | None,
    asked: float | None = None,
    legs: tuple[LegRow, ...] = (),
    number: str = "13900000000",
    start: float = -30,
    end: float = 300,
) -> CallRow:
    return CallRow(
        linkedid,
        number,
        at(start),
        at(end),
        legs,
        outcome,
        at(asked) if asked is not None else None,
        ivr,
    )


XIHU_NUMBER = "057187000011"
CALLS = [
    call("q1", "self_service", "served", number=XIHU_NUMBER),  # a query heard to the end
    call("q2", "ivr_abandoned", "unserved"),  # hung up in the menus
    # A answered 5 s after the caller pressed 0
    call("a1", "answered", "answered", 0, (leg("2001", 2, 5, 65),), XIHU_NUMBER),
    # waited 120 s in hotline's line, then A answered 5 s after the head-of-line ring
    call("a2", "answered", "answered", 0, (leg("1001", 118, 123, 183),)),
    # A let it ring, B answered 14 s after the ask
    call("a3", "answered", "answered", 0, (leg("1001", 1, None, 11), leg("1002", 11, 14, 44))),
    # the first-inquiry owner answered 4 s after the ask
    call("a4", "answered", "answered", 0, (leg("1005", 1, 4, 34),)),
    call("x1", "abandoned", "asked", 0),  # hung up in the line before any ring
    call("x2", "abandoned", "asked", 0, (leg("1001", 1, None, 8),)),  # hung up while A rang
    call("cb", "callback_booked", "callback", 0),
    call("ov", "overflow", "no_answer", 0),  # nobody free: left a message
    # the controller was away: the dialplan's fallback queue answered
    call("fb", "fallback", None, None, (leg("1003", 5, 8, 68),)),
    # not counted: still live, and one from before the period
    CallRow("live", "13900000001", at(0), None, (), "live", at(0), None),
    call("old", "answered", "answered", -7200, (leg("1001", -7190, -7185, -7100),), start=-7300),
]
DECISIONS = [
    DecisionRow("a1", at(65), "pension-xihu", "2001", True, "A"),
    DecisionRow("a2", at(183), "pension-city", "1001", True, "A"),
    DecisionRow("a3", at(44), "pension-city", "1002", True, "B"),
    DecisionRow("a4", at(34), "pension-city", "1005", False, "owner"),
    DecisionRow("x1", at(60), "pension-city", None, True, None),
    DecisionRow("x2", at(8), "pension-city", None, True, None),
    DecisionRow("cb", at(90), "pension-city", None, True, None),
    DecisionRow("ov", at(90), "pension-city", None, True, None),
]
CALLBACKS = [
    CallbackRow("cb", at(90), "done", 1),
    CallbackRow("gone", at(95), "pending", 0, "xihu"),  # its call is not in the rows
]
PLACES = Places(
    {"pension-xihu": "xihu", "pension-city": "city"},
    lambda n: "xihu" if n.startswith("057187") else None,
    SHANGHAI,
)


def figures(district: str | None = None) -> dict[str, object]:
    report = compute(
        CALLS,
        DECISIONS,
        PLACES,
        at(-3600),
        at(3600),
        ratings={"a1": "very_satisfied", "a3": "dissatisfied"},
        survey_ruled_out=frozenset({"a2"}),  # on the do-not-call list
        callbacks=CALLBACKS,
        district=district,
    )
    return report.as_json()


def total(district: str | None = None) -> dict[str, object]:
    found = figures(district)["total"]
    assert isinstance(found, dict)
    return found


def test_outcomes_are_counted_and_the_asked_are_the_four_asking_outcomes() -> None:
    t = total()
    assert t["calls"] == 11  # q1 q2 a1-a4 x1 x2 cb ov fb
    assert t["entered_ivr"] == 10  # all but fb
    assert (t["self_service"], t["ivr_abandoned"], t["fallback"]) == (1, 1, 1)
    assert t["asked"] == 4 + 2 + 1 + 1  # answered, abandoned, callback booked, overflow
    assert (t["answered"], t["abandoned"], t["callback_booked"], t["overflow"]) == (4, 2, 1, 1)


def test_waits_count_from_the_ask_so_the_caller_who_waited_in_line_is_not_within_15_s() -> None:
    t = total()
    assert t["answered_15s"] == 3  # a1 (5 s), a3 (14 s), a4 (4 s); not a2 (123 s)
    assert t["answer_rate_15s"] == round(100 * 3 / 8, 1)
    assert t["connection_rate"] == round(100 * 4 / 8, 1)
    assert t["abandonment"] == round(100 * 2 / 8, 1)  # x1 in the line counts, x2 ringing
    assert t["average_wait"] == round((5 + 123 + 14 + 4) / 4, 1)
    assert t["average_talk"] == round((60 + 60 + 30 + 30) / 4, 1)  # fb's leg is not ours


def test_a_booked_callback_is_not_abandoned_and_callbacks_are_reported_apart() -> None:
    t = total()
    assert t["abandoned"] == 2 and t["callback_booked"] == 1
    assert (t["callbacks_booked"], t["callbacks_placed"], t["callbacks_answered"]) == (2, 1, 1)


def test_self_service_rate_is_over_calls_that_entered_the_ivr() -> None:
    assert total()["self_service_rate"] == round(100 * 1 / 10, 1)


def test_ab_fallback_is_over_calls_that_reached_a_and_counts_only_another_rung_answering() -> None:
    t = total()
    # reached A: a1 a2 a3 x1 x2 cb ov (a4's owner answered first); answered by B: a3 only
    assert (t["ab_reached"], t["ab_fallbacks"]) == (7, 1)
    assert t["ab_fallback_rate"] == round(100 * 1 / 7, 1)


def test_survey_response_rate_is_over_answered_calls_eligible_for_a_survey() -> None:
    t = total()
    assert (t["survey_eligible"], t["responded"], t["satisfied"]) == (3, 2, 1)  # a2 ruled out
    assert t["response_rate"] == round(100 * 2 / 3, 1)
    assert t["satisfaction_rate"] == round(100 * 1 / 2, 1)


def test_district_scope_keeps_that_districts_calls_and_callbacks() -> None:
    xihu = total("xihu")
    assert (xihu["calls"], xihu["asked"], xihu["answered"], xihu["self_service"]) == (2, 1, 1, 1)
    assert xihu["self_service_rate"] == round(100 * 1 / 2, 1)
    assert (xihu["callbacks_booked"], xihu["callbacks_placed"]) == (1, 0)
    whole = figures()
    districts = whole["districts"]
    assert isinstance(districts, dict) and set(districts) == {"xihu", "city"}
    assert districts["city"]["calls"] == 9


def test_agents_figures_are_over_the_calls_they_answered_first() -> None:
    agents = figures()["agents"]
    assert isinstance(agents, dict)
    assert set(agents) == {"2001", "1001", "1002", "1005"}
    assert agents["1001"]["answered"] == 1 and agents["1001"]["answer_rate_15s"] == 0.0
    assert agents["1002"]["answered"] == 1 and agents["1002"]["average_talk"] == 30.0


def test_days_are_the_calendars_local_days() -> None:
    """16:30 UTC on 7 December is 00:30 on the 8th in Hangzhou."""
    late = CallRow(
        "late",
        "13900000002",
        datetime(2026, 12, 7, 16, 30, tzinfo=UTC),
        datetime(2026, 12, 7, 16, 31, tzinfo=UTC),
        (),
        "self_service",
        None,
        "served",
    )
    since, until = periods.week(date(2026, 12, 9)).span(SHANGHAI)
    days = compute([*CALLS, late], DECISIONS, PLACES, since, until).as_json()["days"]
    assert isinstance(days, dict)
    assert days["2026-12-08"]["calls"] == 1 and days["2026-12-07"]["calls"] == 12  # with "old"


def test_calendar_periods_in_the_calendars_time_zone() -> None:
    assert periods.week(date(2026, 12, 9)) == periods.Period(date(2026, 12, 7), date(2026, 12, 13))
    assert periods.month(2026, 2) == periods.Period(date(2026, 2, 1), date(2026, 2, 28))
    assert periods.month(2026, 12).last == date(2026, 12, 31)
    since, until = periods.day(date(2026, 12, 7)).span(SHANGHAI)
    assert since == datetime(2026, 12, 6, 16, 0, tzinfo=UTC)
    assert until - since == timedelta(days=1)
    assert periods.parse_month("2026-11") == periods.Period(date(2026, 11, 1), date(2026, 11, 30))


def test_the_15_s_boundary_an_answer_at_exactly_15_s_is_within_and_just_after_is_not() -> None:
    """A supervisor reads "answered within 15 s": 15.0 s counts, 15.5 s does not."""
    calls = [
        call("e1", "answered", "answered", 0, (leg("1001", 1, 15.0, 60),)),
        call("e2", "answered", "answered", 0, (leg("1002", 1, 15.5, 60),)),
    ]
    report = compute(calls, [], PLACES, at(-3600), at(3600)).as_json()["total"]
    assert isinstance(report, dict)
    assert (report["answered"], report["answered_15s"]) == (2, 1)
    assert report["answer_rate_15s"] == round(100 * 1 / 2, 1)
