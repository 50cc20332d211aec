"""`hotline recordings ...`: list, show, export, verify, purge, hold, reconcile, process.

Filters (list, export, verify): --from/--to (dates or times in the seat directory's time
zone), --caller (part of the number), --agent (an agent id), --district, --category. Long
runs draw a progress bar on a terminal. Mistakes give one line and exit 2.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import pwd
import shutil
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TextIO
from zoneinfo import ZoneInfo

from hotline.cli.common import Subparsers, settings_of
from hotline.controller.assembly import open_database, recording_catalogue
from hotline.settings import Settings
from hotline.store.models import Recording
from ivr.masking import mask_number
from recordings.access import AccessRefused, audit, open_recording
from recordings.catalogue import Catalogue, Filters
from recordings.processing import bounded, process
from recordings.retention import CATEGORIES


class RecordingCommandError(Exception):
    """A wrong argument or an impossible request (one line)."""


class Progress:
    """A small text progress bar on stderr, drawn only on a terminal."""

    def __init__(self, total: int, label: str, stream: TextIO | None = None) -> None:
        self.total, self.label, self.done = total, label, 0
        self.stream = stream or sys.stderr
        self.shown = self.stream.isatty() and total > 1

    def step(self, note: str = "") -> None:
        self.done += 1
        if not self.shown:
            return
        width = 30
        filled = width * self.done // max(self.total, 1)
        bar = "#" * filled + "." * (width - filled)
        self.stream.write(f"\r{self.label} [{bar}] {self.done}/{self.total} {note[:30]:<30}")
        if self.done >= self.total:
            self.stream.write("\n")
        self.stream.flush()


def _catalogue(settings: Settings) -> Catalogue:
    """The catalogue as the controller builds it (hotline/controller/assembly.py)."""
    return recording_catalogue(settings, open_database(settings), lambda: settings.directory)


def _when(text: str | None, zone: ZoneInfo, flag: str) -> datetime | None:
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise RecordingCommandError(
            f"{flag}: expected a date or time like 2026-11-28 or 2026-11-28T09:30, got {text!r}"
        ) from None
    return (value if value.tzinfo else value.replace(tzinfo=zone)).astimezone(UTC)


def _filters(args: argparse.Namespace, zone: ZoneInfo) -> Filters:
    since = _when(args.since, zone, "--from")
    until = _when(args.until, zone, "--to")
    if until is not None and args.until and len(args.until) == 10:
        until += timedelta(days=1)  # --to 2026-11-28 includes that day
    return Filters(
        since=since,
        until=until,
        caller=args.caller,
        agent=args.agent,
        district=args.district,
        category=args.category,
    )


def _local(value: datetime | None, zone: ZoneInfo) -> str:
    if value is None:
        return "-"
    return (
        (value if value.tzinfo else value.replace(tzinfo=UTC))
        .astimezone(zone)
        .strftime("%Y-%m-%d %H:%M:%S")
    )


def _row_line(r: Recording, zone: ZoneInfo) -> str:
    return (
        f"{r.id:>6}  {r.linkedid:<22} {_local(r.started_at, zone)}  {r.seconds:>8.1f}s  "
        f"{mask_number(r.caller_number):<14} {r.agents or '-':<12} {r.post or '-':<20} "
        f"{r.district or '-':<10} {r.category:<9} {r.state:<8}{'  HOLD' if r.legal_hold else ''}"
    )


def _get(cat: Catalogue, key: str, user: str, action: str) -> Recording:
    row = cat.get(key)
    if row is None:
        audit(cat.sessions, None, user, action, False, f"no recording {key!r}"[:400])
        raise RecordingCommandError(f"no recording {key!r} (give an id or a linkedid)")
    return row


def os_user() -> str:
    """Who runs the command, for the audit: `os:<account>` of the process's user id, which the
    person cannot choose the way they could a --user text or $USER (dashboard names have no
    ':', so the two never mix)."""
    return "os:" + pwd.getpwuid(os.getuid()).pw_name


def run(args: argparse.Namespace) -> int:
    settings = settings_of(args)
    logging.basicConfig(level=logging.WARNING, format="hotline: %(message)s", force=True)
    zone = ZoneInfo(settings.directory.timezone)
    cat = _catalogue(settings)
    action: str = args.action
    user = os_user()
    handlers: dict[str, Callable[[], int]] = {
        "list": lambda: _list(cat, args, zone),
        "show": lambda: _show(cat, args.recording, user, zone),
        "export": lambda: _export(cat, args, user, zone),
        "verify": lambda: _verify(cat, args, zone),
        "purge": lambda: _purge(cat, args.dry_run, user),
        "hold": lambda: _hold(cat, args, user),
        "reconcile": lambda: _reconcile(cat, settings),
        "process": lambda: _process(cat, settings, args.limit),
    }
    return handlers[action]()


def _list(cat: Catalogue, args: argparse.Namespace, zone: ZoneInfo) -> int:
    rows = cat.find(_filters(args, zone), limit=args.limit)
    print(
        f"{'id':>6}  {'linkedid':<22} {'started':<19}  {'length':>9}  {'caller':<14} "
        f"{'agents':<12} {'post':<20} {'district':<10} {'category':<9} state"
    )
    for r in rows:
        print(_row_line(r, zone))
    print(f"{len(rows)} recording(s)")
    return 0


def _show(cat: Catalogue, key: str, user: str, zone: ZoneInfo) -> int:
    r = _get(cat, key, user, "show")
    audit(cat.sessions, r.id, user, "show", True, "catalogue entry")
    fields = [
        ("id", r.id),
        ("linkedid", r.linkedid),
        ("file", r.path),
        ("format", r.format),
        ("seconds", f"{r.seconds:.2f}"),
        ("bytes", r.bytes),
        ("sha256", r.sha256),
        ("state", r.state + (f" ({r.note})" if r.note else "")),
        ("caller part", r.caller_path or "-"),
        ("agent part", r.agent_path or "-"),
        ("started", _local(r.started_at, zone)),
        ("ended", _local(r.ended_at, zone)),
        ("caller", mask_number(r.caller_number)),
        ("agents", r.agents or "-"),
        ("post", r.post or "-"),
        ("district", r.district or "-"),
        ("category", r.category),
        ("keep until", _local(r.keep_until, zone)),
        ("legal hold", f"yes: {r.hold_reason}" if r.legal_hold else "no"),
        ("archive", f"{r.archive_path} ({r.archive_format}, {r.archive_seconds} s)")
        if r.archive_path
        else ("archive", "-"),
        ("playback", r.playback_path or "-"),
        (
            "QA",
            f"caller talk {r.caller_talk} s, agent side {r.agent_talk} s, ratio {r.talk_ratio}, "
            f"overlap {r.overlap} s, silences > 30 s: {r.long_silences} "
            f"(longest {r.longest_silence} s)"
            if r.processed_at
            else "not processed yet",
        ),
        ("purged", _local(r.purged_at, zone) if r.purged_at else "no"),
        # seconds from the start, silent on purpose (a PIN keyed, an ID read back)
        ("muted", json.dumps([list(span) for span in cat.muted(r)], ensure_ascii=False)),
    ]
    for name, value in fields:
        print(f"{name + ':':<13}{value}")
    return 0


def _export(cat: Catalogue, args: argparse.Namespace, user: str, zone: ZoneInfo) -> int:
    target = Path(args.out)
    if target.exists() and not target.is_dir():
        raise RecordingCommandError(f"--out {target}: not a folder")
    if args.recordings:
        rows = [_get(cat, key, user, "export") for key in args.recordings]
    else:
        filters = _filters(args, zone)
        if filters == Filters():
            raise RecordingCommandError("export: name recordings or give at least one filter")
        rows = cat.find(filters)
    target.mkdir(parents=True, exist_ok=True)
    progress, refused = Progress(len(rows), "export"), 0
    for r in rows:
        try:
            path = open_recording(cat.sessions, cat.root, r.id, user, "export", part=args.part)
        except AccessRefused as exc:
            print(f"refused {r.id} {r.linkedid}: {exc}", file=sys.stderr)
            refused += 1
        else:
            shutil.copy2(path, target / path.name)
            print(f"{r.id} {r.linkedid} -> {target / path.name}")
        progress.step(r.linkedid)
    print(f"exported {len(rows) - refused} of {len(rows)}")
    return 1 if refused else 0


def _verify(cat: Catalogue, args: argparse.Namespace, zone: ZoneInfo) -> int:
    rows = cat.find(_filters(args, zone))
    progress, bad, counts = Progress(len(rows), "verify"), 0, {"ok": 0}
    for result in cat.verify(rows):
        counts[result.status] = counts.get(result.status, 0) + 1
        if result.status != "ok":
            bad += 1
            print(f"{result.status.upper()}: {result.id} {result.linkedid} {result.detail}")
        progress.step(result.linkedid)
    print("verified " + ", ".join(f"{k}={v}" for k, v in sorted(counts.items())))
    return 1 if bad else 0


def _purge(cat: Catalogue, dry_run: bool, user: str) -> int:
    now = datetime.now(UTC)
    plan = cat.purge_plan(now)
    due = [d for d in plan if d.purge]
    held = [d for d in plan if d.reason == "legal hold"]
    for d in held:
        print(f"kept {d.id} {d.linkedid}: legal hold")
    if dry_run:
        for d in due:
            print(f"would purge {d.id} {d.linkedid}: {d.reason}")
        print(f"dry run: {len(due)} to purge, {len(held)} held, {len(plan) - len(due)} kept")
        return 0
    progress, files = Progress(len(due), "purge"), 0
    for d in due:
        removed = cat.purge_one(d, user, now)
        files += len(removed)
        print(f"purged {d.id} {d.linkedid}: {d.reason} ({len(removed)} files)")
        progress.step(d.linkedid)
    print(f"purged {len(due)} recording(s), {files} file(s); {len(held)} held")
    return 0


def _hold(cat: Catalogue, args: argparse.Namespace, user: str) -> int:
    if not args.release and not args.reason:
        raise RecordingCommandError("hold: give --reason (e.g. a case number), or --release")
    try:
        row = cat.hold(args.recording, not args.release, args.reason or "", user)
    except LookupError as exc:
        raise RecordingCommandError(str(exc)) from None
    state = f"on hold: {row.hold_reason}" if row.legal_hold else "released"
    print(f"{row.id} {row.linkedid} {state}")
    return 0


def _reconcile(cat: Catalogue, settings: Settings) -> int:
    rec = settings.recordings
    if not cat.root.is_dir():
        raise RecordingCommandError(f"{cat.root}: no such folder ([recordings] directory)")
    report = cat.reconcile(rec.settle_seconds)
    for name in ("catalogued", "refreshed", "repaired", "flagged", "missing", "waiting"):
        for linkedid in getattr(report, name):
            print(f"{name}: {linkedid}")
    print(report.summary())
    verdict = cat.disk(rec.disk_warn_free_percent, rec.disk_min_free_mb * 2**20)
    print(f"disk {verdict.level}: {verdict.message}")
    return 1 if report.flagged or report.missing or verdict.level != "ok" else 0


def _process(cat: Catalogue, settings: Settings, limit: int) -> int:
    pending = cat.pending_processing(limit)
    archive = settings.recordings.archive
    progress, failed = Progress(len(pending), "process"), 0
    for linkedid, outcome in bounded(
        pending, lambda lid: process(cat.root, lid, archive), archive.workers
    ):
        if isinstance(outcome, BaseException):
            failed += 1
            print(f"failed {linkedid}: {outcome}", file=sys.stderr)
        else:
            cat.apply_processed(outcome)
            if outcome.problems:
                failed += 1
                print(f"problem {linkedid}: {'; '.join(outcome.problems)}", file=sys.stderr)
            else:
                print(f"processed {linkedid} -> {outcome.archive_path}")
        progress.step(linkedid)
    print(f"processed {len(pending) - failed} of {len(pending)}")
    return 1 if failed else 0


def add_parser(sub: Subparsers) -> None:
    rec = sub.add_parser(
        "recordings",
        help="the recording catalogue: list, show, export, verify, purge, hold, reconcile",
        description="Every call's recording: find, hear (export), check and keep them. "
        "Every export and show is written to the access audit with the operating-system "
        "account that ran it.",
    )
    acts = rec.add_subparsers(dest="action", metavar="ACTION", required=True)

    def filtered(p: argparse.ArgumentParser) -> None:
        p.add_argument("--from", dest="since", metavar="WHEN", help="started at or after")
        p.add_argument(
            "--to", dest="until", metavar="WHEN", help="started before (a date: to its end)"
        )
        p.add_argument("--caller", help="part of the caller's number")
        p.add_argument("--agent", help="an agent id, e.g. 1001")
        p.add_argument("--district", help="a district id, e.g. xihu")
        p.add_argument("--category", choices=CATEGORIES)

    ls = acts.add_parser("list", help="list catalogued recordings", description="List recordings.")
    filtered(ls)
    ls.add_argument("--limit", type=int, default=None, help="at most this many")
    show = acts.add_parser(
        "show", help="one recording's catalogue entry", description="Show one recording."
    )
    show.add_argument("recording", help="its id or linkedid")
    ex = acts.add_parser(
        "export",
        help="copy recordings' files to a folder (audited)",
        description="Copy recordings (by id/linkedid, or all matching the filters) to --out.",
    )
    ex.add_argument("recordings", nargs="*", metavar="RECORDING", help="ids or linkedids")
    ex.add_argument("--out", required=True, metavar="FOLDER", help="the folder to copy into")
    ex.add_argument(
        "--part",
        default="best",
        choices=["best", "mixed", "caller", "agent", "archive", "playback"],
        help="which file (default best: the WAV while kept, else the archive copy)",
    )
    filtered(ex)
    ver = acts.add_parser(
        "verify",
        help="re-hash files, report missing or corrupt ones",
        description="Re-hash every (matching) recording against its catalogued sha256; exit 1 "
        "if any is missing or corrupt.",
    )
    filtered(ver)
    pu = acts.add_parser(
        "purge",
        help="delete recordings past their retention date (legal holds kept)",
        description="Delete the files of recordings whose retention date has passed and that "
        "carry no legal hold; rows stay, marked purged, and each purge is audited.",
    )
    pu.add_argument("--dry-run", action="store_true", help="only say what would be purged")
    ho = acts.add_parser(
        "hold",
        help="put a legal hold on a recording (or --release it)",
        description="A held recording is never purged.",
    )
    ho.add_argument("recording", help="its id or linkedid")
    ho.add_argument("--reason", help="why (e.g. a case number)")
    ho.add_argument("--release", action="store_true", help="lift the hold")
    acts.add_parser(
        "reconcile",
        help="compare the recordings folder with the catalogue, and check disk space",
        description="Catalogue finished files without a row, mark rows without files missing, "
        "repair unfinalised WAV headers, report the disk space left. Exit 1 on a problem.",
    )
    pr = acts.add_parser(
        "process",
        help="archive and measure recordings not processed yet",
        description="Archive copies (verified), playback copy and QA measures, with "
        "[recordings] workers at once.",
    )
    pr.add_argument("--limit", type=int, default=1000, help="at most this many (default 1000)")
    rec.set_defaults(func=run)
