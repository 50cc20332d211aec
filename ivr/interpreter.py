"""The flow interpreter: pure state, no I/O.

A `FlowRun` says what the call should do next (`instruction()`), and is told what happened
(`advance(outcome)`). Outcomes: "done", "digit:<key>", "timeout", "answered", "no-answer".
Runtime guards: a step limit per call and the menu failure limit both lead to the flow's
`agent` node (a person), never to silence or a hang-up on a confused caller.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .flow import Flow, HangupNode, MenuNode, PlayNode, RouteNode


@dataclass(frozen=True)
class Play:
    """Play prompts; 0 (a person, from anywhere) interrupts them."""

    prompts: tuple[str, ...]


@dataclass(frozen=True)
class Ask:
    """Play `preamble` (interruptible), then `prompt`, and wait `timeout` s for one key."""

    preamble: tuple[str, ...]
    prompt: str
    timeout: float


@dataclass(frozen=True)
class Transfer:
    post: str
    hold_prompt: str | None


@dataclass(frozen=True)
class Finish:
    prompts: tuple[str, ...]


Instruction = Play | Ask | Transfer | Finish


@dataclass
class Visit:
    node: str
    outcome: str


@dataclass
class FlowRun:
    flow: Flow
    node_id: str = ""
    steps: int = 0
    finished: bool = False
    path: list[Visit] = field(default_factory=list)
    failures: dict[str, int] = field(default_factory=dict)
    _invalid: bool = False
    _guarded: bool = False

    def __post_init__(self) -> None:
        self.node_id = self.node_id or self.flow.start

    def instruction(self) -> Instruction:
        node = self.flow.nodes[self.node_id]
        if isinstance(node, PlayNode):
            return Play(node.prompts)
        if isinstance(node, MenuNode):
            preamble = (node.invalid_prompt,) if self._invalid else ()
            return Ask(preamble, node.prompt, node.timeout)
        if isinstance(node, RouteNode):
            return Transfer(node.post, node.hold_prompt)
        return Finish(node.prompts)

    def advance(self, outcome: str) -> None:
        node = self.flow.nodes[self.node_id]
        self.path.append(Visit(self.node_id, outcome))
        self.steps += 1
        self._invalid = False
        if isinstance(node, HangupNode):
            self.finished = True
        elif isinstance(node, RouteNode):
            if outcome == "answered":
                self.finished = True
            else:
                self._goto(node.no_answer)
        elif self.steps >= self.flow.max_steps and not self._guarded:
            self._guarded = True  # the caller is going round in circles: hand over to a person
            self._goto(self.flow.agent)
        elif isinstance(node, PlayNode):
            self._goto(self.flow.agent if outcome == "digit:0" else node.next)
        elif isinstance(node, MenuNode):
            self._menu(node, outcome)

    def _menu(self, node: MenuNode, outcome: str) -> None:
        key = outcome.removeprefix("digit:") if outcome.startswith("digit:") else None
        if key is not None and key in node.choices:
            self._goto(node.choices[key])
            return
        if key == "0":  # global key: a person, from any menu
            self._goto(self.flow.agent)
            return
        count = self.failures.get(node.id, 0) + 1
        self.failures[node.id] = count
        if count >= node.max_failures:
            self._goto(node.on_failure)
        else:
            self._invalid = key is not None

    def _goto(self, node_id: str) -> None:
        self.node_id = node_id
