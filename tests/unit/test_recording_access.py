"""Handing out recordings: inside the folder only, every attempt audited."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from hotline.store.db import open_engine, session_factory, write
from hotline.store.models import Recording, RecordingAccess
from recordings.access import AccessRefused, RecordingNotFound, open_recording, safe_path


@pytest.fixture
def store(tmp_path: Path) -> sessionmaker[Session]:
    engine = open_engine(f"sqlite:///{tmp_path / 'h.db'}")
    return session_factory(engine)


def add(factory: sessionmaker[Session], linkedid: str, path: str) -> int:
    with write(factory) as s:
        row = Recording(linkedid=linkedid, path=path, catalogued_at=datetime.now(UTC))
        s.add(row)
        s.flush()
        return row.id


def audit_rows(factory: sessionmaker[Session]) -> list[tuple[int | None, str, str, bool]]:
    with factory() as s:
        rows = s.scalars(select(RecordingAccess).order_by(RecordingAccess.id))
        return [(r.recording_id, r.user, r.action, r.granted) for r in rows]


def test_a_catalogued_file_is_handed_out_and_the_access_audited(
    store: sessionmaker[Session], tmp_path: Path
) -> None:
    root = tmp_path / "rec"
    root.mkdir()
    (root / "1700000000.1.wav").write_bytes(b"RIFF")
    rid = add(store, "1700000000.1", "1700000000.1.wav")
    assert open_recording(store, root, rid, "qa-wang", "listen") == root / "1700000000.1.wav"
    assert audit_rows(store) == [(rid, "qa-wang", "listen", True)]


@pytest.mark.parametrize("stored", ["../etc/passwd", "/etc/passwd", "a/../../x.wav", ""])
def test_a_stored_path_leaving_the_folder_is_refused_and_audited(
    store: sessionmaker[Session], tmp_path: Path, stored: str
) -> None:
    root = tmp_path / "rec"
    root.mkdir()
    rid = add(store, "1700000000.2", stored)
    with pytest.raises(AccessRefused):
        open_recording(store, root, rid, "qa-wang", "download")
    assert audit_rows(store) == [(rid, "qa-wang", "download", False)]


def test_a_symlink_out_of_the_folder_is_refused(
    store: sessionmaker[Session], tmp_path: Path
) -> None:
    root = tmp_path / "rec"
    root.mkdir()
    secret = tmp_path / "secret.wav"
    secret.write_bytes(b"RIFF")
    (root / "x.wav").symlink_to(secret)
    rid = add(store, "1700000000.3", "x.wav")
    with pytest.raises(AccessRefused, match="outside"):
        open_recording(store, root, rid, "qa-wang", "listen")
    with pytest.raises(AccessRefused):
        safe_path(root, "x.wav")


def test_unknown_recording_user_or_action_is_refused_and_audited(
    store: sessionmaker[Session], tmp_path: Path
) -> None:
    with pytest.raises(RecordingNotFound):
        open_recording(store, tmp_path, 99, "qa-wang", "listen")
    with pytest.raises(AccessRefused, match="user"):
        open_recording(store, tmp_path, 99, "bad user\n", "listen")
    with pytest.raises(AccessRefused, match="action"):
        open_recording(store, tmp_path, 99, "qa-wang", "delete-all")
    assert [granted for *_, granted in audit_rows(store)] == [False, False, False]


def test_a_missing_file_is_not_found(store: sessionmaker[Session], tmp_path: Path) -> None:
    rid = add(store, "1700000000.4", "gone.wav")
    with pytest.raises(RecordingNotFound, match="missing"):
        open_recording(store, tmp_path, rid, "qa-wang", "listen")
