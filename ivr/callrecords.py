"""Stores the call tracker's changes: a queue on the event loop, writes in a worker thread.

AMI callbacks must never block (Asterisk drops a reader that stalls), so events are only
queued there; this writer drains the queue in batches and upserts rows off the loop.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging

from sqlalchemy.orm import Session, sessionmaker

from store.db import write
from store.models import Call, IvrStep, Leg

from .calltracker import CallSnapshot, Change
from .runtime import Step

log = logging.getLogger("hotline.calls")


class CallRecordWriter:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions
        self.queue: asyncio.Queue[Change] = asyncio.Queue()
        self.written = 0

    def submit(self, changes: list[Change]) -> None:
        for change in changes:
            self.queue.put_nowait(change)

    async def run(self) -> None:
        while True:
            batch = [await self.queue.get()]
            while not self.queue.empty():
                batch.append(self.queue.get_nowait())
            try:
                await asyncio.to_thread(self._store, batch)
            except Exception:
                log.exception("event=store.failed changes=%d", len(batch))
            finally:
                for _ in batch:
                    self.queue.task_done()

    async def flush(self) -> None:
        await self.queue.join()

    def _store(self, batch: list[Change]) -> None:
        with write(self.sessions) as session:
            for _kind, snap in batch:
                row = dataclasses.asdict(snap)
                session.merge(Call(**row) if isinstance(snap, CallSnapshot) else Leg(**row))
        self.written += len(batch)


def save_ivr_path(
    sessions: sessionmaker[Session], linkedid: str, steps: list[Step], first: int = 0
) -> None:
    """The nodes one call went through, in order (written when its IVR session ends; an
    in-call survey's nodes follow from `first` on)."""
    with write(sessions) as session:
        session.add_all(
            IvrStep(
                linkedid=linkedid,
                seq=first + n,
                node=s.node,
                outcome=s.outcome,
                entered_at=s.started,
                duration_ms=int(s.seconds * 1000),
            )
            for n, s in enumerate(steps)
        )
