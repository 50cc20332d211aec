"""Writes that must not be lost when the database is away for a while.

Call records, IVR paths, routing decisions and ratings are written behind the calls: queued
on the event loop, applied in order in a worker thread, several per transaction. When the
database is unavailable (locked past its busy timeout, unreachable, out of disk: SQLAlchemy's
OperationalError) the writes stay queued and are retried, with growing pauses, until it is
back; calls go on meanwhile. A write that fails for its own reason (a bug, a constraint) is
isolated and logged, and never holds up the others.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from hotline.store.db import write

log = logging.getLogger("hotline.store")

Job = Callable[[Session], None]  # adds or changes rows in the session it is given


class WriteBehind:
    def __init__(
        self, sessions: sessionmaker[Session], first_retry: float = 0.5, max_retry: float = 5.0
    ) -> None:
        self.sessions = sessions
        self.first_retry = first_retry
        self.max_retry = max_retry
        self.queue: asyncio.Queue[tuple[str, Job]] = asyncio.Queue()
        self.runner: asyncio.Task[None] | None = None
        self.written = 0
        self.unavailable = False  # the database refused the last attempt

    def submit(self, what: str, job: Job) -> None:
        """Queue a write (from the event loop); `what` names it in log lines."""
        self.queue.put_nowait((what, job))
        if self.runner is None or self.runner.done():
            self.runner = asyncio.get_running_loop().create_task(self.run())

    async def flush(self) -> None:
        """Wait until everything queued so far is written."""
        await self.queue.join()

    def close(self) -> None:
        if self.runner is not None:
            self.runner.cancel()

    def _drain(self, batch: list[tuple[str, Job]]) -> None:
        while not self.queue.empty():
            batch.append(self.queue.get_nowait())

    async def run(self) -> None:
        while True:
            batch = [await self.queue.get()]
            self._drain(batch)
            try:
                await self._write(batch)
            finally:
                for _ in batch:
                    self.queue.task_done()

    async def _write(self, batch: list[tuple[str, Job]]) -> None:
        pause = self.first_retry
        while True:
            try:
                await asyncio.to_thread(self._apply, batch)
            except OperationalError as exc:
                if not self.unavailable:
                    log.warning(
                        "event=store.unavailable kept=%d reason=%r (writes are kept and retried)",
                        len(batch),
                        str(exc.orig),
                    )
                self.unavailable = True
                await asyncio.sleep(pause)
                pause = min(pause * 2, self.max_retry)
                self._drain(batch)  # newer writes join, after the older ones
                continue
            except Exception:
                await asyncio.to_thread(self._isolate, batch)
            if self.unavailable:
                log.warning("event=store.recovered written=%d", len(batch))
                self.unavailable = False
            return

    def _apply(self, batch: list[tuple[str, Job]]) -> None:
        with write(self.sessions) as session:
            for _what, job in batch:
                job(session)
        self.written += len(batch)

    def _isolate(self, batch: list[tuple[str, Job]]) -> None:
        """One transaction per write, so only the faulty one is lost (and logged)."""
        for what, job in batch:
            try:
                self._apply([(what, job)])
            except Exception:
                log.exception("event=store.dropped what=%s", what)
