"""The engine and sessions. Tables are created on start (create-on-start; see README).

Two back-ends: SQLite, the embedded default, and PostgreSQL (`postgresql+psycopg://...`, the
psycopg 3 driver) when several controllers share one database. On PostgreSQL the tables are
created under a transaction-scoped advisory lock, so two controllers starting together do not
race each other's CREATE TABLE; connections are checked before use (a restarted server).

SQLite runs in WAL mode with `synchronous=NORMAL` and a busy timeout, and every write
transaction begins with `BEGIN IMMEDIATE`: a read-then-write transaction under the default
deferred mode fails at once with "database is locked" when another writer is active.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from .models import Base


class StoreError(Exception):
    """The database cannot be opened or written (one line for the user)."""


CREATE_LOCK = 12333  # PostgreSQL advisory lock key held while tables are created


def open_engine(url: str) -> Engine:
    from . import leases  # noqa: F401  (its tables are created with the others)

    try:
        engine = create_engine(url, pool_pre_ping=not url.startswith("sqlite"))
        if engine.dialect.name == "sqlite":
            _tune_sqlite(engine)
            Base.metadata.create_all(engine)
        elif engine.dialect.name == "postgresql":
            with engine.begin() as conn:
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": CREATE_LOCK})
                Base.metadata.create_all(conn)
        else:
            raise StoreError(
                f"the database {engine_label(url)}: hotline runs on SQLite or PostgreSQL "
                f"(postgresql+psycopg://...), not {engine.dialect.name}"
            )
        _check_schema(engine, url)
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
    return engine


def _check_schema(engine: Engine, url: str) -> None:
    """Tables are created on start but never altered: an older database is refused plainly."""
    found = inspect(engine)
    for table in Base.metadata.sorted_tables:
        have = {c["name"] for c in found.get_columns(table.name)}
        missing = [c.name for c in table.columns if c.name not in have]
        if missing:
            raise StoreError(
                f"the database {engine_label(url)} was made by an older hotline: table "
                f"{table.name} lacks {', '.join(missing)}. There are no migrations yet: move "
                "the file aside (or delete it) and start again"
            )


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
