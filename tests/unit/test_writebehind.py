"""Writes behind the calls: kept in order while the database is away, retried until stored;
a faulty write is dropped alone and logged."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from hotline.store.db import open_engine, session_factory
from hotline.store.models import Call
from hotline.store.writebehind import Job, WriteBehind

T0 = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)


def call(linkedid: str) -> Call:
    return Call(linkedid=linkedid, started_at=T0)


def adding(row: Call) -> Job:
    return lambda session: session.add(row)


def test_writes_are_kept_while_the_database_is_away_and_stored_in_order(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    sessions = session_factory(open_engine(f"sqlite:///{tmp_path / 'h.db'}"))
    store = WriteBehind(sessions, first_retry=0.01, max_retry=0.02)
    away = {"left": 3}  # the database refuses the next three transactions

    def refuse(_session: Session) -> None:
        if away["left"]:
            away["left"] -= 1
            raise OperationalError("INSERT", {}, Exception("database is locked"))

    async def scenario() -> None:
        store.submit("gate", refuse)
        for n in range(5):
            store.submit("call", adding(call(f"c{n}")))
        await asyncio.wait_for(store.flush(), 5)
        store.close()

    with caplog.at_level(logging.WARNING, "hotline.store"):
        asyncio.run(scenario())
    with sessions() as session:
        assert session.scalars(select(Call.linkedid).order_by(Call.linkedid)).all() == [
            f"c{n}" for n in range(5)
        ]
    events = [r.getMessage().split()[0] for r in caplog.records]
    assert events == ["event=store.unavailable", "event=store.recovered"]  # once each


def test_a_faulty_write_is_dropped_alone_and_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    sessions = session_factory(open_engine(f"sqlite:///{tmp_path / 'h.db'}"))
    store = WriteBehind(sessions)

    def broken(_session: Session) -> None:
        raise ValueError("a bug")

    async def scenario() -> None:
        store.submit("call", adding(call("before")))
        store.submit("broken", broken)
        store.submit("call", adding(call("after")))
        await asyncio.wait_for(store.flush(), 5)
        store.close()

    with caplog.at_level(logging.ERROR, "hotline.store"):
        asyncio.run(scenario())
    with sessions() as session:
        assert sorted(session.scalars(select(Call.linkedid))) == ["after", "before"]
    assert [r.getMessage() for r in caplog.records] == ["event=store.dropped what=broken"]
