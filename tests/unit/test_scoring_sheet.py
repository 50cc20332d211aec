"""The score sheet read from its file and its arithmetic, on a small hand-written sheet whose
every figure is worked out here: optional fields and their defaults, each check's message as
the user reads it, the 100-point tolerance, the share bound and the rounding to 2 decimals.
The shipped sheet's measures: test_supervisor_scoring_kpi.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from hotline.supervisor.scoring import Result, ScoreError, Sheet, load_sheet, score
from hotline.tomltables import ConfigError

# No version (1 by default); the first item has no group ("answer" by default); a 0-weight item
# and a 0-share band are allowed, and so is a share of exactly 1.
HEAD = """id = "mini-qa"
name_zh = "小评分表"
name_en = "Mini sheet"
"""
ITEMS = """
[[item]]
id = "accuracy"
name_zh = "准确"
name_en = "Accuracy"
weight = 10

[[item]]
id = "tone"
group = "service"
name_zh = "语气"
name_en = "Tone"
weight = 20

[[item]]
id = "rest"
group = "service"
name_zh = "其余"
name_en = "The rest"
weight = 70

[[item]]
id = "bonus"
group = "extra"
name_zh = "加分"
name_en = "Bonus"
weight = 0
"""
BANDS = """
[[band]]
id = "full"
name_zh = "满"
name_en = "Full"
share = 1

[[band]]
id = "third"
name_zh = "三分之一"
name_en = "A third"
share = 0.3333

[[band]]
id = "token"
name_zh = "象征"
name_en = "Token"
share = 0.01

[[band]]
id = "none"
name_zh = "无"
name_en = "None"
share = 0
"""
VETO = """
[veto]
reasons_zh = ["答复错误", "推诿"]
reasons_en = ["Wrong answer", "Passing the buck"]
"""
SHEET_TEXT = HEAD + ITEMS + BANDS + VETO


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sheet.toml"
    path.write_text(text, encoding="utf-8")
    return path


def refused(tmp_path: Path, text: str) -> str:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_sheet(path)
    return str(caught.value).replace(str(path), "sheet.toml")


@pytest.fixture
def sheet(tmp_path: Path) -> Sheet:
    return load_sheet(write(tmp_path, SHEET_TEXT))


def test_the_sheet_as_the_dashboard_gets_it_with_the_defaults_filled_in(sheet: Sheet) -> None:
    """GET /api/sheet sends as_json(): every field of the file, in the file's order, with the
    version (1) and the first item's group ("answer") the file leaves out."""
    assert sheet.label == "mini-qa@1"
    assert sheet.as_json() == {
        "id": "mini-qa",
        "version": 1,
        "name_zh": "小评分表",
        "name_en": "Mini sheet",
        "items": [
            {"id": "accuracy", "group": "answer", "name_zh": "准确", "name_en": "Accuracy",
             "weight": 10.0},
            {"id": "tone", "group": "service", "name_zh": "语气", "name_en": "Tone",
             "weight": 20.0},
            {"id": "rest", "group": "service", "name_zh": "其余", "name_en": "The rest",
             "weight": 70.0},
            {"id": "bonus", "group": "extra", "name_zh": "加分", "name_en": "Bonus",
             "weight": 0.0},
        ],
        "bands": [
            {"id": "full", "name_zh": "满", "name_en": "Full", "share": 1.0},
            {"id": "third", "name_zh": "三分之一", "name_en": "A third", "share": 0.3333},
            {"id": "token", "name_zh": "象征", "name_en": "Token", "share": 0.01},
            {"id": "none", "name_zh": "无", "name_en": "None", "share": 0.0},
        ],
        "veto_reasons_zh": ["答复错误", "推诿"],
        "veto_reasons_en": ["Wrong answer", "Passing the buck"],
    }  # fmt: skip


def test_a_version_in_the_file_is_the_sheets_and_it_starts_at_1(tmp_path: Path) -> None:
    assert load_sheet(write(tmp_path, "version = 3\n" + SHEET_TEXT)).label == "mini-qa@3"
    assert refused(tmp_path, "version = 0\n" + SHEET_TEXT) == (
        "sheet.toml: version: expected an integer from 1 to 2147483648, got 0"
    )


