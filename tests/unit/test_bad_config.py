"""Broken configuration and flow files, as an admin meets them: `hotline dialplan check`
prints one line naming the file, the key or line, and what is expected; exit status 2; never
a traceback. Extends tests/unit/test_config.py (the loader's messages) and test_cli.py (the
flows in tests/data/broken_flows) with the classes they do not cover: wrong types, missing
tables, unreadable and non-UTF-8 files, folders where files belong, seat directory mistakes.
Secrets never appear in these messages (tests/unit/test_secrets.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hotline.cli.main import main
from tests.conftest import run_hotline, write_config

# (file, old text, new text, words the one line must hold besides the file's name)
TOML_CASES = {
    "port-text": ("hotline.toml", "port = 5038", 'port = "5038"', ["[ami] port", "expected"]),
    "table-as-text": ("hotline.toml", "[fastagi]\n", 'fastagi = "x"\n[other]\n', ["fastagi"]),
    "missing-table": (
        "hotline.toml",
        "[recordings]\n",
        "[recordingz]\n",
        ["recordings: missing; expected a table"],
    ),
    "bind-no-port": (
        "hotline.toml",
        'bind = "127.0.0.1:',
        'bind = "127.0.0.1;',
        ["[fastagi] bind", "host:port"],
    ),
    "agi-kind": ("hotline.toml", "[dialplan]\n", '[dialplan]\nagi = "sip"\n', ["agi", "fastagi"]),
    "languages-not-list": (
        "hotline.toml",
        "[prompts]\n",
        '[prompts]\nlanguages = "zh-CN"\n',
        ["[prompts] languages", "a list of strings"],
    ),
    "timeout-negative": (
        "hotline.toml",
        "[fastagi]\n",
        "[fastagi]\nheader_timeout = -5\n",
        ["[fastagi] header_timeout", "at least"],
    ),
    "flag-as-text": (
        "hotline.toml",
        "[flows]\n",
        '[flows]\nstraight_to_agent = "yes"\n',
        ["[flows] straight_to_agent", "true or false"],
    ),
    "lookup-kind": (
        "hotline.toml",
        'kind = "sqlite-contributions"',
        'kind = "oracle"',
        ["[lookups.contributions] kind", "sqlite-contributions"],
    ),
    "survey-hours": ("hotline.toml", "[surveys]\n", '[surveys]\nhours = "9 to 5"\n', ["hours"]),
    "toml-syntax": ("hotline.toml", "[ami]\n", "[ami\n", ["not valid TOML", "line"]),
    "duplicate-key": ("hotline.toml", "port = 5038", "port = 5038\nport = 5039", ["TOML"]),
    "seats-missing": ("hotline.toml", 'seats = "seats.toml"', 'seats = "nope.toml"', ["nope"]),
    "office-kind": (
        "seats.toml",
        'kind = "city"',
        'kind = "county-town"',
        ["seats.toml", "kind", "'city' or 'district'"],
    ),
    "agent-unknown-seat": (
        "seats.toml",
        'seat = "agent1001"',
        'seat = "agent9999"',
        ["seats.toml", "agent9999"],
    ),
    "seats-syntax": ("seats.toml", "[[seat]]", "[[seat]", ["seats.toml", "not valid TOML"]),
}


def one_line_error(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.count("\n") == 1 and err.startswith("hotline: error: "), err
    assert "Traceback" not in err
    return err


@pytest.mark.parametrize("case", sorted(TOML_CASES))
def test_a_broken_configuration_is_one_line_naming_file_key_and_fix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    name, old, new, words = TOML_CASES[case]
    config = write_config(tmp_path)
    target = tmp_path / name
    text = target.read_text(encoding="utf-8")
    assert old in text, old
    target.write_text(text.replace(old, new, 1), encoding="utf-8")
    err = one_line_error(capsys, ["-c", str(config), "dialplan", "check"])
    assert str(tmp_path) in err
    for word in words:
        assert word in err, (word, err)


# (file, damage) -> the one line after "hotline: error: <folder>/"
DAMAGED = {
    ("hotline.toml", "not-utf8"): "hotline.toml: not UTF-8 text (byte 2): save the file as UTF-8",
    ("seats.toml", "not-utf8"): "seats.toml: not UTF-8 text (byte 2): save the file as UTF-8",
    ("hotline.toml", "folder"): "hotline.toml: cannot read: Is a directory",
    ("seats.toml", "folder"): "seats.toml: cannot read: Is a directory",
    ("hotline.toml", "empty"): "hotline.toml: ami: missing; expected a table",
    # an empty seat directory shows as the fallback seats it no longer lists
    ("seats.toml", "empty"): "hotline.toml: [dialplan] fallback_seats: expected endpoints "
    "listed in the seat directory, got 'agent1001'",
}


@pytest.mark.parametrize("which", ["hotline.toml", "seats.toml"])
@pytest.mark.parametrize("damage", ["not-utf8", "folder", "empty"])
def test_an_unreadable_or_damaged_file_is_one_line_too(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], which: str, damage: str
) -> None:
    config = write_config(tmp_path)
    target = tmp_path / which
    if damage == "not-utf8":
        target.write_bytes(("# 杭州\n" + target.read_text(encoding="utf-8")).encode("gbk"))
    elif damage == "folder":
        target.unlink()
        target.mkdir()
    elif damage == "empty":
        target.write_text("")
    else:
        target.write_text("")
    err = one_line_error(capsys, ["-c", str(config), "dialplan", "check"])
    # an empty seat directory shows as the fallback seats it no longer lists
    print("PROBE", which, damage, err)
    assert which in err or (damage == "empty" and "seat directory" in err), err


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("schema: 1\nflow: x\nnodes: {}\n".encode("gbk") + "# 中文\n".encode("gbk"), ["UTF-8"]),
        (b"", ["schema"]),
        (b"- just\n- a list\n", ["mapping"]),
        (b"schema: 1\nstart: a\nagent: a\nnodes:\n  a: [1, 2]\n", ["node 'a'"]),
        (b"schema: one\n", ["schema"]),
    ],
    ids=["not-utf8", "empty", "a-list", "node-not-a-mapping", "schema-text"],
)
def test_a_damaged_flow_file_is_reported_with_its_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes, words: list[str]
) -> None:
    flows = tmp_path / "flows"
    flows.mkdir()
    (flows / "bad.yaml").write_bytes(content)
    config = write_config(tmp_path / "cfg")
    code = main(["-c", str(config), "dialplan", "check", str(flows)])
    err = capsys.readouterr().err.removeprefix("hotline: error: ")
    assert code == 2 and "Traceback" not in err
    lines = err.splitlines()  # every problem at once, one line each, each with its place
    assert lines and all(line.startswith(f"{flows / 'bad.yaml'}:") for line in lines), err
    for word in words:
        assert word in err, (word, err)


def test_as_a_process_exit_status_2_and_no_traceback(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    (tmp_path / "seats.toml").write_bytes(b"\xff\xfe[[office]]\n")
    result = run_hotline(config, "dialplan", "check")
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1 and "seats.toml" in result.stderr
