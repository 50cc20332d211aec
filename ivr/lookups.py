"""Data the IVR looks up for callers: a pluggable source per name, and the shipped example.

A source answers `query(inputs)` with a dict of fields (found), None (not found), or raises
`LookupFailed`. The example is a SQLite table of social-insurance contribution records keyed by
resident ID number, with the caller's query PIN stored as a salted hash, never in clear.
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import hmac
import sqlite3
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol


class LookupFailed(Exception):
    pass


class LookupSource(Protocol):
    async def query(self, inputs: Mapping[str, str]) -> dict[str, str] | None: ...


def pin_hash(id_number: str, pin: str) -> str:
    return hashlib.pbkdf2_hmac("sha256", pin.encode(), id_number.encode(), 20_000).hex()


class SqliteContributions:
    """`contribution(id_number, pin_hash, months, last_month, last_amount)`; inputs: id, pin."""

    def __init__(self, path: Path, delay: float = 0.0) -> None:
        self.path = path
        self.delay = delay  # seconds: lets the demo and tests show a slow back end

    def seed(self, csv_file: Path) -> int:
        """Create the table from a CSV of id_number,pin,months,last_month,last_amount, unless
        the database is newer than the CSV already. Returns the rows loaded."""
        if self.path.exists() and self.path.stat().st_mtime >= csv_file.stat().st_mtime:
            return 0
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with csv_file.open(encoding="utf-8") as fh, sqlite3.connect(self.path) as db:
            db.execute(
                "CREATE TABLE IF NOT EXISTS contribution (id_number TEXT PRIMARY KEY, "
                "pin_hash TEXT, months INTEGER, last_month TEXT, last_amount TEXT)"
            )
            rows = [
                (
                    r["id_number"],
                    pin_hash(r["id_number"], r["pin"]),
                    int(r["months"]),
                    r["last_month"],
                    r["last_amount"],
                )
                for r in csv.DictReader(fh)
            ]
            db.executemany("INSERT OR REPLACE INTO contribution VALUES (?, ?, ?, ?, ?)", rows)
        return len(rows)

    async def query(self, inputs: Mapping[str, str]) -> dict[str, str] | None:
        if self.delay:
            await asyncio.sleep(self.delay)
        return await asyncio.to_thread(self._query, inputs.get("id", ""), inputs.get("pin", ""))

    def _query(self, id_number: str, pin: str) -> dict[str, str] | None:
        try:
            with sqlite3.connect(f"file:{self.path}?mode=ro", uri=True) as db:
                row = db.execute(
                    "SELECT pin_hash, months, last_month, last_amount FROM "
                    "contribution WHERE id_number = ?",
                    (id_number,),
                ).fetchone()
        except sqlite3.Error as exc:
            raise LookupFailed(f"contribution records unavailable: {exc}") from None
        if row is None or not hmac.compare_digest(row[0], pin_hash(id_number, pin)):
            return None
        return {"months": str(row[1]), "last_month": row[2], "last_amount": row[3]}
