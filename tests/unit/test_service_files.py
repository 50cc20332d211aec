"""The shipped service files: systemd accepts the unit as written (only the install path of
the executable is swapped for this checkout's, as an admin's /opt/hotline would be), and the
unit is the notify kind the controller speaks (tests/stack/test_service.py)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO

UNIT = REPO / "contrib/systemd/hotline.service"


def test_systemd_accepts_the_shipped_unit(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.fail("systemd-analyze is missing (Debian's systemd package)")
    text = UNIT.read_text()
    assert "ExecStart=/opt/hotline/.venv/bin/hotline serve" in text
    assert "Type=notify" in text and "ExecReload=/bin/kill -HUP $MAINPID" in text
    unit = tmp_path / "hotline.service"
    unit.write_text(text.replace("/opt/hotline/.venv/bin/hotline", str(REPO / ".venv/bin/hotline")))
    done = subprocess.run([analyze, "verify", str(unit)], capture_output=True, text=True)
    assert done.returncode == 0 and done.stderr == "", done.stderr
