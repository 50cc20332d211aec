"""Personal data keyed by callers never leaves the call unmasked (issue 16, item 1 and 8).

The masking rule is checked against figures worked out by hand; then every shipped flow is
walked with a channel that steers the caller to each collect node holding personal data (an ID
number, a PIN, a phone number, anything a lookup is queried with), keys a value there, and lets
the call run on. The lookup must get the clear value; no `ivr_step` row, log line (DEBUG
included) or error may hold it.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest
from sqlalchemy import text

from hotline.controller.callrecords import ivr_path
from hotline.pbx.agi import AgiCommandFailed, ChannelGone
from hotline.store.db import open_engine, session_factory
from ivr.channel import DialResult
from ivr.flow import (
    CollectNode,
    Flow,
    FlowError,
    LookupNode,
    MenuNode,
    load_flow,
    load_flows,
    successors,
)
from ivr.interpreter import FlowRun
from ivr.masking import mask, mask_number, scrub
from ivr.runtime import Services, Step, run_call
from tests.conftest import REPO
from tests.unit.test_runtime import SETTINGS, services

ID = "330106198005126726"  # a valid check digit; birth date 1980-05-12, sequence 672
ID_WITH_X = "33010619850101108X"
PIN = "864209"


# --- the rule -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "kind", "shown"),
    [
        (ID, "id", "330106********6726"),
        (ID_WITH_X, "id", "330106********108X"),
        ("3301061980", "id", "**********"),  # not an ID's length: nothing shown
        (PIN, "pin", "******"),
        ("12", "pin", "******"),  # how many keys were pressed is not told either
        ("hunter2", "secret", "******"),
        ("13912345678", "phone", "139****5678"),
        ("", "pin", ""),
    ],
)
def test_each_kind_is_masked_as_documented(value: str, kind: str, shown: str) -> None:
    assert mask(value, kind) == shown


@pytest.mark.parametrize(
    ("number", "shown"),
    [
        ("13912345678", "139****5678"),  # 11 digits: first 3, last 4
        ("057187654321", "057*****4321"),  # 12
        ("5718765432", "57****5432"),  # 10: 4 hidden leaves 6 to show, the last 4 first
        ("871234567", "8****4567"),  # 9
        ("87654321", "****4321"),  # 8: the 876*4321 showed 7 of 8
        ("7654321", "****321"),  # 7: at least 4 hidden
        ("654321", "******"),  # under 7 digits: nothing shown
        ("110", "***"),
    ],
)
def test_phone_numbers_show_at_most_first_3_and_last_4_and_hide_at_least_4(
    number: str, shown: str
) -> None:
    assert mask_number(number) == shown
    assert mask(number, "phone") == shown


def test_scrub_masks_a_secret_wherever_a_free_text_quotes_it() -> None:
    said = f"backend said: no record for id={ID} pin={PIN} (keys {ID_WITH_X[:-1]}*)"
    out = scrub(said, [(ID, "id"), (PIN, "pin"), (ID_WITH_X, "id")])
    assert out == (
        "backend said: no record for id=330106********6726 pin=****** (keys 330106********108*)"
    )


# --- the flow declares it -----------------------------------------------------------------


def _flow_file(tmp_path: Path, collect: str) -> Path:
    path = tmp_path / "f.yaml"
    path.write_text(
        'schema: 1\nflow: "f"\nstart: ask\nagent: bye\nnodes:\n'
        f"  ask: {collect}\n"
        "  bye: {type: hangup, prompts: [goodbye]}\n",
        encoding="utf-8",
    )
    return path


def test_the_old_mask_flag_is_a_load_error_that_says_what_replaced_it(tmp_path: Path) -> None:
    path = _flow_file(
        tmp_path,
        "{type: collect, prompt: p, variable: pin, mask: true, next: bye, on_failure: bye}",
    )
    with pytest.raises(FlowError) as caught:
        load_flow(path)
    assert str(caught.value) == (
        f"{path}:6: node 'ask': mask: replaced by `sensitive: pin` (or id, phone, secret): "
        "say what the value is"
    )


def test_an_id_number_collected_without_sensitive_is_a_load_error(tmp_path: Path) -> None:
    path = _flow_file(
        tmp_path,
        "{type: collect, prompt: p, variable: n, validate: id18, next: bye, on_failure: bye}",
    )
    with pytest.raises(
        FlowError, match="validate: id18 collects personal data: add `sensitive: id`"
    ):
        load_flow(path)


def test_an_unknown_sensitive_kind_is_a_load_error(tmp_path: Path) -> None:
    path = _flow_file(
        tmp_path,
        "{type: collect, prompt: p, variable: n, sensitive: bank, next: bye, on_failure: bye}",
    )
    with pytest.raises(FlowError, match="sensitive: expected one of id, pin, phone, secret"):
        load_flow(path)


# --- every shipped flow, walked -----------------------------------------------------------

FLOWS = load_flows(REPO / "dialplans" / "flows", set(SETTINGS.directory.posts))


def _lookup_variables(flow: Flow) -> set[str]:
    return {
        value[1:]
        for node in flow.nodes.values()
        if isinstance(node, LookupNode)
        for value in node.inputs.values()
        if value.startswith("$")
    }


def personal_nodes(flow: Flow) -> list[CollectNode]:
    """Collect nodes whose input is personal data whatever the flow says: ID numbers, phone
    numbers, whatever a lookup is queried with (an ID, a PIN), and those marked sensitive."""
    queried = _lookup_variables(flow)
    return [
        n
        for n in flow.nodes.values()
        if isinstance(n, CollectNode)
        and (n.sensitive or n.validate in ("id18", "phone") or n.variable in queried)
    ]


def keyed_value(node: CollectNode) -> str:
    """A value the node accepts, distinctive enough to be found in any text."""
    if node.validate == "id18":
        return ID
    if node.validate == "phone":
        return "13957193846"
    if node.validate == "date":
        return "19800512"
    return (PIN * 4)[: max(node.min_length, min(6, node.max_length))]


def hidden_parts(value: str, node: CollectNode) -> list[str]:
    """What must never be seen: an ID's birth date and sequence, any other value whole."""
    return [value[6:14]] if node.validate == "id18" else [value]


