from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ivr.cli import build_parser, main
from tests.conftest import REPO, write_config


def test_help_lists_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    for command in ("serve", "sandbox", "dialplan", "demo"):
        assert command in out


@pytest.mark.parametrize("command", ["serve", "sandbox", "dialplan", "demo"])
def test_every_subcommand_has_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        build_parser().parse_args([command, "--help"])
    assert done.value.code == 0
    assert "usage: hotline" in capsys.readouterr().out


def test_a_bad_config_is_one_line_on_stderr_and_exit_2(tmp_path: Path) -> None:
    path = write_config(tmp_path)
    path.write_text(path.read_text().replace("port = 5038", "port = -1"))
    result = subprocess.run(
        [sys.executable, "-m", "ivr.cli", "-c", str(path), "dialplan", "check"],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "Traceback" not in result.stderr
    assert "[ami] port: expected an integer from 1 to 65535, got -1" in result.stderr


def test_dialplan_check_reports_broken_flows_without_traceback(tmp_path: Path) -> None:
    flows = tmp_path / "flows"
    flows.mkdir()
    (flows / "bad.yaml").write_text("schema: 1\nstart: a\nagent: a\nnodes:\n  a: {type: sing}\n")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "ivr.cli",
            "-c",
            str(REPO / "config/hotline.toml"),
            "dialplan",
            "check",
            str(flows),
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    )
    assert result.returncode == 2
    assert f"{flows / 'bad.yaml'}:5: node 'a': unknown node type 'sing'" in result.stderr
    assert "Traceback" not in result.stderr
