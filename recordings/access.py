"""Handing out a recording's file: resolved safely inside the recordings folder, every attempt
audited.

    open_recording(factory, root, recording_id, user, action) -> Path

The supervisor pages and `hotline recordings export` both come through here. Paths come from
the catalogue, never from a request, and are still checked: a stored path that is absolute,
climbs out with `..`, or leads out of `root` through a symlink is refused. Every attempt,
granted or refused, writes one `recording_access` row (who, which recording, when, what for).

Exceptions::

    ValueError
     └─ AccessRefused          refused (bad user/action, path outside the folder, purged)
         └─ RecordingNotFound  no such recording, or its file is gone
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

from sqlalchemy.orm import Session, sessionmaker

from hotline.store.db import write
from hotline.store.models import Recording, RecordingAccess

ACTIONS = frozenset({"listen", "download", "export", "show", "verify", "purge", "hold", "release"})
PARTS = ("best", "mixed", "caller", "agent", "archive", "playback")
_USER = re.compile(r"^(os:)?[\w.@-]{1,80}$")  # os:<account>: the CLI, by its OS user


class AccessRefused(ValueError):
    """The recording may not be handed out (the message says why, in one line)."""


class RecordingNotFound(AccessRefused):
    """No such recording in the catalogue, or its file is not on disk."""


def safe_path(root: Path, relative: str) -> Path:
    """`relative` resolved inside `root`; AccessRefused if it would land anywhere else."""
    if not relative or "\x00" in relative or "\\" in relative:
        raise AccessRefused(f"refused path {relative!r}: empty or not a plain relative path")
    rel = PurePosixPath(relative)
    if rel.is_absolute() or any(part in ("..", "") for part in rel.parts):
        raise AccessRefused(f"refused path {relative!r}: outside the recordings folder")
    base = root.resolve()
    candidate = base.joinpath(*rel.parts)
    resolved = candidate.resolve()  # follows symlinks: one pointing out of root is refused
    if resolved != base and base not in resolved.parents:
        raise AccessRefused(f"refused path {relative!r}: leads outside the recordings folder")
    return resolved


def stored_path(row: Recording, part: str) -> str | None:
    """Which catalogued file a part names ('best': the source if kept, else the archive)."""
    if part == "best":
        return row.path if row.archive_path is None or row.state != "archived" else row.archive_path
    return {
        "mixed": row.path,
        "caller": row.caller_path,
        "agent": row.agent_path,
        "archive": row.archive_path,
        "playback": row.playback_path,
    }.get(part)


def open_recording(
    factory: sessionmaker[Session],
    root: Path,
    recording_id: int,
    user: str,
    action: str,
    *,
    part: str = "best",
    purpose: str = "",
) -> Path:
    """The file of recording `recording_id` for `user` to `action`, after writing the audit row.

    Raises AccessRefused (or RecordingNotFound); the refusal is audited too."""
    detail, granted, path = "", False, None
    try:
        if not _USER.match(user or ""):
            raise AccessRefused(f"refused: {user!r} is not a user name")
        if action not in ACTIONS:
            raise AccessRefused(f"refused: unknown action {action!r}")
        if part not in PARTS:
            raise AccessRefused(f"refused: unknown part {part!r} (one of {', '.join(PARTS)})")
        with factory() as session:
            row = session.get(Recording, recording_id)
            if row is None:
                raise RecordingNotFound(f"no recording {recording_id}")
            if row.purged_at is not None:
                raise RecordingNotFound(f"recording {recording_id} was purged")
            relative = stored_path(row, part)
        if relative is None:
            raise RecordingNotFound(f"recording {recording_id} has no {part} file")
        path = safe_path(root, relative)
        if not path.is_file():
            raise RecordingNotFound(f"recording {recording_id}: file {relative} is missing")
        granted, detail = True, f"{part}: {relative}"
        return path
    except AccessRefused as exc:
        detail = str(exc)
        raise
    finally:
        audit(factory, recording_id, user, action, granted, detail, purpose)


def audit(
    factory: sessionmaker[Session],
    recording_id: int | None,
    user: str,
    action: str,
    granted: bool,
    detail: str = "",
    purpose: str = "",
) -> None:
    """One audit row (names cut to the columns' sizes: a hostile value is kept, not fatal)."""
    with write(factory) as session:
        session.add(
            RecordingAccess(
                recording_id=recording_id,
                user=(user or "?")[:80],
                action=(action or "?")[:40],
                at=datetime.now(UTC),
                granted=granted,
                detail=detail[:400],
                purpose=purpose[:200],
            )
        )