class GuidedCaller:
    """Presses whatever leads to the next personal collect node, keys a value there, confirms
    it, then stays silent; hangs up after `budget` prompts."""

    def __init__(self, run: FlowRun, targets: list[CollectNode], budget: int = 60) -> None:
        self.run, self.budget = run, budget
        self.todo = [t.id for t in targets]
        self.keyed: dict[str, str] = {}

    def _key_towards(self) -> str:
        flow, here = self.run.flow, self.run.node_id
        node = flow.nodes[here]
        if not self.todo or not isinstance(node, MenuNode):
            return ""
        route = _first_key(flow, here, self.todo[0])
        return route or ""

    def _spend(self) -> None:
        self.budget -= 1
        if self.budget < 0:
            raise ChannelGone("the guided caller hung up")

    async def answer(self) -> None:
        pass

    async def play(self, prompts: Sequence[str], escape: str = "") -> str:
        self._spend()
        return ""

    async def ask(self, prompts: Sequence[str], timeout: float) -> str:
        self._spend()
        node = self.run.flow.nodes[self.run.node_id]
        if isinstance(node, CollectNode):  # "you entered ...: 1 to confirm"
            return "1"
        return self._key_towards()

    async def collect(
        self,
        prompts: Sequence[str],
        max_length: int,
        terminator: str,
        timeout: float,
        inter_digit_timeout: float,
    ) -> str | None:
        self._spend()
        node = self.run.flow.nodes[self.run.node_id]
        assert isinstance(node, CollectNode)
        value = keyed_value(node)
        if node.id in self.todo:
            self.todo.remove(node.id)
            self.keyed[node.id] = value
        return value

    async def record(self, file: str, max_seconds: int) -> bool:
        return True

    async def dial(self, endpoint: str, timeout: int) -> DialResult:
        return DialResult("NOANSWER")

    async def get_variable(self, name: str) -> str:
        return ""

    async def set_variable(self, name: str, value: str) -> None:
        pass


def _first_key(flow: Flow, start: str, goal: str) -> str | None:
    """The menu key at `start` on a shortest way to `goal` through menus and plain nodes."""
    menu = flow.nodes[start]
    assert isinstance(menu, MenuNode)
    seen = {start}
    queue: deque[tuple[str, str]] = deque((t, k) for k, t in menu.choices.items())
    while queue:
        node_id, key = queue.popleft()
        if node_id == goal:
            return key
        if node_id in seen:
            continue
        seen.add(node_id)
        queue.extend((t, key) for t in successors(flow.nodes[node_id]))
    return None


