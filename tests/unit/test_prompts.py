"""The prompt catalogue and `hotline prompts build|check`, with the real espeak-ng and ffmpeg.

espeak-ng and ffmpeg are installed by scripts/setup: a missing one fails these tests.
"""

from __future__ import annotations

import math
import re
import struct
import wave
from pathlib import Path

import pytest

from hotline.cli.main import main
from hotline.tomltables import ConfigError
from ivr.prompts import (
    Catalogue,
    audio_path,
    build,
    catalogue_ids,
    check,
    load_catalogue,
    parse_formats,
)
from tests.conftest import REPO, write_config

LANGUAGES = ("zh-CN", "en")

SMALL = """
[hello]
"zh-CN" = "您好，欢迎致电幺二三三三。For English service, press 8."
en = "Welcome to the hotline."

["num/7"]
"zh-CN" = "七"
en = "seven"
"""


def _catalogue(folder: Path, body: str = SMALL) -> Catalogue:
    path = folder / "prompts.toml"
    path.write_text(body, encoding="utf-8")
    return load_catalogue(path, LANGUAGES)


def _wav(path: Path) -> tuple[int, int, int, float]:
    with wave.open(str(path), "rb") as w:
        return w.getframerate(), w.getnchannels(), w.getsampwidth(), w.getnframes() / 8000


# --- the catalogue -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('[hello]\n"zh-CN" = "您好"\n', "[hello] en: missing; expected the en text"),
        ('[hello]\n"zh-CN" = "您好"\nen = 3\n', "[hello] en: expected the en text, got 3"),
        (
            '[hello]\n"zh_CN" = "您好"\nen = "hi"\n',
            "[hello] zh_CN: expected one of 'zh-CN', 'en', 'file', got '您好'",
        ),
        (
            '[num.7]\n"zh-CN" = "七"\nen = "seven"\n',
            "[num] 7: expected one of 'zh-CN', 'en', 'file'; an id with '/' is written quoted",
        ),
        ('["Bad Id"]\n"zh-CN" = "x"\nen = "x"\n', '["Bad Id"]: expected a prompt id'),
        (
            '[hello]\n"zh-CN" = "您好"\nen = "hi"\nfile.en = "studio/missing.wav"\n',
            "[hello.file] en: expected an existing recording (relative to the catalogue)",
        ),
        (
            '[hello]\n"zh-CN" = "您好"\nen = "hi"\nfile.fr = "a.wav"\n',
            "[hello.file] fr: expected a language: 'zh-CN', 'en'",
        ),
    ],
)
def test_a_catalogue_error_names_the_file_the_key_and_the_expected_form(
    tmp_path: Path, body: str, message: str
) -> None:
    with pytest.raises(ConfigError) as error:
        _catalogue(tmp_path, body)
    assert str(error.value).startswith(f"{tmp_path / 'prompts.toml'}: ")
    assert message in str(error.value)


def test_the_real_catalogue_has_every_prompt_in_both_languages() -> None:
    catalogue = load_catalogue(REPO / "config" / "prompts.toml", LANGUAGES)
    for prompt in catalogue.prompts.values():
        assert prompt.texts["zh-CN"].strip(), prompt.id
        assert prompt.texts["en"].strip(), prompt.id
    expected = {
        *[
            "welcome_lang",
            "recording_notice",
            "main_menu",
            "main_menu_short",
            "invalid",
            "no_input",
        ],
        *["policy_menu", "policy_menu_short", "policy_social_insurance", "policy_employment"],
        *["policy_labour", "policy_personnel", "policy_medical"],
        *["query_enter_id", "query_bad_id", "query_enter_pin", "query_bad_pin", "you_entered"],
        *["letter_x", "confirm_reenter", "query_please_wait", "query_months", "query_last_month"],
        *["query_last_amount", "query_done", "query_not_found", "query_error"],
        *["message_menu", "message_intro", "message_thanks", "message_empty"],
        *["district_menu", "district_invalid", "after_hours", "after_hours_menu", "agents_closed"],
        *["transfer_hold", "straight_hold", "all_busy", "goodbye"],
        *(f"num/{n}" for n in [*range(20), *range(20, 100, 10), 100, 1000, 10000]),
        "num/point",
        *(f"unit/{u}" for u in ["yuan", "jiao", "fen", "year", "month", "months", "day"]),
    }
    assert expected <= set(catalogue.prompts)
    assert catalogue_ids(catalogue.file) == frozenset(catalogue.prompts)
    # one-time notification: the policy texts are complete, and say how to go on
    for name in ("social_insurance", "employment", "labour", "personnel", "medical"):
        prompt = catalogue.prompts[f"policy_{name}"]
        assert prompt.texts["zh-CN"].count("。") >= 4, prompt.id
        assert prompt.texts["en"].endswith("For an agent, press 0."), prompt.id


