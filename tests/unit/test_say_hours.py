"""The after-hours prompts say the service hours from the calendar: change the calendar and
callers hear the change. Expected words written out by hand for the shipped hours."""

from __future__ import annotations

import pytest

from hotline.settings import load_directory
from ivr.flow import load_flows
from ivr.interpreter import FlowRun, Play
from ivr.prompts import catalogue_ids
from ivr.saying import say_hours
from routing.calendar import Calendar, parse_span
from tests.conftest import REPO

SHIPPED = "mon-fri 08:30-12:00;mon-fri 13:30-17:00"


def test_the_shipped_calendar_writes_its_hours_back_as_configured() -> None:
    calendar = load_directory(REPO / "config" / "seats.toml").calendar
    assert calendar.hours_text() == SHIPPED


@pytest.mark.parametrize("text", ["sat-mon 09:00-24:00", "sun 10:00-11:15", "mon-sun 00:00-24:00"])
def test_a_span_written_back_reads_the_same(text: str) -> None:
    assert Calendar((parse_span(text),)).hours_text() == text


def test_zh_hours_are_said_the_chinese_way() -> None:
    assert say_hours(SHIPPED, "zh-CN") == [
        *["day/mon", "word/to", "day/fri"],
        *["time/am", "num/8", "unit/oclock", "num/3", "num/10", "unit/minute"],
        "word/to",
        *["time/noon", "num/10", "num/2", "unit/oclock"],  # 中午十二点
        "word/and",
        *["time/pm", "num/1", "unit/oclock", "num/3", "num/10", "unit/minute"],
        "word/to",
        *["time/pm", "num/5", "unit/oclock"],
    ]


def test_en_hours_are_said_the_english_way() -> None:
    assert say_hours("mon-fri 08:05-12:00;sat 12:30-24:00", "en") == [
        *["day/mon", "word/to", "day/fri"],
        *["num/8", "num/0", "num/5", "time/am"],  # eight oh five a.m.
        "word/to",
        *["num/12", "time/noon"],
        "word/and",
        "day/sat",
        *["num/12", "num/30", "time/pm", "word/to", "time/midnight"],
    ]


def test_every_word_the_hours_use_is_in_the_prompt_catalogue() -> None:
    ids = catalogue_ids(REPO / "config" / "prompts.toml")
    words = set(say_hours("mon-sun 00:00-24:00;sat 13:45-17:59", "zh-CN"))
    words |= set(say_hours("tue 01:01-12:00;thu 08:30-12:00", "en"))
    words |= {f"day/{d}" for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    assert words <= ids


def test_the_after_hours_prompt_says_the_hours_from_the_flow_variable() -> None:
    flow = load_flows(REPO / "dialplans" / "flows")["12333"]
    later = "mon-fri 09:00-17:00"  # the calendar changed: the prompt follows
    run = FlowRun(flow, variables={"mode": "menu", "district": "", "service_hours": later})
    run.advance("timeout")  # greeting
    run.advance("done")  # recording notice
    run.advance("closed")
    assert run.instruction() == Play(
        (
            "after_hours",
            *["day/mon", "word/to", "day/fri"],
            *["time/am", "num/9", "unit/oclock", "word/to", "time/pm", "num/5", "unit/oclock"],
        )
    )
    run.advance("done")
    assert run.instruction() == Play(("after_hours_end",))
