"""Schema revisions (hotline/store/schema.py, Alembic): a database made at the baseline, with a
morning's
worth of rows in it, is upgraded to the newest revision and every row is still there with the
same values; older or unknown databases are refused in one line naming the fix; the models and
the newest revision describe the same schema. The same scenario runs on PostgreSQL in
tests/stack/test_scale_out.py."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import MetaData, Table, create_engine, select, text

from hotline.cli.main import main
from hotline.store import leases, schema
from hotline.store.db import StoreError, open_engine, upgrade
from hotline.store.models import Base
from tests.conftest import write_config

T = datetime(2026, 12, 7, 9, 0, 0, tzinfo=UTC)

# A morning at the baseline schema: an answered call (leg, IVR path, routing decision,
# recording, score, survey) and a survey job still pending. Written as the baseline's
# own columns, so a revision that loses or changes one is caught.
ROWS: dict[str, list[dict[str, Any]]] = {
    "call": [
        {
            "linkedid": "1765098000.1",
            "channel": "PJSIP/callers-00000001",
            "caller_number": "13800000001",
            "caller_name": "",
            "did": "12333",
            "started_at": T,
            "answered_at": T.replace(minute=1),
            "ended_at": T.replace(minute=5),
            "outcome": "answered",
            "recording": "1765098000.1.wav",
        }
    ],
    "leg": [
        {
            "uniqueid": "1765098000.2",
            "linkedid": "1765098000.1",
            "channel": "PJSIP/agent1001-00000002",
            "endpoint": "agent1001",
            "agent_id": "1001",
            "ring_at": T.replace(minute=1),
            "answered_at": T.replace(minute=1, second=4),
            "ended_at": T.replace(minute=5),
            "dial_status": "ANSWER",
        }
    ],
    "ivr_step": [
        {
            "id": 1,
            "linkedid": "1765098000.1",
            "seq": 1,
            "node": "greeting",
            "outcome": "timeout",
            "entered_at": T,
            "duration_ms": 5200,
        },
        {
            "id": 2,
            "linkedid": "1765098000.1",
            "seq": 2,
            "node": "main_menu",
            "outcome": "digit:0",
            "entered_at": T.replace(second=6),
            "duration_ms": 3100,
        },
    ],
    "route_decision": [
        {
            "id": 1,
            "linkedid": "1765098000.1",
            "decided_at": T.replace(minute=1),
            "post": "pension-city",
            "chain": "post pension-city A 1001 answered",
            "answered_by": "1001",
        }
    ],
    "recording": [
        {
            "id": 1,
            "linkedid": "1765098000.1",
            "path": "2026/12/07/1765098000.1.wav",
            "format": "wav",
            "seconds": 299.5,
            "bytes": 4792044,
            "sha256": "ab" * 32,
            "state": "verified",
            "note": "",
            "caller_path": None,
            "agent_path": None,
            "started_at": T,
            "ended_at": T.replace(minute=5),
            "caller_number": "13800000001",
            "agents": "1001",
            "post": "pension-city",
            "district": "",
            "category": "call",
            "catalogued_at": T.replace(minute=5, second=1),
            "keep_until": datetime(2029, 12, 7, tzinfo=UTC),
            "legal_hold": False,
            "hold_reason": "",
            "archive_path": None,
            "archive_format": None,
            "archive_seconds": None,
            "archive_sha256": None,
            "playback_path": None,
            "processed_at": None,
            "caller_talk": 120.5,
            "agent_talk": 150.25,
            "talk_ratio": 0.8,
            "overlap": 2.5,
            "long_silences": 1,
            "longest_silence": 6.0,
            "purged_at": None,
        }
    ],
    "score": [
        {
            "id": 1,
            "linkedid": "1765098000.1",
            "agent_id": "1001",
            "scorer": "city",
            "sheet": "12333-2026",
            "items": '{"greeting": "excellent"}',
            "vetoed": False,
            "total": 92.5,
            "comment": "clear and complete",
            "created_at": T.replace(hour=10),
            "amends": None,
        }
    ],
    "survey": [
        {
            "id": 1,
            "linkedid": "1765098000.1",
            "caller_number": "13800000001",
            "agent_id": "1001",
            "post": "pension-city",
            "district": "",
            "rating": "satisfied",
            "reason": "",
            "comment": "",
            "channel": "ivr",
            "rated_at": T.replace(minute=6),
        }
    ],
    "survey_job": [
        {
            "id": 1,
            "linkedid": "1765098000.1",
            "number": "13800000001",
            "agent_id": "1001",
            "created_at": T.replace(minute=5),
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": T.replace(minute=35),
            "last_attempt_at": None,
            "result": "",
        }
    ],
}


def make_baseline_with_rows(url: str) -> None:
    """A database at the baseline revision holding ROWS (as an older hotline left it)."""
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            schema.upgrade(conn, to=schema.BASELINE)
            tables = MetaData()
            for name, rows in ROWS.items():
                conn.execute(Table(name, tables, autoload_with=conn).insert(), rows)
    finally:
        engine.dispose()


def assert_rows_kept(url: str) -> None:
    """Every baseline row is still there with the same values in the baseline's columns."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            assert schema.status(conn).current == schema.head()
            tables = MetaData()
            for name, rows in ROWS.items():
                table = Table(name, tables, autoload_with=conn)
                found = [dict(r._mapping) for r in conn.execute(select(table).order_by(text("1")))]
                assert len(found) == len(rows), name
                for want, got in zip(rows, found, strict=True):
                    for column, value in want.items():
                        assert _same(got[column], value), (name, column, got[column], value)
    finally:
        engine.dispose()


