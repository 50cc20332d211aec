"""The shipped calendar against the State Council's 2026 holiday notice: the five days the
earlier list got wrong, each checked at 10:00 local time (inside the weekday hours)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from hotline.settings import load_directory
from tests.conftest import REPO

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize(
    ("day", "open_"),
    [
        ("2026-01-02", False),  # Friday, part of 元旦 (1-1..1-3)
        ("2026-01-04", True),  # Sunday worked for 元旦
        ("2026-02-23", False),  # Monday, the last day of 春节 (2-15..2-23)
        ("2026-09-20", True),  # Sunday worked for 国庆
        ("2026-09-27", False),  # Sunday inside 中秋 (9-25..9-27): not a working day
        ("2026-09-28", True),  # an ordinary Monday after it
        ("2026-10-10", True),  # Saturday worked for 国庆
    ],
)
def test_the_shipped_calendar_follows_the_2026_notice(day: str, open_: bool) -> None:
    calendar = load_directory(REPO / "config" / "seats.toml").calendar
    at = datetime.fromisoformat(f"{day}T10:00").replace(tzinfo=SHANGHAI)
    assert calendar.is_open(at) is open_