def test_formats_are_checked() -> None:
    assert parse_formats("wav, ulaw,wav") == ("wav", "ulaw")
    with pytest.raises(Exception, match="--format"):
        parse_formats("mp3")


# --- build -------------------------------------------------------------------------------


def test_build_synthesises_8khz_mono_16bit_wavs_in_both_languages(tmp_path: Path) -> None:
    catalogue = _catalogue(tmp_path)
    out = tmp_path / "out"
    summary = build(catalogue, out, only={"hello"})
    assert summary.failed == []
    assert sorted(summary.built) == ["en hello", "zh-CN hello"]
    for language in LANGUAGES:
        rate, channels, width, seconds = _wav(audio_path(out, language, "hello"))
        assert (rate, channels, width) == (8000, 1, 2)
        assert seconds > 0.3
    # the zh-CN text carries an English sentence: longer than the Chinese alone
    assert _wav(audio_path(out, "zh-CN", "hello"))[3] > 2.5


def test_a_second_build_is_a_no_op_and_a_changed_text_is_rebuilt(tmp_path: Path) -> None:
    catalogue = _catalogue(tmp_path)
    out = tmp_path / "out"
    assert len(build(catalogue, out).built) == 4
    seven = audio_path(out, "en", "num/7")
    assert seven.is_file()
    made = seven.stat().st_mtime_ns

    again = build(catalogue, out)
    assert (again.built, again.up_to_date, again.failed) == ([], 4, [])
    assert seven.stat().st_mtime_ns == made

    changed = _catalogue(tmp_path, SMALL.replace('en = "seven"', 'en = "seven, seven"'))
    third = build(changed, out)
    assert (third.built, third.up_to_date) == (["en num/7"], 3)
    assert seven.stat().st_mtime_ns != made

    seven.unlink()  # a deleted file is remade even though the manifest knows it
    assert build(changed, out).built == ["en num/7"]


def test_a_studio_recording_is_converted_to_8khz_mono(tmp_path: Path) -> None:
    studio = tmp_path / "studio"
    studio.mkdir()
    with wave.open(str(studio / "hello.wav"), "wb") as w:  # 1 s, 44.1 kHz stereo
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(44100)
        tone = (int(8000 * math.sin(2 * math.pi * 440 * i / 44100)) for i in range(44100))
        w.writeframes(b"".join(struct.pack("<hh", s, s) for s in tone))
    body = SMALL.replace(
        'en = "Welcome to the hotline."',
        'en = "Welcome to the hotline."\nfile."zh-CN" = "studio/hello.wav"',
    )
    catalogue = _catalogue(tmp_path, body)
    assert catalogue.prompts["hello"].files == {"zh-CN": studio / "hello.wav"}
    out = tmp_path / "out"
    summary = build(catalogue, out, formats=("wav", "ulaw"), only=["hello"])
    assert summary.failed == []
    rate, channels, width, seconds = _wav(audio_path(out, "zh-CN", "hello"))
    assert (rate, channels, width) == (8000, 1, 2)
    assert seconds == pytest.approx(1.0, abs=0.02)
    ulaw = audio_path(out, "zh-CN", "hello", "ulaw")
    assert ulaw.suffix == ".ulaw"
    assert ulaw.stat().st_size == pytest.approx(8000, abs=160)  # 1 byte a sample, no header

    (studio / "hello.wav").write_bytes((studio / "hello.wav").read_bytes()[:-4000])
    assert build(catalogue, out, only=["hello"]).built == ["zh-CN hello"]  # new take


# --- check -------------------------------------------------------------------------------


