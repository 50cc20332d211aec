"""`hotline db upgrade|current|history`: the database's schema revision, and upgrading it in
place (every row kept) when a new hotline needs a newer one."""

from __future__ import annotations

import argparse
import sys

from hotline.cli.common import Subparsers, settings_of
from hotline.store import db, schema


def add_parser(sub: Subparsers) -> None:
    parser = sub.add_parser(
        "db",
        help="the database's schema revision; upgrade it keeping every row",
        description="upgrade: bring the database ([database] url) to this hotline's newest "
        "schema revision, keeping every row (stop the controllers first; a database made "
        "before revisions existed is recognised as the baseline); current: the database's "
        "revision and the newest; history: every revision, oldest first.",
    )
    parser.add_argument("action", choices=["upgrade", "current", "history"])
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.action == "history":
        for revision in schema.history():
            print(f"{revision.id}  {revision.message.splitlines()[0]}")
        return 0
    url = settings_of(args).database_url
    label = db.engine_label(url)
    if args.action == "current":
        found = db.current(url)
        if found.empty:
            print(f"{label}: empty (made at revision {found.head} when first opened)")
        else:
            at = found.current or "none (made before revisions; baseline once upgraded)"
            state = "up to date" if found.current == found.head else f"newest is {found.head}"
            print(f"{label}: revision {at}; {state}")
        return 0

    def applied(revision: schema.Revision) -> None:
        print(f"  applied {revision.id}  {revision.message.splitlines()[0]}", file=sys.stderr)

    count = db.upgrade(url, applied)
    newest = schema.head()
    print(f"{label}: at revision {newest}" + (f" ({count} applied)" if count else " already"))
    return 0
