from __future__ import annotations

from pathlib import Path

import pytest

from hotline.cli.main import build_parser, main
from tests.conftest import REPO, hotline_in_process, run_hotline, write_config

CONFIG = REPO / "config" / "hotline.toml"


def test_help_lists_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    for command in ("serve", "agi", "agent", "sandbox", "dialplan", "prompts", "demo"):
        assert command in out


@pytest.mark.parametrize(
    "command", ["serve", "agi", "agent", "sandbox", "dialplan", "prompts", "demo"]
)
def test_every_subcommand_has_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        build_parser().parse_args([command, "--help"])
    assert done.value.code == 0
    assert "usage: hotline" in capsys.readouterr().out


def test_a_bad_config_is_one_line_on_stderr_and_exit_2(tmp_path: Path) -> None:
    # as a process: what a user's shell gets; the dialplan tests below call main() in-process
    path = write_config(tmp_path)
    path.write_text(path.read_text().replace("port = 5038", "port = -1"))
    result = run_hotline(path, "dialplan", "check")
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "Traceback" not in result.stderr
    assert "[ami] port: expected an integer from 1 to 65535, got -1" in result.stderr


def test_dialplan_check_reports_broken_flows_without_traceback(tmp_path: Path) -> None:
    flows = tmp_path / "flows"
    flows.mkdir()
    (flows / "bad.yaml").write_text("schema: 1\nstart: a\nagent: a\nnodes:\n  a: {type: sing}\n")
    result = hotline_in_process(CONFIG, "dialplan", "check", str(flows))
    assert result.returncode == 2
    assert f"{flows / 'bad.yaml'}:5: node 'a': unknown node type 'sing'" in result.stderr
    assert "Traceback" not in result.stderr
    # said once: not as the error line and again in the list below it (issue 19, item 6)
    assert result.stderr.count("unknown node type") == 1 and result.stderr.count("\n") == 1


def test_dialplan_graph_draws_the_12333_flow_as_svg(tmp_path: Path) -> None:
    out = tmp_path / "12333.svg"
    result = hotline_in_process(CONFIG, "dialplan", "graph", "12333", "-o", str(out))
    assert result.returncode == 0, result.stderr
    svg = out.read_text()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    for node in ("main_menu", "query_id", "to_agent", "after_hours_menu"):
        assert f">{node}<" in svg


def test_dialplan_graph_of_an_unknown_flow_is_one_line(tmp_path: Path) -> None:
    result = hotline_in_process(CONFIG, "dialplan", "graph", "nope", "-o", str(tmp_path / "x.svg"))
    assert result.returncode == 2
    assert (
        result.stderr.strip()
        == "hotline: error: dialplan graph: no flow 'nope'; flows: 12333, survey"
    )


BROKEN = {  # tests/data/broken_flows: one file per error kind -> the line and words expected
    "malformed_yaml.yaml": (9, "malformed YAML"),
    "unknown_type.yaml": (10, "node 'info': unknown node type 'sing'"),
    "unknown_field.yaml": (14, "node 'info': unknown field 'colour' for a play node"),
    "dangling_reference.yaml": (13, "node 'info': next points to 'nowhere', which is not a node"),
    "unreachable_node.yaml": (10, "node 'info': unreachable: no node leads here"),
    "missing_failure_outcome.yaml": (5, "node 'menu': on_failure: expected a non-empty string"),
    "unknown_prompt.yaml": (10, "prompt 'policy_astrology' is not in the prompt catalogue"),
    "unknown_post.yaml": (16, "post: 'tax-office' is not a post in the seat directory"),
}


def test_dialplan_check_reports_every_broken_flow_with_its_location_at_once() -> None:
    folder = REPO / "tests" / "data" / "broken_flows"
    assert {p.name for p in folder.glob("*.yaml")} == set(BROKEN)
    result = hotline_in_process(CONFIG, "dialplan", "check", str(folder))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.removeprefix("hotline: error: ").strip().splitlines()
    assert len(lines) == len(BROKEN)  # one clear error each
    for name, (line, words) in BROKEN.items():
        (found,) = [x for x in lines if x.startswith(f"{folder / name}:{line}:")]
        assert words in found
