"""The recording catalogue: one row per call, kept in step with the recordings folder.

- `catalogue(linkedid)`: after the call ended and Asterisk closed the file (`wait_closed`),
  the row is written with the file's facts (format, duration from the bytes on disk, size,
  sha256) and the call's (times, caller, agents, post, district, category, retention date).
  Idempotent: a second run refreshes the same row, never adds one.
- `reconcile()`: the folder against the catalogue. A finished file without a row is
  catalogued (a crash or a restart lost the hook); a row whose files are gone is marked
  `missing` (never silently dropped); a row whose file grew since is refreshed. A WAV whose
  header was never finalised is repaired from the bytes on disk, or flagged.
- `verify()`, `purge()`, `hold()`, `find()`: integrity, retention and access for the CLI.

Blocking (file and database I/O): the controller calls these from worker threads.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, literal, select
from sqlalchemy.orm import Session, sessionmaker

from hotline.store.db import write
from hotline.store.models import Call, Leg, MutedSpan, Recording, RouteDecision, Ticket
from recordings import naming
from recordings.access import audit
from recordings.processing import Processed, sha256_of
from recordings.retention import (
    DiskState,
    DiskVerdict,
    PurgeCandidate,
    PurgeDecision,
    RetentionPolicy,
    category_of,
    decide_purge,
    disk_verdict,
)
from recordings.wav import NotAWav, repair_header, wav_info

log = logging.getLogger("hotline.recordings")

DistrictOf = Callable[[str, str], str]  # (post id, caller number) -> district id or ""

DISK_FULL = "the recordings disk was full"
FULL_BELOW = 2**20  # bytes free: under this the disk counts as full (about 20 s of one call)


def disk_full_note(free_bytes: int) -> str:
    """Why a call's recording is flagged when the disk was full as it ended, or ''.

    MixMonitor stops writing when the disk fills while the call goes on, and what it leaves
    is a valid, shorter WAV: without this it would pass for the whole call. (Its length is no
    guide: MixMonitor writes nothing through stretches where no audio flows, such as a
    caller waiting on a lookup, so whole recordings also come out shorter than their calls.)"""
    if free_bytes >= FULL_BELOW:
        return ""
    return f"{DISK_FULL} ({free_bytes} bytes free) when the call ended: it may stop short"


@dataclass(frozen=True)
class FileFacts:
    seconds: float
    bytes: int
    sha256: str
    state: str  # ok | repaired | flagged
    note: str = ""


@dataclass
class ReconcileReport:
    catalogued: list[str] = field(default_factory=list)  # files that had no row
    refreshed: list[str] = field(default_factory=list)  # rows whose file changed since
    missing: list[str] = field(default_factory=list)  # rows whose files are gone
    repaired: list[str] = field(default_factory=list)  # unfinalised headers rewritten
    flagged: list[str] = field(default_factory=list)  # unreadable files, for a person
    waiting: list[str] = field(default_factory=list)  # still being written (live calls)
    incomplete: list[str] = field(default_factory=list)  # party files without a mixed file
    stopped: bool = False  # the controller was stopping: the pass ended early, to run again

    def summary(self) -> str:
        return ("stopped-early " if self.stopped else "") + " ".join(
            f"{name}={len(getattr(self, name))}"
            for name in (
                "catalogued",
                "refreshed",
                "missing",
                "repaired",
                "flagged",
                "waiting",
                "incomplete",
            )
        )


@dataclass(frozen=True)
class VerifyResult:
    id: int
    linkedid: str
    status: str  # ok | missing | corrupt | purged
    detail: str = ""


@dataclass(frozen=True)
class Filters:
    since: datetime | None = None
    until: datetime | None = None
    caller: str | None = None
    agent: str | None = None
    district: str | None = None
    category: str | None = None
    include_purged: bool = False


# a recording waiting for its archive and QA
_AWAITING_PROCESSING = (
    Recording.processed_at.is_(None),
    Recording.state.in_(("ok", "repaired")),
    Recording.purged_at.is_(None),
)


class Catalogue:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        root: Path,
        retention: RetentionPolicy | None = None,
        district_of: DistrictOf | None = None,
    ) -> None:
        self.sessions = sessions
        self.root = root
        self.retention = retention or RetentionPolicy()
        self.district_of = district_of or (lambda _post, _number: "")

    # --- files -----------------------------------------------------------------------------

    def wait_closed(self, linkedid: str, timeout: float = 10.0, poll: float = 0.2) -> bool:
        """True once Asterisk finalised the call's WAV header (it does so when it closes it)."""
        path = self.root / naming.file_name(linkedid)
        deadline = time.monotonic() + timeout
        while True:
            try:
                if wav_info(path).header_complete:
                    return True
            except (OSError, NotAWav):
                pass
            if time.monotonic() >= deadline:
                return False
            time.sleep(poll)

    def file_facts(self, path: Path) -> FileFacts:
        """Duration from the bytes on disk; an unfinalised header repaired first, or flagged."""
        size = path.stat().st_size
        try:
            info = wav_info(path)
            state, note = "ok", ""
            if not info.header_complete:
                if info.data_bytes == 0:
                    return FileFacts(0.0, size, sha256_of(path), "flagged", "no audio in file")
                info = repair_header(path)
                state, note = "repaired", "header was never finalised: sizes rewritten"
                log.warning(
                    "event=recording.repaired file=%s seconds=%.2f", path.name, info.seconds
                )
        except NotAWav as exc:
            log.error("event=recording.flagged file=%s reason=%r", path.name, str(exc))
            return FileFacts(0.0, size, sha256_of(path), "flagged", str(exc)[:400])
        return FileFacts(round(info.seconds, 3), path.stat().st_size, sha256_of(path), state, note)

    # --- writing rows ----------------------------------------------------------------------

    def catalogue(self, linkedid: str, now: datetime | None = None) -> Recording | None:
        """Write (or refresh) the call's row from its files; None when there is no file."""
        now = now or datetime.now(UTC)
        mixed = self.root / naming.file_name(linkedid)
        if not mixed.is_file():
            return None
        facts = self.file_facts(mixed)
        parties = {
            p: naming.party_file_name(linkedid, p)
            for p in naming.PARTIES
            if (self.root / naming.party_file_name(linkedid, p)).is_file()
        }
        for name in parties.values():  # per-party files get the same honest header
            try:
                if not wav_info(self.root / name).header_complete:
                    repair_header(self.root / name)
            except (NotAWav, OSError):
                pass
        mtime = datetime.fromtimestamp(mixed.stat().st_mtime, UTC)
        with write(self.sessions) as session:
            row = session.scalars(select(Recording).where(Recording.linkedid == linkedid)).first()
            if row is None:
                row = Recording(linkedid=linkedid, path=mixed.name, catalogued_at=now)
                session.add(row)
            earlier_cut = row.note if (row.note or "").startswith(DISK_FULL) else ""  # stays cut
            row.path, row.format = mixed.name, "wav"
            row.seconds, row.bytes, row.sha256 = facts.seconds, facts.bytes, facts.sha256
            row.state, row.note = facts.state, facts.note
            row.caller_path = parties.get("caller")
            row.agent_path = parties.get("agent")
            self._call_facts(session, row, mtime)
            cut = disk_full_note(shutil.disk_usage(self.root).free) or earlier_cut
            if cut and row.state in ("ok", "repaired"):
                row.state, row.note = "flagged", cut
            session.flush()
            session.expunge(row)
        if cut:
            log.error("event=recording.disk-full linkedid=%s %s", linkedid, cut)
        log.info(
            "event=recording.catalogued linkedid=%s seconds=%.2f bytes=%d state=%s",
            linkedid,
            row.seconds,
            row.bytes,
            row.state,
        )
        return row

    def _call_facts(self, session: Session, row: Recording, file_mtime: datetime) -> None:
        call = session.get(Call, row.linkedid)
        legs = session.scalars(select(Leg).where(Leg.linkedid == row.linkedid)).all()
        posts = session.scalars(
            select(RouteDecision.post)
            .where(RouteDecision.linkedid == row.linkedid, RouteDecision.post != "")
            .order_by(RouteDecision.id)
        ).all()
        tickets = session.scalars(
            select(Ticket.category).where(Ticket.linkedid == row.linkedid)
        ).all()
        answered = [leg.agent_id or leg.endpoint for leg in legs if leg.answered_at is not None]
        row.agents = ",".join(dict.fromkeys(answered))[:200]
        row.post = posts[-1] if posts else ""
        row.caller_number = call.caller_number if call else row.caller_number
        row.category = category_of(list(tickets))
        row.ended_at = _utc(call.ended_at) if call and call.ended_at else file_mtime
        started = (call.answered_at or call.started_at) if call else None
        row.started_at = _utc(started) if started else row.ended_at - timedelta(seconds=row.seconds)
        row.district = self.district_of(row.post, row.caller_number) or row.district
        row.keep_until = self.retention.keep_until(row.category, row.ended_at)

    def apply_processed(self, result: Processed) -> None:
        """Store what processing made; then, the row naming the archive, remove the verified
        source WAVs (a crash before that leaves WAVs beside an archived row, never a row
        pointing at deleted files)."""
        self._store_processed(result)
        for name in result.removable:
            (self.root / name).unlink(missing_ok=True)

    def _store_processed(self, result: Processed) -> None:
        with write(self.sessions) as session:
            row = session.scalars(
                select(Recording).where(Recording.linkedid == result.linkedid)
            ).first()
            if row is None:
                return
            row.archive_path, row.archive_format = result.archive_path, result.archive_format
            row.archive_seconds, row.archive_sha256 = result.archive_seconds, result.archive_sha256
            row.playback_path = result.playback_path
            if result.qa is not None:
                qa = result.qa
                row.caller_talk, row.agent_talk, row.talk_ratio = (
                    qa.caller_talk,
                    qa.agent_talk,
                    qa.talk_ratio,
                )
                row.overlap, row.long_silences = qa.overlap, qa.long_silences
                row.longest_silence = qa.longest_silence
            row.processed_at = datetime.now(UTC)
            if result.problems:
                row.note = ("processing: " + "; ".join(result.problems))[:400]
            if result.removable:
                row.state = "archived"
                if f"{result.linkedid}-caller.wav" in result.removable:
                    row.caller_path = naming.archive_name(
                        result.linkedid, result.archive_format or "mp3", "caller"
                    )
                if f"{result.linkedid}-agent.wav" in result.removable:
                    row.agent_path = naming.archive_name(
                        result.linkedid, result.archive_format or "mp3", "agent"
                    )

    def pending_processing(self, limit: int = 1000) -> list[str]:
        with self.sessions() as session:
            return list(
                session.scalars(
                    select(Recording.linkedid)
                    .where(*_AWAITING_PROCESSING)
                    .order_by(Recording.id)
                    .limit(limit)
                ).all()
            )

    def awaits_processing(self, linkedid: str) -> bool:
        """Still one of `pending_processing`'s: a list read minutes ago may name recordings
        that were processed since."""
        with self.sessions() as session:
            found = session.scalar(
                select(Recording.id).where(Recording.linkedid == linkedid, *_AWAITING_PROCESSING)
            )
            return found is not None

    # --- reconciliation --------------------------------------------------------------------

    def spool(self) -> dict[str, set[str | None]]:
        """linkedid -> which of its files are in the folder (None: the mixed one)."""
        found: dict[str, set[str | None]] = {}
        with os.scandir(self.root) as entries:
            for entry in entries:
                parsed = naming.parse_file_name(entry.name)
                if parsed is not None and entry.is_file(follow_symlinks=False):
                    found.setdefault(parsed[0], set()).add(parsed[1])
        return found

    def reconcile(
        self,
        settle_seconds: float = 30.0,
        now: float | None = None,
        stop: threading.Event | None = None,
    ) -> ReconcileReport:
        """The folder against the catalogue (see the module docstring). `stop`, once set, ends
        the pass between two calls' files: a backlog of thousands (a new database beside an
        old folder) takes minutes, and must not keep a stopping controller alive."""
        report = ReconcileReport()
        now = time.time() if now is None else now
        on_disk = self.spool() if self.root.is_dir() else {}
        with self.sessions() as session:
            rows = {
                r.linkedid: (r.state, r.bytes, r.archive_path)
                for r in session.execute(
                    select(Recording).where(Recording.purged_at.is_(None))
                ).scalars()
            }
        for linkedid, parts in sorted(on_disk.items()):
            if stop is not None and stop.is_set():
                report.stopped = True
                break
            if None not in parts:
                report.incomplete.append(linkedid)
                continue
            mixed = self.root / naming.file_name(linkedid)
            try:
                stat = mixed.stat()
            except FileNotFoundError:  # archived or purged since the folder was listed
                continue
            try:
                complete = wav_info(mixed).header_complete
            except (OSError, NotAWav):
                complete = False
            settled = now - stat.st_mtime >= settle_seconds
            if not complete and not settled:
                report.waiting.append(linkedid)
                continue
            known = rows.get(linkedid)
            if known is not None and known[1] == stat.st_size and known[0] != "missing":
                continue
            row = self.catalogue(linkedid)
            if row is None:
                continue
            (report.catalogued if known is None else report.refreshed).append(linkedid)
            if row.state == "repaired":
                report.repaired.append(linkedid)
            elif row.state == "flagged":
                report.flagged.append(linkedid)
        for linkedid, (state, _size, archive) in rows.items() if not report.stopped else ():
            if linkedid in on_disk and None in on_disk[linkedid]:
                continue
            if state == "archived" and archive and (self.root / archive).is_file():
                continue
            if state != "missing":
                self._mark(linkedid, "missing", "no file in the recordings folder")
            report.missing.append(linkedid)
        level = logging.WARNING if report.missing or report.flagged else logging.INFO
        log.log(level, "event=recordings.reconciled %s", report.summary())
        return report

    def _mark(self, linkedid: str, state: str, note: str) -> None:
        with write(self.sessions) as session:
            row = session.scalars(select(Recording).where(Recording.linkedid == linkedid)).first()
            if row is not None:
                row.state, row.note = state, note
        log.error("event=recording.%s linkedid=%s note=%r", state, linkedid, note)

    # --- reading ---------------------------------------------------------------------------

    def find(self, filters: Filters = Filters(), limit: int | None = None) -> list[Recording]:
        q = select(Recording).order_by(Recording.started_at, Recording.id)
        f = filters
        if not f.include_purged:
            q = q.where(Recording.purged_at.is_(None))
        if f.since:
            q = q.where(Recording.started_at >= f.since)
        if f.until:
            q = q.where(Recording.started_at < f.until)
        if f.caller:
            q = q.where(Recording.caller_number.contains(f.caller, autoescape=True))
        if f.agent:
            padded = literal(",").concat(Recording.agents).concat(",")
            q = q.where(padded.contains(f",{f.agent},", autoescape=True))
        if f.district:
            q = q.where(Recording.district == f.district)
        if f.category:
            q = q.where(Recording.category == f.category)
        if limit:
            q = q.limit(limit)
        with self.sessions() as session:
            return list(session.scalars(q).all())

    def get(self, key: str) -> Recording | None:
        """By id or linkedid."""
        with self.sessions() as session:
            if key.isdigit():
                row = session.get(Recording, int(key))
                if row is not None:
                    return row
            return session.scalars(select(Recording).where(Recording.linkedid == key)).first()

    def muted(self, row: Recording) -> list[tuple[float, float, str]]:
        with self.sessions() as session:
            return muted_spans(session, row)

    # --- integrity and retention -----------------------------------------------------------

    def verify_one(self, row: Recording) -> VerifyResult:
        if row.purged_at is not None:
            return VerifyResult(row.id, row.linkedid, "purged")
        if row.state == "archived" and row.archive_path:
            rel, expected = row.archive_path, row.archive_sha256 or ""
        else:
            rel, expected = row.path, row.sha256
        path = self.root / rel
        if not path.is_file():
            return VerifyResult(row.id, row.linkedid, "missing", rel)
        got = sha256_of(path)
        if got != expected:
            return VerifyResult(row.id, row.linkedid, "corrupt", f"{rel}: sha256 {got[:12]}…")
        return VerifyResult(row.id, row.linkedid, "ok", rel)

    def verify(self, rows: list[Recording]) -> Iterator[VerifyResult]:
        for row in rows:
            result = self.verify_one(row)
            if result.status in ("missing", "corrupt"):
                self._mark(row.linkedid, result.status, result.detail)
            yield result

    def purge_plan(self, now: datetime) -> list[PurgeDecision]:
        with self.sessions() as session:
            rows = session.scalars(
                select(Recording).where(Recording.purged_at.is_(None)).order_by(Recording.id)
            ).all()
            return [
                decide_purge(
                    PurgeCandidate(
                        r.id,
                        r.linkedid,
                        _utc(r.keep_until) if r.keep_until else None,
                        r.legal_hold,
                        False,
                    ),
                    now,
                )
                for r in rows
            ]

    def purge_one(self, decision: PurgeDecision, user: str, now: datetime) -> list[str]:
        """Delete a recording's files (the row stays, marked purged). Re-checks the hold in
        the same transaction: a hold placed since the plan wins."""
        removed: list[str] = []
        with write(self.sessions) as session:
            row = session.get(Recording, decision.id)
            if row is None or row.purged_at is not None:
                return removed
            fresh = decide_purge(
                PurgeCandidate(
                    row.id,
                    row.linkedid,
                    _utc(row.keep_until) if row.keep_until else None,
                    row.legal_hold,
                    False,
                ),
                now,
            )
            if not fresh.purge:
                return removed
            for rel in {
                row.path,
                row.caller_path,
                row.agent_path,
                row.archive_path,
                row.playback_path,
                *(
                    naming.archive_name(row.linkedid, row.archive_format, p)
                    for p in naming.PARTIES
                    if row.archive_format
                ),
            }:
                if rel and (self.root / rel).is_file():
                    (self.root / rel).unlink()
                    removed.append(rel)
            row.purged_at, row.state = now, "purged"
        audit(self.sessions, decision.id, user, "purge", True, ", ".join(removed)[:400])
        log.info("event=recording.purged linkedid=%s files=%d", decision.linkedid, len(removed))
        return removed

    def hold(self, key: str, on: bool, reason: str, user: str) -> Recording:
        row = self.get(key)
        if row is None:
            audit(self.sessions, None, user, "hold" if on else "release", False, f"no {key!r}")
            raise LookupError(f"no recording {key!r}")
        with write(self.sessions) as session:
            live = session.get(Recording, row.id)
            assert live is not None
            live.legal_hold, live.hold_reason = on, reason[:200] if on else ""
            session.flush()
            session.expunge(live)
        audit(self.sessions, row.id, user, "hold" if on else "release", True, reason[:400])
        return live

    def disk(self, warn_free_percent: float, min_free_bytes: int) -> DiskVerdict:
        """How much room is left for recording, judged against the last hour's rate."""
        target = self.root if self.root.exists() else self.root.parent
        usage = shutil.disk_usage(target)
        since = datetime.now(UTC) - timedelta(hours=1)
        with self.sessions() as session:
            recent = session.scalar(
                select(func.coalesce(func.sum(Recording.bytes), 0)).where(
                    Recording.catalogued_at >= since
                )
            )
        state = DiskState(usage.free, usage.total, float(recent or 0))
        return disk_verdict(state, warn_free_percent, min_free_bytes)


def muted_spans(session: Session, row: Recording) -> list[tuple[float, float, str]]:
    """A recording's muted spans (secure pause) as (from, to, kind) in seconds from its start
    by the clock, rounded to 0.1 s: `muted: [[12.3, 19.8, "pin"]]` on the CLI and the page."""
    if row.started_at is None:
        return []
    start = _utc(row.started_at)
    spans = session.scalars(
        select(MutedSpan).where(MutedSpan.linkedid == row.linkedid).order_by(MutedSpan.started_at)
    ).all()
    return [
        (
            round((_utc(s.started_at) - start).total_seconds(), 1),
            round((_utc(s.ended_at) - start).total_seconds(), 1),
            s.kind,
        )
        for s in spans
    ]


def _utc(value: datetime) -> datetime:
    """SQLite gives naive datetimes back: they were stored as UTC."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)
