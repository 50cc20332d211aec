"""Pure parts of the supervisors' side: the score sheet (one-vote veto included) and the KPIs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ivr.config import SHIPPED_SCORE_SHEET
from ivr.settings import ConfigError
from supervisor.kpi import CallRow, DecisionRow, LegRow, compute
from supervisor.scoring import ScoreError, load_sheet, score

SHEET = load_sheet(SHIPPED_SCORE_SHEET)
ALL_EXCELLENT = {item.id: "excellent" for item in SHEET.items}


def test_the_shipped_sheet_has_the_six_measures_weighing_100() -> None:
    assert [i.id for i in SHEET.items] == [
        "accuracy",
        "completeness",
        "relevance",
        "tone",
        "intonation",
        "rate",
    ]
    assert sum(i.weight for i in SHEET.items) == 100


def test_a_perfect_call_scores_100_and_bands_take_their_share_of_the_weight() -> None:
    assert score(SHEET, ALL_EXCELLENT).total == 100
    result = score(SHEET, {**ALL_EXCELLENT, "accuracy": "good", "rate": "poor"})
    assert result.points["accuracy"] == 20 and result.points["rate"] == 3
    assert result.total == 100 - 5 - 12 and not result.vetoed


def test_the_veto_zeroes_an_otherwise_perfect_call() -> None:
    result = score(SHEET, ALL_EXCELLENT, veto_reason="答复错误")
    assert result.total == 0 and result.vetoed
    assert result.points["accuracy"] == 25  # the items are kept, the total is zero
    assert score(SHEET, ALL_EXCELLENT, veto_reason="Bad attitude").total == 0


@pytest.mark.parametrize(
    ("bands", "veto", "message"),
    [
        ({"accuracy": "excellent"}, "", "has no band"),
        ({**ALL_EXCELLENT, "accuracy": "superb"}, "", "unknown band"),
        ({**ALL_EXCELLENT, "charm": "excellent"}, "", "not on the sheet"),
        (ALL_EXCELLENT, "felt like it", "unknown veto reason"),
    ],
)
def test_a_score_that_does_not_fit_the_sheet_is_refused(
    bands: dict[str, str], veto: str, message: str
) -> None:
    with pytest.raises(ScoreError, match=message):
        score(SHEET, bands, veto)


def test_a_sheet_whose_weights_do_not_add_up_to_100_is_refused(tmp_path: Path) -> None:
    text = SHIPPED_SCORE_SHEET.read_text(encoding="utf-8").replace("weight = 25", "weight = 30")
    (tmp_path / "sheet.toml").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match="add up to 105"):
        load_sheet(tmp_path / "sheet.toml")


T0 = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def call(
    linkedid: str,
    number: str,
    start: float,
    end: float,
    legs: tuple[LegRow, ...] = (),
) -> CallRow:
    return CallRow(linkedid, number, at(start), at(end), legs)


def leg(agent: str, ring: float, answer: float | None, end: float) -> LegRow:
    return LegRow(agent, at(ring), at(answer) if answer is not None else None, at(end))


CALLS = [
    # answered by A after 5 s of ringing, talked 60 s (a Xihu landline)
    call("c1", "057187000001", 0, 100, (leg("2001", 20, 25, 85),)),
    # A did not answer, B answered 20 s after the caller asked: fallback, over 15 s
    call("c2", "13900000002", 0, 100, (leg("1001", 10, None, 25), leg("1002", 25, 30, 90))),
    # asked for a person, hung up while ringing: abandoned
    call("c3", "13900000003", 0, 50, (leg("1001", 10, None, 40),)),
    # self-service only: never asked for a person
    call("c4", "13900000004", 0, 30),
    # still live: not counted
    CallRow("c5", "13900000005", at(0), None),
    # before the period: not counted
    call("c0", "13900000000", -7200, -7000, (leg("1001", -7190, -7185, -7100),)),
]
DECISIONS = [
    DecisionRow("c1", at(100), "pension-xihu", "2001"),
    DecisionRow("c2", at(100), "pension-city", "1002"),
    DecisionRow("c3", at(50), "pension-city", None),
]
POST_A = {"pension-xihu": "2001", "pension-city": "1001"}
POST_DISTRICT = {"pension-xihu": "xihu", "pension-city": "city"}


def report(ratings: dict[str, str] | None = None) -> dict[str, object]:
    rep = compute(
        CALLS,
        DECISIONS,
        POST_A,
        POST_DISTRICT,
        lambda n: "xihu" if n.startswith("057187") else None,
        at(-3600),
        at(3600),
        ratings,
    )
    return rep.as_json()


def test_kpis_count_as_gbt_33358_over_calls_that_asked_for_a_person() -> None:
    total = report()["total"]
    assert isinstance(total, dict)
    assert total["calls"] == 4 and total["asked"] == 3
    assert total["answered"] == 2 and total["abandoned"] == 1
    assert total["answered_15s"] == 1  # c1 waited 5 s; c2 waited 20 s
    assert total["answer_rate_15s"] == 33.3
    assert total["connection_rate"] == 66.7 and total["abandonment"] == 33.3
    assert total["average_wait"] == 12.5  # (5 + 20) / 2
    assert total["average_talk"] == 60.0  # 60 s and 60 s
    assert total["ab_decisions"] == 3 and total["ab_fallbacks"] == 2
    assert total["satisfaction_rate"] is None


def test_kpis_split_by_district_and_by_answering_agent() -> None:
    rep = report()
    districts, agents = rep["districts"], rep["agents"]
    assert isinstance(districts, dict) and isinstance(agents, dict)
    assert districts["xihu"]["connection_rate"] == 100.0
    assert districts["city"]["asked"] == 2 and districts["city"]["connection_rate"] == 50.0
    assert agents["2001"]["answered"] == 1 and agents["2001"]["average_talk"] == 60.0
    assert agents["1002"]["answered"] == 1 and agents["1002"]["answer_rate_15s"] == 0.0
    assert "1001" not in agents or agents["1001"]["answered"] == 0


def test_satisfaction_and_response_rate_come_from_the_ratings() -> None:
    total = report({"c1": "very_satisfied", "c2": "dissatisfied"})["total"]
    assert isinstance(total, dict)
    assert total["responded"] == 2 and total["satisfied"] == 1
    assert total["satisfaction_rate"] == 50.0 and total["response_rate"] == 100.0
