"""The schema's revision: Alembic revisions in hotline/store/migrations, run on a connection the
caller
has already locked (PostgreSQL advisory lock, SQLite `BEGIN IMMEDIATE`), so two controllers
starting together never migrate twice.

A new, empty database is brought to the newest revision on first open (there is nothing to
lose). A database with tables is never changed behind the operator's back: when it is behind,
opening it fails with one line naming `hotline db upgrade`, which upgrades it keeping every row.
A database made before hotline kept revisions (no `alembic_version` table) is taken to be the
baseline if it has the baseline's tables and columns, then upgraded from there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, create_engine, inspect

BASELINE = "0001"
VERSION_TABLE = "alembic_version"


class SchemaError(Exception):
    """The database's schema cannot be brought to this hotline's (one line for the user)."""


@dataclass(frozen=True)
class Revision:
    id: str
    message: str


@dataclass(frozen=True)
class Status:
    current: str | None  # None: no revision recorded
    head: str
    has_tables: bool

    @property
    def empty(self) -> bool:
        return self.current is None and not self.has_tables

    @property
    def known(self) -> bool:
        return self.current is None or self.current in {r.id for r in history()}


def _config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", "hotline.store:migrations")
    config.attributes["connection"] = connection
    return config


def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(_config())


def head() -> str:
    found = _scripts().get_current_head()
    assert found is not None  # the baseline exists
    return found


def history() -> list[Revision]:
    """Every revision, oldest first."""
    revisions = list(_scripts().walk_revisions())
    revisions.reverse()
    return [Revision(r.revision, (r.doc or "").strip()) for r in revisions]


def status(connection: Connection) -> Status:
    current = MigrationContext.configure(connection).get_current_revision()
    tables = set(inspect(connection).get_table_names()) - {VERSION_TABLE}
    return Status(current, head(), bool(tables))


def upgrade(
    connection: Connection,
    progress: Callable[[Revision], None] | None = None,
    to: str | None = None,
) -> int:
    """Bring the database to the newest revision (or `to`); returns how many were applied."""
    before = status(connection)
    if not before.known:
        raise SchemaError(
            f"schema revision {before.current} is unknown to this hotline: the database was "
            "made by a newer hotline; upgrade hotline instead"
        )
    if before.current is None and before.has_tables:
        _check_baseline(connection)
        command.stamp(_config(connection), BASELINE)
        if progress is not None:
            progress(Revision(BASELINE, "recognised as the baseline (made before revisions)"))
    current = status(connection).current
    revisions = history()
    ids = [r.id for r in revisions]
    last = ids.index(to) + 1 if to is not None else len(ids)
    pending = revisions[ids.index(current) + 1 if current in ids else 0 : last]
    for revision in pending:
        command.upgrade(_config(connection), revision.id)
        if progress is not None:
            progress(revision)
    return len(pending)


def _check_baseline(connection: Connection) -> None:
    """An unrevisioned database must hold the baseline's tables and columns to be stamped."""
    expected = baseline_tables()
    found = inspect(connection)
    have = set(found.get_table_names())
    for table, columns in sorted(expected.items()):
        if table in have:
            there = {c["name"] for c in found.get_columns(table)}
            missing = [c for c in columns if c not in there]
            if missing:
                raise SchemaError(
                    f"table {table} lacks {', '.join(missing)}: made by a hotline older than "
                    "the first schema revision (2026-12-07); move it aside and start again"
                )
    absent = sorted(set(expected) - have)
    if absent:
        raise SchemaError(
            f"no table {', '.join(absent)}: not made by a hotline of 2026-12-07 or later; "
            "move it aside and start again"
        )


def baseline_tables() -> dict[str, list[str]]:
    """The baseline revision's tables and columns, from running it on an in-memory SQLite."""
    engine = create_engine("sqlite://")
    try:
        with engine.begin() as connection:
            command.upgrade(_config(connection), BASELINE)
            found = inspect(connection)
            return {
                table: [c["name"] for c in found.get_columns(table)]
                for table in found.get_table_names()
                if table != VERSION_TABLE
            }
    finally:
        engine.dispose()
