"""The lesser call-path items of issue 16 (item 8): `hotline top` does not obey control
characters a caller sent; the example lookup keeps PINs as scrypt hashes with a random salt
per record."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from contextlib import closing
from pathlib import Path

from hotline.cli.top import printable, render
from ivr.lookups import SCRYPT_N, SqliteContributions, pin_hash, pin_matches
from tests.conftest import REPO

EXAMPLE = REPO / "config" / "example-contributions.csv"


def _board(caller: str, name: str) -> dict[str, object]:
    now = time.time()
    return {
        "now": now,
        "sent_at": now,
        "calls": [
            {
                "caller": caller,
                "district": "xihu",
                "state": "ivr",
                "agent_id": "",
                "node": "main_menu",
                "asked_at": None,
                "talk_since": None,
                "ab_step": "",
            }
        ],
        "agents": [
            {
                "id": "1001",
                "name": name,
                "office": "city",
                "state": "idle",
                "reason": "",
                "since": now,
            }
        ],
        "queue": [],
        "alerts": [],
    }


def test_top_writes_control_characters_out_instead_of_sending_them_to_the_terminal() -> None:
    # ESC [2J clears the screen, ESC ]0; sets the window title, CR overwrites the line
    caller = "139\x1b[2J\x1b]0;pwned\x07\r5678"
    out = render(_board(caller, "张三\x9b31m"), width=200)
    assert "\x1b" not in out and "\x07" not in out and "\r" not in out and "\x9b" not in out
    assert "139\\x1b[2J\\x1b]0;pwned\\x07\\x0d5678" in out
    assert "1001 张三\\x9b31m" in out  # Chinese names stay as they are


def test_printable_keeps_plain_text_and_escapes_line_breaks() -> None:
    assert printable("139****5678") == "139****5678"
    assert printable("a\nb\u2028c") == "a\\x0ab\\u2028c"


def test_a_pin_hash_is_scrypt_with_its_parameters_and_a_salt_of_its_own() -> None:
    first, second = pin_hash("123456"), pin_hash("123456")
    kind, n, r, p, salt, digest = first.split("$")
    assert (kind, int(n), int(r), int(p)) == ("scrypt", SCRYPT_N, 8, 1)
    assert len(bytes.fromhex(salt)) == 16 and len(bytes.fromhex(digest)) == 32
    assert first != second  # the same PIN twice: two salts, two hashes
    assert pin_matches(first, "123456") and pin_matches(second, "123456")
    assert not pin_matches(first, "123457")
    assert not pin_matches("d1f0" * 16, "123456")  # the old PBKDF2 form matches nothing


def test_the_example_table_holds_no_pin_and_no_hash_salted_with_the_id(tmp_path: Path) -> None:
    source = SqliteContributions(tmp_path / "c.db")
    assert source.seed(EXAMPLE) == 6
    with closing(sqlite3.connect(tmp_path / "c.db")) as db, db:
        rows = db.execute("SELECT id_number, pin_hash FROM contribution").fetchall()
    salts = {h.split("$")[4] for _, h in rows}
    assert len(salts) == 6 and all(h.startswith(f"scrypt${SCRYPT_N}$8$1$") for _, h in rows)
    assert all("123456" not in h and i not in h for i, h in rows)

    async def ask(id_number: str, pin: str) -> dict[str, str] | None:
        return await source.query({"id": id_number, "pin": pin})

    assert asyncio.run(ask("330106198005126726", "123456")) == {
        "months": "186",
        "last_month": "202610",
        "last_amount": "1180.50",
    }
    assert asyncio.run(ask("330106198005126726", "123457")) is None
    assert asyncio.run(ask("330106198005126727", "123456")) is None


def test_a_table_with_the_old_id_salted_hashes_is_seeded_again(tmp_path: Path) -> None:
    db_file = tmp_path / "c.db"
    with closing(sqlite3.connect(db_file)) as db, db:
        db.execute(
            "CREATE TABLE contribution (id_number TEXT PRIMARY KEY, pin_hash TEXT, "
            "months INTEGER, last_month TEXT, last_amount TEXT)"
        )
        db.execute("INSERT INTO contribution VALUES ('330106198005126726', 'ab12', 1, '', '')")
    # newer than the CSV, which alone would have kept it
    assert db_file.stat().st_mtime >= EXAMPLE.stat().st_mtime
    assert SqliteContributions(db_file).seed(EXAMPLE) == 6
    with closing(sqlite3.connect(db_file)) as db, db:
        (stored,) = db.execute(
            "SELECT pin_hash FROM contribution WHERE id_number = '330106198005126726'"
        ).fetchone()
    assert pin_matches(stored, "123456")