def _same(got: Any, want: Any) -> bool:
    if isinstance(want, datetime) and isinstance(got, datetime):
        # SQLite hands back naive UTC, PostgreSQL aware: the same instant either way
        return (got if got.tzinfo else got.replace(tzinfo=UTC)) == want
    return bool(got == want)


def test_a_baseline_database_with_rows_is_upgraded_keeping_every_row(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    make_baseline_with_rows(url)
    upgrade(url)
    assert_rows_kept(url)
    open_engine(url).dispose()  # and the controller opens it


def test_the_models_and_the_newest_revision_describe_the_same_schema(tmp_path: Path) -> None:
    """A model changed without a revision fails here, before any user's database does."""
    engine = create_engine(f"sqlite:///{tmp_path / 'h.db'}")
    assert leases.AgentClaim.__tablename__ in Base.metadata.tables
    with engine.begin() as conn:
        schema.upgrade(conn)
        differences = compare_metadata(
            MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata
        )
    engine.dispose()
    assert differences == []


def test_a_database_behind_the_newest_revision_is_refused_in_one_line_naming_the_fix(
    tmp_path: Path,
) -> None:
    path = tmp_path / "h.db"
    open_engine(f"sqlite:///{path}").dispose()
    with sqlite3.connect(path) as db:
        db.execute("DELETE FROM alembic_version")  # as a hotline of before revisions left it
    with pytest.raises(StoreError, match=r"run `hotline db upgrade` \(it keeps every row\)") as e:
        open_engine(f"sqlite:///{path}")
    assert "\n" not in str(e.value)
    with sqlite3.connect(path) as db:
        db.execute("INSERT INTO alembic_version VALUES ('9999')")  # from a newer hotline
    with pytest.raises(StoreError, match=r"revision 9999, unknown to this hotline") as e:
        open_engine(f"sqlite:///{path}")
    assert "\n" not in str(e.value)


def test_a_database_older_than_the_baseline_is_not_stamped_but_refused(tmp_path: Path) -> None:
    old = tmp_path / "old.db"
    with sqlite3.connect(old) as db:
        db.execute("CREATE TABLE call (linkedid TEXT PRIMARY KEY, caller_number TEXT)")
    with pytest.raises(StoreError, match=r"run `hotline db upgrade`"):
        open_engine(f"sqlite:///{old}")
    with pytest.raises(StoreError, match=r"table call lacks channel, caller_name") as e:
        upgrade(f"sqlite:///{old}")
    assert "\n" not in str(e.value)
    with sqlite3.connect(old) as db:  # nothing was changed
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert tables == {"call"}


def test_hotline_db_upgrade_current_and_history_from_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path)
    text_ = config.read_text()
    url = f"sqlite:///{tmp_path / 'site.db'}"
    config.write_text(text_.replace('url = "sqlite:///hotline.db"', f'url = "{url}"'))
    make_baseline_with_rows(url)
    with sqlite3.connect(tmp_path / "site.db") as db:
        db.execute("DROP TABLE alembic_version")  # made before revisions existed
    assert main(["-c", str(config), "db", "current"]) == 0
    assert "revision none" in capsys.readouterr().out
    assert main(["-c", str(config), "db", "upgrade"]) == 0
    out, err = capsys.readouterr()
    assert f"at revision {schema.head()}" in out
    assert "recognised as the baseline" in err
    assert_rows_kept(url)
    assert main(["-c", str(config), "db", "current"]) == 0
    assert f"revision {schema.head()}; up to date" in capsys.readouterr().out
    assert main(["-c", str(config), "db", "history"]) == 0
    assert capsys.readouterr().out.startswith("0001  baseline")
