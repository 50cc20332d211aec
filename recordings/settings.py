"""[recordings]: where calls' audio lives and how it is kept, each default written once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hotline.tomltables import Table, setting, settings_type
from recordings.processing import ArchiveSettings
from recordings.retention import RetentionPolicy


def _retention(t: Table, key: str) -> RetentionPolicy:
    """[recordings.retention_days]: days per category over the shipped ones."""
    base = RetentionPolicy()
    days = dict(base.days)
    table = t.table(key)
    for category in table.data:
        days[category] = table.integer(category, lo=0, hi=36500)
    return RetentionPolicy(days=days, default_days=days.get("general", base.default_days))


def _dump_retention(s: RecordingSettings) -> dict[str, Any]:
    return {"retention_days": dict(s.retention.days)}


@settings_type
class RecordingSettings:
    directory: Path = setting()  # where the controller finds the files
    # the same folder as Asterisk sees it (differs inside a chroot); absent: `directory`
    asterisk_directory: str = setting()
    # format, workers... (keys of [recordings] itself)
    archive: ArchiveSettings = setting(factory=ArchiveSettings, flat=True)
    # days kept per category
    retention: RetentionPolicy = setting(
        factory=RetentionPolicy, key="retention_days", read=_retention, dump=_dump_retention
    )
    process_after_call: bool = setting(default=True)  # archive + QA as soon as a call is catalogued
    # seconds between reconciliation passes (and disk checks)
    reconcile_every: float = setting(default=300.0, lo=1.0)
    # an unfinalised file idle this long is a crash leftover
    settle_seconds: float = setting(default=30.0)
    # seconds to wait for Asterisk to close a file after hang-up
    close_timeout: float = setting(default=10.0)
    disk_warn_free_percent: float = setting(default=15.0)  # alarm below this share of free space
    disk_min_free_mb: int = setting(default=2048, hi=10**9)  # critical below this
    # purge expired recordings on the clock (else: the CLI)
    auto_purge: bool = setting(default=False)
    secure_pause: bool = setting(default=True)  # mute the recording while a PIN (a secret) is keyed
    pause_readback: bool = setting(default=False)  # ... and while an ID number is read back
