from __future__ import annotations

from datetime import date, datetime

import pytest

from ivr.saying import say_amount, say_date, say_digits, say_number
from ivr.validate import id18_check_digit, valid_date, valid_id18, valid_phone
from routing.calendar import Calendar, parse_span


def words(ids: list[str]) -> str:
    return " ".join(i.split("/")[1] for i in ids)


@pytest.mark.parametrize(
    ("n", "zh", "en"),
    [
        (0, "0", "0"),
        (10, "10", "10"),
        (15, "10 5", "15"),
        (105, "1 100 0 5", "1 100 5"),
        (110, "1 100 1 10", "1 100 10"),
        (1005, "1 1000 0 5", "1 1000 5"),
        (10000, "1 10000", "10 1000"),
        (100500, "10 10000 0 5 100", "1 100 1000 5 100"),
        (123456, "10 2 10000 3 1000 4 100 5 10 6", "1 100 20 3 1000 4 100 50 6"),
    ],
)
def test_numbers_are_said_the_chinese_and_the_english_way(n: int, zh: str, en: str) -> None:
    assert words(say_number(n, "zh-CN")) == zh
    assert words(say_number(n, "en")) == en


def test_amount_date_and_digits() -> None:
    assert words(say_amount("1180.50", "zh-CN")) == "1 1000 1 100 8 10 yuan 5 jiao"
    assert words(say_amount("0.05", "zh-CN")) == "0 yuan 5 fen"
    assert words(say_date("202610", "zh-CN")) == "2 0 2 6 year 10 month"
    assert say_digits("12X") == ["num/1", "num/2", "letter_x"]
    with pytest.raises(ValueError):
        say_amount("lots", "en")


def test_resident_id_check_digit_and_birth_date() -> None:
    assert id18_check_digit("11010519491231002") == "X"
    assert valid_id18("11010519491231002X")
    assert valid_id18("330106198005126726")
    assert not valid_id18("330106198005126727")  # wrong check digit
    assert not valid_id18("330106198002306720")  # 30 February
    assert not valid_id18("33010619800512672")  # 17 characters


def test_phone_numbers_and_dates() -> None:
    assert valid_phone("13800138000") and valid_phone("057187654321")
    assert not valid_phone("12800138000") and not valid_phone("123")
    assert valid_date("20240229") and not valid_date("20230229")


def test_office_hours_holidays_and_adjusted_workdays() -> None:
    calendar = Calendar(
        (parse_span("mon-fri 08:30-12:00"), parse_span("mon-fri 13:30-17:00")),
        holidays=frozenset({date(2026, 10, 1)}),
        workdays=frozenset({date(2026, 10, 10)}),  # a Saturday worked (调休)
    )
    assert calendar.is_open(datetime(2026, 11, 23, 9, 0))  # Monday morning
    assert not calendar.is_open(datetime(2026, 11, 23, 12, 30))  # lunch
    assert not calendar.is_open(datetime(2026, 11, 22, 10, 0))  # Sunday
    assert not calendar.is_open(datetime(2026, 10, 1, 10, 0))  # National Day
    assert calendar.is_open(datetime(2026, 10, 10, 10, 0))  # the worked Saturday
    with pytest.raises(ValueError, match="expected 'mon-fri 08:30-12:00'"):
        parse_span("weekdays 9-5")
