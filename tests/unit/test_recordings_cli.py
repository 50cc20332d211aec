"""`hotline recordings ...` as a user types it (its main(), in this process: the commands are
the point, not the process), on a folder of files (no Asterisk)."""

from __future__ import annotations

import os
import pwd
import re
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from tests.conftest import hotline_in_process, write_config
from tests.unit.test_recordings_pipeline import call_files


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = write_config(tmp_path / "cfg")
    text = path.read_text(encoding="utf-8")
    text = re.sub(r'(?m)^directory = ".*recordings"$', f'directory = "{tmp_path / "rec"}"', text)
    text = text.replace("[recordings]\n", "[recordings]\nsettle_seconds = 0\nworkers = 2\n", 1)
    path.write_text(text, encoding="utf-8")
    (tmp_path / "rec").mkdir()
    for lid in ("1795000000.1", "1795000000.2"):
        call_files(tmp_path / "rec", lid)
    return path


def audit(config: Path) -> list[tuple[str, str, int]]:
    with closing(sqlite3.connect(config.parent / "hotline.db")) as db, db:
        return list(db.execute("select user, action, granted from recording_access order by id"))


def test_reconcile_list_show_hold_purge_export_verify(
    config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the audit names the process's OS account, whatever the environment claims
    monkeypatch.setenv("USER", "mallory")
    monkeypatch.setenv("LOGNAME", "mallory")
    me = "os:" + pwd.getpwuid(os.getuid()).pw_name
    done = hotline_in_process(config, "recordings", "reconcile")
    assert "catalogued: 1795000000.1" in done.stdout and "catalogued=2" in done.stdout, done
    listed = hotline_in_process(config, "recordings", "list", "--category", "general")
    assert listed.returncode == 0 and "2 recording(s)" in listed.stdout
    shown = hotline_in_process(config, "recordings", "show", "1795000000.2")
    assert "seconds:     3.00" in shown.stdout and "legal hold:  no" in shown.stdout
    held = hotline_in_process(config, "recordings", "hold", "2", "--reason", "case 7")
    assert "on hold: case 7" in held.stdout
    dry = hotline_in_process(config, "recordings", "purge", "--dry-run")
    assert "kept 2 1795000000.2: legal hold" in dry.stdout and dry.returncode == 0
    out = tmp_path / "out"
    ex = hotline_in_process(
        config, "recordings", "export", "1", "--part", "caller", "--out", str(out)
    )
    assert ex.returncode == 0 and (out / "1795000000.1-caller.wav").is_file()
    processed = hotline_in_process(config, "recordings", "process")
    assert "processed 2 of 2" in processed.stdout, processed.stderr
    verified = hotline_in_process(config, "recordings", "verify")
    assert verified.returncode == 0 and "ok=2" in verified.stdout
    assert audit(config) == [(me, "show", 1), (me, "hold", 1), (me, "export", 1)]
    # a free-text name is no longer taken
    named = hotline_in_process(config, "recordings", "show", "1", "--user", "qa-wang")
    assert named.returncode == 2 and "unrecognized arguments: --user qa-wang" in named.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["list", "--from", "yesterday"],
            "--from: expected a date or time like 2026-11-28 or 2026-11-28T09:30, got 'yesterday'",
        ),
        (["show", "nope"], "no recording 'nope' (give an id or a linkedid)"),
        (["hold", "1"], "hold: give --reason (e.g. a case number), or --release"),
        (["export", "--out", "x"], "export: name recordings or give at least one filter"),
    ],
)
def test_bad_input_is_one_line_without_a_traceback(
    config: Path, args: list[str], message: str
) -> None:
    done = hotline_in_process(config, "recordings", *args)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [f"hotline: error: {message}"], done.stderr
