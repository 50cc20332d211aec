"""Pure parts of the supervisors' side: the score sheet (one-vote veto included). The KPIs:
test_kpi.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from hotline.settings import SHIPPED_SCORE_SHEET
from hotline.supervisor.scoring import ScoreError, load_sheet, score
from hotline.tomltables import ConfigError

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
