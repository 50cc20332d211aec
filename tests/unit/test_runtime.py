"""The flow runtime driven through a scripted CallChannel (no sockets)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence

from ivr.agi import ChannelGone
from ivr.channel import DialResult
from ivr.config import load_settings
from ivr.flow import load_flows
from ivr.interpreter import FlowRun
from ivr.runtime import HANDLED_VARIABLE, run_call
from tests.conftest import REPO

SETTINGS = load_settings(REPO / "config" / "hotline.toml")
FLOW = load_flows(REPO / "dialplans", set(SETTINGS.directory.posts))["12333"]


class ScriptedChannel:
    def __init__(self, keys: list[str], dial: dict[str, str]) -> None:
        self.keys = keys
        self.dial_status = dial
        self.log: list[str] = []
        self.variables: dict[str, str] = {}

    async def answer(self) -> None:
        self.log.append("answer")

    async def play(self, prompts: Sequence[str], escape: str = "") -> str:
        self.log.extend(f"play {p}" for p in prompts)
        return ""

    async def ask(self, prompt: str, timeout: float) -> str:
        self.log.append(f"ask {prompt}")
        if not self.keys:
            raise ChannelGone("caller hung up")
        return self.keys.pop(0)

    async def dial(self, endpoint: str, timeout: int) -> DialResult:
        self.log.append(f"dial {endpoint}")
        return DialResult(self.dial_status.get(endpoint, "CHANUNAVAIL"))

    async def get_variable(self, name: str) -> str:
        return self.variables.get(name, "")

    async def set_variable(self, name: str, value: str) -> None:
        self.variables[name] = value


def test_busy_a_agent_falls_back_to_b_and_the_call_is_marked_handled() -> None:
    channel = ScriptedChannel(["0"], {"agent1001": "BUSY", "agent1002": "ANSWER"})
    asyncio.run(run_call(FlowRun(FLOW), channel, SETTINGS.directory, "c1"))
    assert [e for e in channel.log if e.startswith("dial")] == ["dial agent1001", "dial agent1002"]
    assert channel.variables[HANDLED_VARIABLE] == "1"


def test_caller_hanging_up_mid_menu_ends_the_run_without_marking_it_handled() -> None:
    channel = ScriptedChannel([], {})
    run = FlowRun(FLOW)
    with contextlib.suppress(ChannelGone):
        asyncio.run(run_call(run, channel, SETTINGS.directory, "c2"))
    assert run.node_id == "main_menu"
    assert HANDLED_VARIABLE not in channel.variables


def test_nobody_answering_plays_the_busy_message() -> None:
    channel = ScriptedChannel(["0"], {})
    asyncio.run(run_call(FlowRun(FLOW), channel, SETTINGS.directory, "c3"))
    assert channel.log[-2:] == ["play all-circuits-busy-now", "play please-try-call-later"]