def test_check_reports_missing_and_stale_audio_and_unknown_referenced_ids(
    tmp_path: Path,
) -> None:
    catalogue = _catalogue(tmp_path)
    out = tmp_path / "out"
    assert build(catalogue, out, only={"num/7"}).failed == []
    problems = check(catalogue, out, {"hello", "num/7", "query_months"})
    assert problems == [
        "zh-CN hello: no audio (run hotline prompts build)",
        "en hello: no audio (run hotline prompts build)",
        f"query_months: referenced by a flow but not in {catalogue.file}",
    ]
    changed = _catalogue(tmp_path, SMALL.replace('"七"', '"七七"'))
    assert "zh-CN num/7: audio out of date (run hotline prompts build)" in check(changed, out)

    assert build(changed, out).failed == []
    assert check(changed, out, {"hello"}) == []


# --- the CLI ------------------------------------------------------------------------------


def _config(tmp_path: Path, catalogue_body: str = SMALL) -> Path:
    config = write_config(tmp_path / "config")
    (tmp_path / "config" / "prompts.toml").write_text(catalogue_body, encoding="utf-8")
    text = config.read_text(encoding="utf-8")
    text = re.sub(r"(?m)^catalogue = .*$", 'catalogue = "prompts.toml"', text)
    text = re.sub(r"(?m)^build_directory = .*$", 'build_directory = "../prompts"', text)
    # one flow, playing one catalogue prompt and one the catalogue lacks
    flows = tmp_path / "flows"
    flows.mkdir()
    (flows / "tiny.yaml").write_text(TINY_FLOW, encoding="utf-8")
    text = re.sub(r"(?m)^directory = .*flows.*$", f'directory = "{flows}"', text)
    text = re.sub(r"(?m)^entry = .*$", 'entry = "tiny"', text)
    config.write_text(text, encoding="utf-8")
    return config


TINY_FLOW = """schema: 1
flow: tiny
start: hello
agent: bye
nodes:
  hello:
    type: play
    prompts: [hello]
    next: bye
  bye:
    type: hangup
    prompts: [goodbye_missing]
"""


@pytest.mark.parametrize("argv", [["prompts"], ["prompts", "build"], ["prompts", "check"]])
def test_prompts_commands_have_help(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main([*argv, "--help"])
    assert done.value.code == 0
    assert "usage: hotline prompts" in capsys.readouterr().out


def test_cli_check_lists_what_is_missing_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path)
    assert main(["-c", str(config), "prompts", "build", "--only", "num/7"]) == 0
    assert "2 built, 0 up to date, 0 failed" in capsys.readouterr().out
    assert main(["-c", str(config), "prompts", "check"]) == 1
    assert capsys.readouterr().out.splitlines() == [
        "zh-CN hello: no audio (run hotline prompts build)",
        "en hello: no audio (run hotline prompts build)",
        f"goodbye_missing: referenced by a flow but not in {tmp_path / 'config' / 'prompts.toml'}",
    ]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["build", "--only", "nope"], "no prompt 'nope' in"),
        (["build", "--format", "mp3"], "--format: expected a comma-separated list"),
        (["check"], "[hello] en: missing"),
    ],
)
def test_cli_user_errors_are_one_line_and_exit_2(
    tmp_path: Path, argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    body = SMALL if argv[0] == "build" else '[hello]\n"zh-CN" = "您好"\n'
    config = _config(tmp_path, body)
    assert main(["-c", str(config), "prompts", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("hotline: error: ") and err.count("\n") == 1
    assert message in err


def test_cli_build_without_the_tools_is_a_user_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = _config(tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path))  # neither ffmpeg nor espeak-ng on it
    assert main(["-c", str(config), "prompts", "build"]) == 2
    err = capsys.readouterr().err
    assert re.fullmatch(r"hotline: error: (ffmpeg|espeak-ng) not found: install .*\n", err)


def test_latin_runs_in_a_chinese_text_go_to_the_english_voice_at_its_speed() -> None:
    from ivr.prompts import VOICES, _ssml

    assert _ssml("您好。For English, press 8. 再见", VOICES["zh-CN"]) == (
        '<voice name="cmn-latn-pinyin">您好。</voice>'
        '<voice name="en-us"><prosody rate="75%">For English, press 8. </prosody></voice>'
        '<voice name="cmn-latn-pinyin">再见</voice>'
    )
    assert _ssml("请按1", VOICES["zh-CN"]) == '<voice name="cmn-latn-pinyin">请按1</voice>'
    assert _ssml("Q&A <now>", VOICES["en"]) == '<voice name="en-us">Q&amp;A &lt;now&gt;</voice>'
