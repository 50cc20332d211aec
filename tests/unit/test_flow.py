from __future__ import annotations

from pathlib import Path

import pytest

from ivr.flow import FlowError, MenuNode, load_flow, load_flows
from tests.conftest import REPO

GOOD = """\
schema: 1
flow: demo
start: menu
agent: person
nodes:
  menu:
    type: menu
    prompt: main
    choices: {"1": info, "0": person}
    on_failure: person
  info:
    type: play
    prompts: [info]
    next: menu
  person:
    type: route
    post: pension-city
    no_answer: bye
  bye:
    type: hangup
    prompts: [goodbye]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "flow.yaml"
    path.write_text(text)
    return path


def test_the_shipped_12333_flow_is_valid() -> None:
    flows = load_flows(REPO / "dialplans", {"pension-city"})
    flow = flows["12333"]
    menu = flow.nodes["main_menu"]
    assert isinstance(menu, MenuNode)
    assert menu.choices == {"1": "pension_info", "0": "to_agent"}


@pytest.mark.parametrize(
    ("old", "new", "line", "message"),
    [
        ("    type: play\n", "    type: sing\n", 11, "node 'info': unknown node type 'sing'"),
        (
            "    next: menu\n",
            "    next: menu\n    colour: red\n",
            15,
            "node 'info': unknown field 'colour'",
        ),
        (
            "    next: menu\n",
            "    next: nowhere\n",
            14,
            "node 'info': next points to 'nowhere', which is not a node",
        ),
        (
            'choices: {"1": info, "0": person}',
            'choices: {"0": person}',
            11,
            "node 'info': unreachable: no node leads here",
        ),
        (
            "    post: pension-city\n",
            "    post: tax-office\n",
            17,
            "node 'person': post 'tax-office' is not in the seat directory",
        ),
        ("schema: 1\n", "schema: 7\n", 1, "schema must be 1, got 7"),
        ("    prompt: main\n", "    prompt: main\n   bad: [\n", 9, "malformed YAML"),
    ],
)
def test_each_broken_flow_reports_file_line_and_node(
    tmp_path: Path, old: str, new: str, line: int, message: str
) -> None:
    assert old in GOOD
    path = write(tmp_path, GOOD.replace(old, new, 1))
    with pytest.raises(FlowError) as err:
        load_flow(path, {"pension-city"})
    first = err.value.problems[0]
    assert (first.file, first.line) == (path, line)
    assert message in str(first)


def test_all_problems_are_reported_at_once(tmp_path: Path) -> None:
    text = GOOD.replace("    next: menu\n", "    next: nowhere\n").replace(
        "type: hangup", "type: explode"
    )
    with pytest.raises(FlowError) as err:
        load_flow(write(tmp_path, text), {"pension-city"})
    assert len(err.value.problems) == 2


def test_agent_must_be_a_route_node(tmp_path: Path) -> None:
    with pytest.raises(FlowError, match="agent: must name a route node"):
        load_flow(write(tmp_path, GOOD.replace("agent: person", "agent: bye")), {"pension-city"})