def test_a_sheet_without_its_id_names_the_missing_key(tmp_path: Path) -> None:
    text = SHEET_TEXT.replace('id = "mini-qa"\n', "")
    assert refused(tmp_path, text) == "sheet.toml: id: missing; expected a string"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (HEAD + BANDS + VETO, "a score sheet needs [[item]] and [[band]] tables"),
        (HEAD + ITEMS + VETO, "a score sheet needs [[item]] and [[band]] tables"),
        # 10 + 20 + 70.5 + 0: half a point over, far beyond the rounding tolerance
        (SHEET_TEXT.replace("weight = 70", "weight = 70.5"), "the items' weights add up to "
         "100.5, not 100"),
        (SHEET_TEXT.replace("weight = 70", "weight = 69"), "the items' weights add up to 99, "
         "not 100"),
        (SHEET_TEXT.replace('id = "rest"', 'id = "tone"'), "item and band ids must be unique"),
        (SHEET_TEXT.replace('id = "token"', 'id = "third"'), "item and band ids must be unique"),
        (SHEET_TEXT.replace("share = 1\n", "share = 1.01\n"), "band full: share must be from "
         "0 to 1"),
        (SHEET_TEXT.replace("share = 0.01", "share = -0.01"), "[[band]] #3 share: expected a "
         "number of at least 0.0, got -0.01"),
        (SHEET_TEXT.replace("weight = 0", "weight = -1"), "[[item]] #4 weight: expected a "
         "number of at least 0.0, got -1"),
        (SHEET_TEXT.replace('"推诿"]', "]"), "[veto] reasons_zh and reasons_en must pair up"),
        (HEAD + ITEMS + BANDS, "veto: missing; expected a table"),
    ],
)  # fmt: skip
def test_each_check_of_the_sheet_is_one_line_naming_the_file_and_the_fix(
    tmp_path: Path, text: str, message: str
) -> None:
    assert refused(tmp_path, text) == f"sheet.toml: {message}"


def test_weights_that_add_up_to_100_but_for_float_noise_are_accepted(tmp_path: Path) -> None:
    """0.1 + 64.1 + 35.8 is 99.99999999999999 in binary floating point: within the 1e-6
    tolerance, so the sheet is accepted (a sheet author writes decimals)."""
    weights = "\n".join(
        f'[[item]]\nid = "i{n}"\nname_zh = "项"\nname_en = "Item"\nweight = {w}\n'
        for n, w in enumerate(("0.1", "64.1", "35.8"))
    )
    assert sum([0.1, 64.1, 35.8]) != 100  # the noise the tolerance is for
    loaded = load_sheet(write(tmp_path, HEAD + weights + BANDS + VETO))
    assert [i.weight for i in loaded.items] == [0.1, 64.1, 35.8]


def test_points_are_weight_times_share_rounded_to_2_decimals(sheet: Sheet) -> None:
    """accuracy: 10 x 0.3333 = 3.333 -> 3.33; tone: 20 x 0.01 = 0.2; rest: 70 x 0 = 0;
    bonus: 0 x 1 = 0. Total 3.33 + 0.2 = 3.53."""
    result = score(sheet, {"accuracy": "third", "tone": "token", "rest": "none", "bonus": "full"})
    assert result == Result(
        {"accuracy": 3.33, "tone": 0.2, "rest": 0.0, "bonus": 0.0}, 3.53, False, ""
    )


def test_the_total_is_rounded_to_2_decimals_too(sheet: Sheet) -> None:
    """accuracy 10 x 0.01 = 0.1 and tone 20 x 0.01 = 0.2: 0.1 + 0.2 is 0.30000000000000004 in
    floating point; the supervisor reads 0.3."""
    result = score(sheet, {"accuracy": "token", "tone": "token", "rest": "none", "bonus": "none"})
    assert result.total == 0.3


def test_a_veto_keeps_the_items_points_and_makes_the_total_0(sheet: Sheet) -> None:
    """All full: 10 + 20 + 70 + 0 = 100 points, and the veto (in either language) makes it 0."""
    full = {"accuracy": "full", "tone": "full", "rest": "full", "bonus": "full"}
    assert score(sheet, full).total == 100
    for reason in ("推诿", "Passing the buck"):
        assert score(sheet, full, reason) == Result(
            {"accuracy": 10.0, "tone": 20.0, "rest": 70.0, "bonus": 0.0}, 0.0, True, reason
        )


@pytest.mark.parametrize(
    ("bands", "veto", "message"),
    [
        ({"charm": "full", "wit": "full", "accuracy": "full"}, "", "not on the sheet: charm, wit"),
        ({"accuracy": "full", "tone": "full", "rest": "full"}, "", "item bonus has no band chosen"),
        (
            {"accuracy": "superb", "tone": "full", "rest": "full", "bonus": "full"},
            "",
            "item accuracy: unknown band 'superb'",
        ),
        (
            {"accuracy": "full", "tone": "full", "rest": "full", "bonus": "full"},
            "felt like it",
            "unknown veto reason 'felt like it'",
        ),
    ],
)
def test_a_score_that_does_not_fit_the_sheet_says_what_is_wrong(
    sheet: Sheet, bands: dict[str, str], veto: str, message: str
) -> None:
    with pytest.raises(ScoreError) as caught:
        score(sheet, bands, veto)
    assert str(caught.value) == message
