"""How long recordings are kept, what may be purged, and when disk space calls for an alarm.

Pure decisions: no I/O. The catalogue applies them; APScheduler is only the clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

CATEGORIES = ("general", "message", "complaint", "report")


@dataclass(frozen=True)
class RetentionPolicy:
    """Days kept after the call ended, per category (complaint calls longer)."""

    days: Mapping[str, int] = field(
        default_factory=lambda: {"general": 180, "message": 365, "complaint": 1095, "report": 1095}
    )
    default_days: int = 180

    def keep_until(self, category: str, ended_at: datetime) -> datetime:
        return ended_at + timedelta(days=self.days.get(category, self.default_days))


@dataclass(frozen=True)
class PurgeCandidate:
    id: int
    linkedid: str
    keep_until: datetime | None
    legal_hold: bool
    purged: bool


@dataclass(frozen=True)
class PurgeDecision:
    id: int
    linkedid: str
    purge: bool
    reason: str  # "expired 2026-01-01", "legal hold", "kept until ...", "no retention date"


def decide_purge(candidate: PurgeCandidate, now: datetime) -> PurgeDecision:
    """A recording is purged only when its retention date has passed and no hold is on it."""
    c = candidate
    if c.purged:
        return PurgeDecision(c.id, c.linkedid, False, "already purged")
    if c.legal_hold:
        return PurgeDecision(c.id, c.linkedid, False, "legal hold")
    if c.keep_until is None:
        return PurgeDecision(c.id, c.linkedid, False, "no retention date")
    if c.keep_until > now:
        return PurgeDecision(c.id, c.linkedid, False, f"kept until {c.keep_until:%Y-%m-%d}")
    return PurgeDecision(c.id, c.linkedid, True, f"expired {c.keep_until:%Y-%m-%d}")


def category_of(ticket_categories: list[str]) -> str:
    """A call's category from the tickets it raised: the one kept longest wins."""
    for category in ("complaint", "report", "message"):
        if category in ticket_categories:
            return category
    return "general"


@dataclass(frozen=True)
class DiskState:
    free_bytes: int
    total_bytes: int
    bytes_per_hour: float  # recent recording rate, to say how long the space lasts


@dataclass(frozen=True)
class DiskVerdict:
    level: str  # ok | warning | critical
    message: str


def disk_verdict(state: DiskState, warn_free_percent: float, min_free_bytes: int) -> DiskVerdict:
    """Alarm early: 'warning' below the configured free share, 'critical' below the floor.

    The message says how many hours of recording the free space still holds."""
    percent = 100.0 * state.free_bytes / state.total_bytes if state.total_bytes else 0.0
    hours = state.free_bytes / state.bytes_per_hour if state.bytes_per_hour > 0 else float("inf")
    lasts = "for hours unknown" if hours == float("inf") else f"for about {hours:.1f} h"
    text = f"{state.free_bytes / 2**20:.0f} MiB free ({percent:.1f}%), recording can go on {lasts}"
    if state.free_bytes < min_free_bytes:
        return DiskVerdict("critical", text)
    if percent < warn_free_percent:
        return DiskVerdict("warning", text)
    return DiskVerdict("ok", text)
