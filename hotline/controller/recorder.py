"""The controller's side of recording: catalogue each call once Asterisk closed its files,
process it (archive, QA) with bounded concurrency, and keep the folder and the catalogue in
step on the clock (reconciliation, disk-space alarm, optional purge).

All file and database work runs in worker threads (`asyncio.to_thread`); the AMI callback
only schedules it, so it never blocks the event loop.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable, Coroutine
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy.exc import OperationalError

from hotline.pbx.calltracker import CallSnapshot, Change
from recordings import naming
from recordings.catalogue import Catalogue
from recordings.processing import process
from recordings.settings import RecordingSettings

log = logging.getLogger("hotline.recordings")

STARTED_CHECK_SECONDS = 3.0  # after answer, the call's recording must exist by then
LOCKED_RETRIES = (1.0, 2.0, 4.0, 8.0)  # pauses when SQLite says the database is locked

T = TypeVar("T")


async def _stored(work: Callable[..., T], *args: object) -> T:
    """`work` in a worker thread, tried again while SQLite answers 'database is locked': a
    busy minute (hundreds of calls ending) keeps writers queued past the busy timeout."""
    for pause in LOCKED_RETRIES:
        try:
            return await asyncio.to_thread(work, *args)
        except OperationalError:
            await asyncio.sleep(pause)
    return await asyncio.to_thread(work, *args)


class Recorder:
    def __init__(
        self,
        settings: RecordingSettings,
        catalogue: Catalogue,
        calls_stored: Callable[[], Awaitable[None]],
    ) -> None:
        self.settings = settings
        self.calls_stored = calls_stored  # waits until the call rows are written
        self.catalogue = catalogue
        self.workers = asyncio.Semaphore(settings.archive.workers)
        self.tasks: set[asyncio.Task[None]] = set()
        self.in_hand: set[str] = set()  # linkedids queued for a worker or being processed
        # set when the controller stops: a reconciliation running in its worker thread ends
        # (cancelling the task cannot stop the thread, and the process waits for it)
        self.stopping = threading.Event()

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(work)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def on_changes(self, changes: list[Change]) -> None:
        """From the AMI callback: schedule, never block."""
        for kind, snap in changes:
            if not isinstance(snap, CallSnapshot):
                continue
            if kind == "call.answered":
                self._spawn(self.check_started(snap.linkedid))
            elif kind == "call.ended":
                self._spawn(self.after_call(snap.linkedid))

    async def check_started(self, linkedid: str) -> None:
        """Recording must never stop (or fail to start) silently."""
        await asyncio.sleep(STARTED_CHECK_SECONDS)
        path = self.settings.directory / naming.file_name(linkedid)
        if not await asyncio.to_thread(path.exists):
            log.error(
                "event=recording.not-started linkedid=%s file=%s (check MixMonitor, the folder "
                "and disk space)",
                linkedid,
                path,
            )

    async def after_call(self, linkedid: str) -> None:
        try:
            await self.calls_stored()
            closed = await asyncio.to_thread(
                self.catalogue.wait_closed, linkedid, self.settings.close_timeout
            )
            if not closed:
                log.warning("event=recording.not-closed linkedid=%s (repairing)", linkedid)
            row = await _stored(self.catalogue.catalogue, linkedid)
            if row is None:
                log.error("event=recording.missing linkedid=%s (the call had no file)", linkedid)
                return
            if self.settings.process_after_call and row.state in ("ok", "repaired"):
                await self.process(linkedid)
        except OperationalError as exc:  # not lost: the clock's reconciliation catalogues it
            log.error(
                "event=recording.catalogue-deferred linkedid=%s reason=%r",
                linkedid,
                str(exc.orig),
            )
        except Exception:
            log.exception("event=recording.catalogue-failed linkedid=%s", linkedid)

    async def process(self, linkedid: str) -> None:
        # A maintenance pass walks a list of what awaits processing while fresh calls' tasks
        # queue for the same workers: under a backlog, by the pass's turn those tasks had
        # done most of its list, and it ran ffmpeg on them again (seen in the capacity
        # bench's 10-minute run). So a recording queued here once, and looked at again once
        # a worker is free.
        if linkedid in self.in_hand:
            return
        self.in_hand.add(linkedid)
        try:
            async with self.workers:
                if not await _stored(self.catalogue.awaits_processing, linkedid):
                    return
                result = await asyncio.to_thread(
                    process, self.settings.directory, linkedid, self.settings.archive
                )
                await _stored(self.catalogue.apply_processed, result)
        finally:
            self.in_hand.discard(linkedid)
        if result.problems:
            log.warning(
                "event=recording.process-problem linkedid=%s problems=%r",
                linkedid,
                result.problems,
            )
        else:
            log.info(
                "event=recording.processed linkedid=%s archive=%s removed=%d",
                linkedid,
                result.archive_path,
                len(result.removable),
            )

    async def maintain(self) -> None:
        """The clock's job: reconcile, check the disk, process what is pending, purge."""
        try:
            await asyncio.to_thread(
                self.catalogue.reconcile, self.settings.settle_seconds, None, self.stopping
            )
            verdict = await asyncio.to_thread(
                self.catalogue.disk,
                self.settings.disk_warn_free_percent,
                self.settings.disk_min_free_mb * 2**20,
            )
            if verdict.level != "ok":
                (log.critical if verdict.level == "critical" else log.warning)(
                    "event=recordings.disk-%s folder=%s %s",
                    verdict.level,
                    self.settings.directory,
                    verdict.message,
                )
            if self.settings.process_after_call:
                # a backlog (after an outage) one at a time: fresh calls keep the other workers
                pending = await asyncio.to_thread(self.catalogue.pending_processing)
                for linkedid in pending:
                    if self.stopping.is_set():
                        break
                    await self.process(linkedid)
            if self.settings.auto_purge:
                await asyncio.to_thread(self._purge)
        except Exception:
            log.exception("event=recordings.maintenance-failed")

    def _purge(self) -> None:
        now = datetime.now(UTC)
        for decision in self.catalogue.purge_plan(now):
            if decision.purge:
                self.catalogue.purge_one(decision, "hotline-clock", now)

    def start(self) -> None:
        """On controller start: one maintenance pass at once (a crash's leftovers first)."""
        self._spawn(self.maintain())

    async def close(self) -> None:
        self.stopping.set()
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
