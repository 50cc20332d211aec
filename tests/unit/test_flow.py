from __future__ import annotations

from pathlib import Path

import pytest

from hotline.settings import load_directory
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
    flows = load_flows(REPO / "dialplans" / "flows", {"pension-city", "pension-xihu"})
    flow = flows["12333"]
    menu = flow.nodes["main_menu"]
    assert isinstance(menu, MenuNode)
    assert set(menu.choices) == {"0", "1", "2", "4", "9"}
    assert flow.home == "main_menu"


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
            "node 'person': post: 'tax-office' is not a post in the seat directory",
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


def test_home_must_be_a_menu(tmp_path: Path) -> None:
    with pytest.raises(FlowError, match="home: must name a menu node"):
        load_flow(
            write(tmp_path, GOOD.replace("agent: person", "agent: person\nhome: bye")),
            {"pension-city"},
        )


def test_unknown_prompts_are_reported_against_the_catalogue(tmp_path: Path) -> None:
    with pytest.raises(FlowError) as err:
        load_flow(
            write(tmp_path, GOOD),
            {"pension-city"},
            known_prompts={"main", "goodbye", "invalid", "no_input"},
        )
    assert [str(p).split(": ", 1)[1] for p in err.value.problems] == [
        "node 'info': prompt 'info' is not in the prompt catalogue"
    ]


@pytest.mark.parametrize(
    ("node", "message"),
    [
        ("{type: route, no_answer: bye}", "post: give either post, or business"),
        (
            "{type: collect, prompt: p, variable: v, validate: iban, next: bye, on_failure: bye}",
            "validate: expected one of id18, phone, date, digits, got 'iban'",
        ),
        (
            "{type: collect, prompt: p, variable: V-1, next: bye, on_failure: bye}",
            "variable: variable names are lower-case letters, digits and _",
        ),
        ("{type: say, value: $x, as: colour, next: bye}", "as: expected one of digits"),
        (
            "{type: menu, prompt: p, choices: {A: bye}, on_failure: bye}",
            "choices 'A': not a valid key",
        ),
        (
            "{type: message, prompt: p, category: gossip, next: bye, on_empty: bye}",
            "category: expected one of message, complaint, report",
        ),
    ],
)
def test_wrong_field_values_are_reported(tmp_path: Path, node: str, message: str) -> None:
    text = GOOD.replace("    next: menu\n", "    next: extra\n") + f"  extra: {node}\n"
    with pytest.raises(FlowError) as err:
        load_flow(write(tmp_path, text), {"pension-city"})
    assert any(message in str(p) and "node 'extra'" in str(p) for p in err.value.problems), (
        err.value.problems
    )


def test_a_route_whose_business_no_post_or_pool_serves_is_reported(tmp_path: Path) -> None:
    """The route takes its business from the menu's set nodes: each value is checked against
    the seat directory's businesses, at the route's line."""
    text = (
        GOOD.replace('"1": info', '"1": medical, "2": tax')
        .replace("    post: pension-city\n", "    business: $business\n")
        .replace(
            "  bye:\n",
            "  medical: {type: set, values: {business: medical}, next: info}\n"
            "  tax: {type: set, values: {business: tax}, next: info}\n"
            "  bye:\n",
        )
    )
    path = write(tmp_path, text)
    assert load_flow(path, known_businesses={"medical", "tax"}).nodes["person"]
    with pytest.raises(FlowError) as err:
        load_flow(path, known_businesses={"pension", "medical"})
    (problem,) = err.value.problems
    assert problem.line == 15 and "node 'person'" in str(problem)
    assert "business 'tax': no post or agent skill in the seat directory serves it" in str(problem)


def test_the_shipped_flow_asks_only_for_businesses_the_shipped_seats_serve() -> None:
    served = set(load_directory(REPO / "config" / "seats.toml").businesses)
    assert {"pension", "medical", "employment", "labour", "personnel", "other"} <= served
    load_flows(REPO / "dialplans" / "flows", known_businesses=served)  # raises if one is unserved