class RecordingSource:
    def __init__(self) -> None:
        self.asked: list[dict[str, str]] = []

    async def query(self, inputs: Mapping[str, str]) -> dict[str, str] | None:
        self.asked.append(dict(inputs))
        return {"months": "186", "last_month": "202610", "last_amount": "1180.50"}


def _guided_call(flow: Flow, svc: Services) -> tuple[GuidedCaller, list[Step]]:
    run = FlowRun(flow, variables={"mode": "menu", "district": ""})
    caller = GuidedCaller(run, personal_nodes(flow))
    report = asyncio.run(run_call(run, caller, svc, "1795.7", "13800000000"))
    return caller, report.steps


@pytest.mark.parametrize("name", sorted(FLOWS))
def test_every_personal_collect_node_of_a_shipped_flow_is_marked_sensitive(name: str) -> None:
    unmarked = [n.id for n in personal_nodes(FLOWS[name]) if not n.sensitive]
    assert unmarked == []


@pytest.mark.parametrize("name", sorted(FLOWS))
def test_no_collected_personal_value_reaches_a_row_or_a_log_line(
    name: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    flow = FLOWS[name]
    source = RecordingSource()
    svc = services()
    svc.lookups = {n.source: source for n in flow.nodes.values() if isinstance(n, LookupNode)}
    caplog.set_level(logging.DEBUG)
    caller, steps = _guided_call(flow, svc)
    path = [f"{s.node}:{s.outcome}" for s in steps]
    targets = {n.id: n for n in personal_nodes(flow)}
    assert set(caller.keyed) == set(targets), "the walk must reach every personal node"
    if name == "12333":  # the lookup gets the values in clear, nothing else does
        assert source.asked == [{"id": ID, "pin": PIN}]
        assert "query_id:input:330106********6726" in path
        assert "query_pin:input:******" in path
    engine = open_engine(f"sqlite:///{tmp_path / 'h.db'}")
    with session_factory(engine)() as session, session.begin():
        ivr_path("1795.7", steps)(session)
    with engine.connect() as db:
        stored = "\n".join(
            str(tuple(row)) for row in db.execute(text("SELECT * FROM ivr_step")).all()
        )
    said = caplog.text + "\n" + "\n".join(path) + "\n" + stored
    for node_id, value in caller.keyed.items():
        for part in hidden_parts(value, targets[node_id]):
            assert part not in said, f"{node_id}: {part} reached a row or a log line"


class FailingSource:
    async def query(self, inputs: Mapping[str, str]) -> dict[str, str] | None:
        raise AgiCommandFailed(f"back end refused id={inputs['id']} pin={inputs['pin']}")


def test_an_error_that_quotes_the_callers_keys_leaves_the_call_masked(
    caplog: pytest.LogCaptureFixture,
) -> None:
    svc = services()
    svc.lookups = {"contributions": FailingSource()}
    caplog.set_level(logging.DEBUG)
    with pytest.raises(AgiCommandFailed) as caught:
        _guided_call(FLOWS["12333"], svc)
    assert str(caught.value) == "back end refused id=330106********6726 pin=******"
    assert ID[6:14] not in caplog.text and PIN not in caplog.text


class CrashingSource:
    async def query(self, inputs: Mapping[str, str]) -> dict[str, str] | None:
        raise KeyError(f"no contribution row for {inputs['id']}/{inputs['pin']}")


def test_a_crash_is_logged_with_its_traceback_and_the_secrets_masked(
    caplog: pytest.LogCaptureFixture,
) -> None:
    svc = services()
    svc.lookups = {"contributions": CrashingSource()}
    caplog.set_level(logging.DEBUG)
    with pytest.raises(RuntimeError) as caught:
        _guided_call(FLOWS["12333"], svc)
    assert str(caught.value) == (
        "flow crashed at node query_lookup: 'no contribution row for 330106********6726/******'"
    )
    crashed = [r for r in caplog.records if r.getMessage().startswith("event=ivr.crashed")]
    assert len(crashed) == 1 and "Traceback" in crashed[0].getMessage()
    assert ID[6:14] not in caplog.text and PIN not in caplog.text
