"""The engine and sessions. The schema is versioned (hotline/store/schema.py, Alembic revisions): a
new
database is made at the newest revision on first open; an older one is refused with one line
naming `hotline db upgrade`.

Two back-ends: SQLite, the embedded default, and PostgreSQL (`postgresql+psycopg://...`, the
psycopg 3 driver) when several controllers share one database. On PostgreSQL the schema is
checked (and a new database made) under a transaction-scoped advisory lock, so two controllers
starting together do not race each other's CREATE TABLE; connections are checked before use
(a restarted server).

SQLite runs in WAL mode with `synchronous=NORMAL` and a busy timeout, and every write
transaction begins with `BEGIN IMMEDIATE`: a read-then-write transaction under the default
deferred mode fails at once with "database is locked" when another writer is active.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from hotline.store import schema


class StoreError(Exception):
    """The database cannot be opened or written (one line for the user)."""


SCHEMA_LOCK = 12333  # PostgreSQL advisory lock key held while the schema is checked or changed
UPGRADE = "hotline db upgrade"


def open_engine(url: str) -> Engine:
    """The engine, on a database at this hotline's schema revision (a new one is made so)."""
    engine = _engine(url)
    problem = ""
    with _translated(url), engine.begin() as conn:
        _lock(conn)
        found = schema.status(conn)
        if found.empty:
            schema.upgrade(conn)
        elif found.current != found.head:
            problem = _behind(url, found)
    if problem:
        engine.dispose()
        raise StoreError(problem)
    return engine


def upgrade(url: str, progress: Callable[[schema.Revision], None] | None = None) -> int:
    """`hotline db upgrade`: bring the database to the newest revision, keeping every row."""
    engine = _engine(url)
    try:
        with _translated(url), engine.begin() as conn:
            _lock(conn)
            return schema.upgrade(conn, progress)
    except schema.SchemaError as exc:
        raise StoreError(f"the database {engine_label(url)}: {exc}") from None
    finally:
        engine.dispose()


def current(url: str) -> schema.Status:
    """`hotline db current`: the database's revision and this hotline's newest."""
    engine = _engine(url)
    try:
        with _translated(url), engine.connect() as conn:
            return schema.status(conn)
    finally:
        engine.dispose()


def _behind(url: str, found: schema.Status) -> str:
    where = f"the database {engine_label(url)}"
    if found.current is None:
        return (
            f"{where} was made before hotline versioned its schema: run `{UPGRADE}` "
            "(it keeps every row)"
        )
    if not found.known:
        return (
            f"{where} is at schema revision {found.current}, unknown to this hotline "
            f"(newest {found.head}): it was made by a newer hotline; upgrade hotline"
        )
    return (
        f"{where} is at schema revision {found.current}, this hotline needs {found.head}: "
        f"run `{UPGRADE}` (it keeps every row)"
    )


def _engine(url: str) -> Engine:
    with _translated(url):
        engine = create_engine(url, pool_pre_ping=not url.startswith("sqlite"))
        if engine.dialect.name == "sqlite":
            _tune_sqlite(engine)
        elif engine.dialect.name != "postgresql":
            raise StoreError(
                f"the database {engine_label(url)}: hotline runs on SQLite or PostgreSQL "
                f"(postgresql+psycopg://...), not {engine.dialect.name}"
            )
    return engine


def _lock(conn: Connection) -> None:
    """Keep a second controller out while the schema is read or changed (SQLite: the
    transaction's BEGIN IMMEDIATE already does)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK})


@contextmanager
def _translated(url: str) -> Iterator[None]:
    """The driver's and SQLAlchemy's errors as one line for the user."""
    try:
        yield
    except SQLAlchemyError as exc:
        raise StoreError(
            f"cannot open the database {engine_label(url)}: {exc.__class__.__name__}: "
            f"{str(exc.orig) if hasattr(exc, 'orig') else exc}"
        ) from None
    except (ValueError, ImportError) as exc:  # a malformed URL (its port), no such driver
        # (the URL is not shown: it may not parse, so its password could not be hidden)
        raise StoreError(
            f"[database] url: not a database hotline can open ({exc.__class__.__name__}): "
            "expected sqlite:///FILE or postgresql+psycopg://USER:PASSWORD@HOST:PORT/NAME"
        ) from None


def engine_label(url: str) -> str:
    """The URL without its password, for messages."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _tune_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA busy_timeout=5000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def write(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One write transaction: committed on success, rolled back on error."""
    with factory() as session, session.begin():
        yield session
