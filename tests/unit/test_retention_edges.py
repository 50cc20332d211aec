"""The retention policy's edges, worked out by hand (found by mutation testing, issue 21):
days kept per category, when a recording may be purged (a hold or a retention date still
ahead keeps it; the date itself is expired), which category a call takes, and the disk
alarm's levels and message."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from recordings.retention import (
    DiskState,
    DiskVerdict,
    PurgeCandidate,
    PurgeDecision,
    RetentionPolicy,
    category_of,
    decide_purge,
    disk_verdict,
)

ENDED = datetime(2026, 1, 1, 10, 0, tzinfo=UTC)
MIB = 2**20


@pytest.mark.parametrize(
    ("category", "days"),
    [("general", 180), ("message", 365), ("complaint", 1095), ("report", 1095), ("other", 180)],
)
def test_days_kept_per_category_by_default(category: str, days: int) -> None:
    assert RetentionPolicy().keep_until(category, ENDED) == ENDED + timedelta(days=days)


def test_a_configured_default_applies_to_an_unlisted_category() -> None:
    policy = RetentionPolicy(days={"general": 10}, default_days=20)
    assert policy.keep_until("message", ENDED) == ENDED + timedelta(days=20)


NOW = datetime(2026, 6, 30, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("keep_until", "hold", "purged", "decision"),
    [
        (NOW, False, False, (True, "expired 2026-06-30")),  # the date itself: expired
        (NOW - timedelta(days=1), False, False, (True, "expired 2026-06-29")),
        (NOW + timedelta(microseconds=1), False, False, (False, "kept until 2026-06-30")),
        (NOW - timedelta(days=1), True, False, (False, "legal hold")),
        (None, False, False, (False, "no retention date")),
        (NOW - timedelta(days=1), True, True, (False, "already purged")),
    ],
)
def test_purged_only_when_the_date_is_reached_and_nothing_holds_it(
    keep_until: datetime | None, hold: bool, purged: bool, decision: tuple[bool, str]
) -> None:
    found = decide_purge(PurgeCandidate(7, "1795.1", keep_until, hold, purged), NOW)
    assert found == PurgeDecision(7, "1795.1", *decision)


@pytest.mark.parametrize(
    ("tickets", "category"),
    [
        (["message", "complaint"], "complaint"),
        (["message", "report"], "report"),
        (["report", "complaint"], "complaint"),
        (["message"], "message"),
        ([], "general"),
    ],
)
def test_a_call_takes_the_category_kept_longest(tickets: list[str], category: str) -> None:
    assert category_of(tickets) == category


def test_the_disk_alarm_levels_and_how_long_the_space_lasts() -> None:
    # 100 MiB free of 1000 MiB (10.0%), recording 50 MiB an hour: 2.0 h left
    state = DiskState(100 * MIB, 1000 * MIB, 50 * MIB)
    text = "100 MiB free (10.0%), recording can go on for about 2.0 h"
    assert disk_verdict(state, 10.0, 100 * MIB) == DiskVerdict("ok", text)  # at the limits: ok
    assert disk_verdict(state, 10.1, 100 * MIB) == DiskVerdict("warning", text)
    assert disk_verdict(state, 10.0, 100 * MIB + 1) == DiskVerdict("critical", text)
    assert disk_verdict(state, 50.0, 200 * MIB) == DiskVerdict("critical", text)  # worst wins
    idle = DiskState(100 * MIB, 1000 * MIB, 0.0)  # nothing recorded lately
    assert disk_verdict(idle, 10.0, 0).message.endswith("can go on for hours unknown")
    # any recent recording, however slow, gives a figure: 1 MiB at 1 byte an hour
    slow = DiskState(MIB, 10 * MIB, 1.0)
    assert disk_verdict(slow, 0.0, 0).message.endswith("can go on for about 1048576.0 h")
    unknown = DiskState(0, 0, 1.0)  # no size known: 0 % free
    assert disk_verdict(unknown, 10.0, 0).message.startswith("0 MiB free (0.0%)")
