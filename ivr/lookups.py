"""Data the IVR looks up for callers: a pluggable source per name, and the shipped example.

A source answers `query(inputs)` with a dict of fields (found), None (not found), or raises
`LookupFailed`. The example is a SQLite table of social-insurance contribution records keyed by
resident ID number, with the caller's query PIN stored as a memory-hard hash (scrypt) with a
random salt per record, never in clear.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import functools
import hashlib
import hmac
import secrets
import sqlite3
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Protocol, TypeVar

T = TypeVar("T")


class LookupFailed(Exception):
    pass


class LookupSource(Protocol):
    async def query(self, inputs: Mapping[str, str]) -> dict[str, str] | None: ...


class OwnThreads:
    """A source's blocking calls, each in a daemon thread of its own.

    A back end that hangs (a share whose server is gone, a server that never answers) then
    holds one thread of its own, not a worker of asyncio's shared executor, which routing and
    the store use (six stuck lookups filled it on two cores), and not the controller's exit
    (that executor is joined when the loop closes: SIGTERM waited for ever). `limit` caps the
    threads a hung back end can pile up; past it a lookup fails at once."""

    def __init__(self, limit: int = 8) -> None:
        self.limit = limit
        self.running = 0  # only touched on the loop's thread

    async def run(self, fn: Callable[[], T]) -> T:
        if self.running >= self.limit:
            raise LookupFailed(f"{self.running} earlier lookups are still waiting for the source")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()

        def settle(outcome: tuple[T] | BaseException) -> None:
            self.running -= 1
            if future.done():  # the caller gave up (timed out) meanwhile
                return
            if isinstance(outcome, BaseException):
                future.set_exception(outcome)
            else:
                future.set_result(outcome[0])

        def work() -> None:
            outcome: tuple[T] | BaseException
            try:
                outcome = (fn(),)
            except BaseException as exc:  # handed to the awaiting task, as to_thread does
                outcome = exc
            with contextlib.suppress(RuntimeError):  # the loop is closed: the controller stopped
                loop.call_soon_threadsafe(settle, outcome)

        self.running += 1
        threading.Thread(target=work, name="lookup", daemon=True).start()
        return await future


# scrypt (memory-hard): 2^15 x 8 x 128 bytes = 32 MiB and about 0.1 s per hash, so a stolen
# table costs an attacker that much per guess per record (a six-digit PIN is still only 10^6
# guesses: docs/SECURITY.md says what this does and does not buy). Parameters are stored with
# each hash, so raising them later needs no flag day.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1
SALT_BYTES = 16


def _scrypt(pin: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        pin.encode(), salt=salt, n=n, r=r, p=p, maxmem=2 * 128 * n * r * p, dklen=32
    )


def pin_hash(pin: str, salt: bytes | None = None) -> str:
    """`scrypt$N$r$p$<salt hex>$<hash hex>`, with a fresh random salt per record."""
    salt = salt if salt is not None else secrets.token_bytes(SALT_BYTES)
    digest = _scrypt(pin, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${digest.hex()}"


def pin_matches(stored: str, pin: str) -> bool:
    """Does `pin` match a `pin_hash` value? Anything not in that form matches nothing."""
    try:
        kind, n, r, p, salt, digest = stored.split("$")
        if kind != "scrypt":
            return False
        got = _scrypt(pin, bytes.fromhex(salt), int(n), int(r), int(p))
    except ValueError:
        return False
    return hmac.compare_digest(got.hex(), digest)


@functools.cache
def _no_record() -> str:
    """Checked when an ID number has no record, so a wrong ID and a wrong PIN take as long
    (made on first use: a hash costs 0.1 s, which no command that never looks up should pay)."""
    return pin_hash("", b"\0" * SALT_BYTES)


class SqliteContributions:
    """`contribution(id_number, pin_hash, months, last_month, last_amount)`; inputs: id, pin."""

    def __init__(self, path: Path, delay: float = 0.0) -> None:
        self.path = path
        self.delay = delay  # seconds: lets the demo and tests show a slow back end
        self.threads = OwnThreads()

    def seed(self, csv_file: Path) -> int:
        """Create the table from a CSV of id_number,pin,months,last_month,last_amount, unless
        the database is newer than the CSV already. Returns the rows loaded."""
        current = self.path.exists() and self.path.stat().st_mtime >= csv_file.stat().st_mtime
        # only a regular file is opened to look for old hashes: the records may sit on a share
        # (or be a pipe) whose open() blocks, and start-up must not wait on it
        if current and (not self.path.is_file() or not self._has_old_hashes()):
            return 0
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # closing(): a connection's own `with` only ends the transaction; the file stays open
        # until the object is collected (Python 3.13 warns: ResourceWarning)
        with (
            csv_file.open(encoding="utf-8") as fh,
            contextlib.closing(sqlite3.connect(self.path)) as db,
            db,
        ):
            db.execute(
                "CREATE TABLE IF NOT EXISTS contribution (id_number TEXT PRIMARY KEY, "
                "pin_hash TEXT, months INTEGER, last_month TEXT, last_amount TEXT)"
            )
            rows = [
                (
                    r["id_number"],
                    pin_hash(r["pin"]),
                    int(r["months"]),
                    r["last_month"],
                    r["last_amount"],
                )
                for r in csv.DictReader(fh)
            ]
            db.executemany("INSERT OR REPLACE INTO contribution VALUES (?, ?, ?, ?, ?)", rows)
        return len(rows)

    def _has_old_hashes(self) -> bool:
        """Rows from before per-record salts (PBKDF2 salted with the ID number): reseeded."""
        try:
            with contextlib.closing(sqlite3.connect(self.path)) as db, db:
                old = db.execute(
                    "SELECT 1 FROM contribution WHERE pin_hash NOT LIKE 'scrypt$%' LIMIT 1"
                ).fetchone()
        except sqlite3.Error:
            return True  # no table or not a database: seed it anew
        return old is not None

    async def query(self, inputs: Mapping[str, str]) -> dict[str, str] | None:
        if self.delay:
            await asyncio.sleep(self.delay)
        id_number, pin = inputs.get("id", ""), inputs.get("pin", "")
        return await self.threads.run(lambda: self._query(id_number, pin))

    def _query(self, id_number: str, pin: str) -> dict[str, str] | None:
        try:
            with (
                contextlib.closing(sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)) as db,
                db,
            ):
                row = db.execute(
                    "SELECT pin_hash, months, last_month, last_amount FROM "
                    "contribution WHERE id_number = ?",
                    (id_number,),
                ).fetchone()
        except sqlite3.Error as exc:
            raise LookupFailed(f"contribution records unavailable: {exc}") from None
        if row is None:
            pin_matches(_no_record(), pin)
            return None
        if not pin_matches(row[0], pin):
            return None
        return {"months": str(row[1]), "last_month": row[2], "last_amount": row[3]}
