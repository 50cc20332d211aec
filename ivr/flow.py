"""Call flows as data: one YAML file per flow, a flat graph of named nodes.

    schema: 1
    flow: "12333"
    start: welcome
    agent: to_agent          # where 0 and the runtime guards lead: always a person
    max_steps: 60
    nodes:
      welcome:   {type: play, prompts: [hello], next: main_menu}
      main_menu: {type: menu, prompt: basic-pbx-ivr-main, timeout: 5, max_failures: 3,
                  choices: {"1": pension_info, "0": to_agent}, on_failure: to_agent}
      to_agent:  {type: route, post: pension-city, no_answer: goodbye}
      goodbye:   {type: hangup, prompts: [goodbye]}

Loading validates everything and reports every problem with its file:line and node.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

SCHEMA_VERSION = 1
NODE_FIELDS: dict[str, set[str]] = {
    "play": {"type", "prompts", "next"},
    "menu": {
        "type",
        "prompt",
        "invalid_prompt",
        "timeout",
        "max_failures",
        "choices",
        "on_failure",
    },
    "route": {"type", "post", "hold_prompt", "no_answer"},
    "hangup": {"type", "prompts"},
}
MENU_KEYS = set("0123456789*#")


@dataclass(frozen=True)
class Problem:
    file: Path
    line: int
    node: str | None
    message: str

    def __str__(self) -> str:
        where = f" node {self.node!r}:" if self.node else ""
        return f"{self.file}:{self.line}:{where} {self.message}"


class FlowError(Exception):
    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


@dataclass(frozen=True)
class PlayNode:
    id: str
    prompts: tuple[str, ...]
    next: str


@dataclass(frozen=True)
class MenuNode:
    id: str
    prompt: str
    invalid_prompt: str
    timeout: float
    max_failures: int
    choices: dict[str, str]
    on_failure: str


@dataclass(frozen=True)
class RouteNode:
    id: str
    post: str
    hold_prompt: str | None
    no_answer: str


@dataclass(frozen=True)
class HangupNode:
    id: str
    prompts: tuple[str, ...]


Node = PlayNode | MenuNode | RouteNode | HangupNode


@dataclass(frozen=True)
class Flow:
    name: str
    file: Path
    start: str
    agent: str
    max_steps: int
    nodes: dict[str, Node] = field(default_factory=dict)


class _LineLoader(yaml.SafeLoader):
    """Keeps each mapping key's line so errors can point at it."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> dict[str, Any]:
    mapping = _Lined()
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node)
        mapping[str(key)] = loader.construct_object(value_node, deep=True)
        mapping.lines[str(key)] = key_node.start_mark.line + 1
    mapping.line = node.start_mark.line + 1
    return mapping


class _Lined(dict[str, Any]):
    def __init__(self) -> None:
        super().__init__()
        self.lines: dict[str, int] = {}
        self.line = 1


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


class _Fields:
    """Typed reading of one node's fields; problems and node references are collected."""

    def __init__(
        self,
        node_id: str,
        spec: _Lined,
        line: int,
        problem: Callable[[int, str | None, str], None],
        references: list[tuple[str, str, int, str]],
    ) -> None:
        self.node_id, self.spec, self.line = node_id, spec, line
        self.problem, self.references = problem, references

    def line_of(self, key: str) -> int:
        return self.spec.lines.get(key, self.line)

    def text(self, key: str, default: str | None = None) -> str:
        value = self.spec.get(key, default)
        if not isinstance(value, str) or not value:
            self.problem(self.line_of(key), self.node_id, f"{key}: expected a non-empty string")
            return ""
        return value

    def ref(self, key: str) -> str:
        target = self.text(key)
        if target:
            self.references.append((self.node_id, key, self.line_of(key), target))
        return target

    def prompts(self, key: str) -> tuple[str, ...]:
        value = self.spec.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            self.problem(self.line_of(key), self.node_id, f"{key}: expected a list of prompt names")
            return ()
        return tuple(value)

    def number(self, key: str, default: float, lo: float) -> float:
        value = self.spec.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or value < lo:
            self.problem(self.line_of(key), self.node_id, f"{key}: expected a number ≥ {lo}")
            return default
        return float(value)


def load_flow(path: Path, known_posts: set[str] | None = None) -> Flow:
    problems: list[Problem] = []

    def problem(line: int, node: str | None, message: str) -> None:
        problems.append(Problem(path, line, node, message))

    try:
        source = path.read_text(encoding="utf-8")
        doc = yaml.load(source, Loader=_LineLoader)  # a SafeLoader subclass
    except OSError as exc:
        raise FlowError([Problem(path, 0, None, f"cannot read: {exc.strerror}")]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else 0
        raise FlowError(
            [Problem(path, line, None, f"malformed YAML: {getattr(exc, 'problem', exc)}")]
        ) from None
    if not isinstance(doc, _Lined):
        raise FlowError(
            [Problem(path, 1, None, "a flow file is a mapping with schema, flow, start and nodes")]
        )

    def top_line(key: str) -> int:
        return doc.lines.get(key, doc.line)

    if doc.get("schema") != SCHEMA_VERSION:
        problem(
            top_line("schema"), None, f"schema must be {SCHEMA_VERSION}, got {doc.get('schema')!r}"
        )
    name = str(doc.get("flow") or path.stem)
    raw_nodes = doc.get("nodes")
    if not isinstance(raw_nodes, _Lined) or not raw_nodes:
        problem(top_line("nodes"), None, "nodes: expected a mapping of node name to node")
        raise FlowError(problems)

    nodes: dict[str, Node] = {}
    references: list[tuple[str, str, int, str]] = []  # (from node, field, line, target)

    for node_id, spec in raw_nodes.items():
        line = raw_nodes.lines[node_id]
        if not isinstance(spec, _Lined):
            problem(line, node_id, "expected a mapping with a type")
            continue
        kind = spec.get("type")
        if kind not in NODE_FIELDS:
            problem(
                line,
                node_id,
                f"unknown node type {kind!r}; known: {', '.join(sorted(NODE_FIELDS))}",
            )
            continue
        for key in spec:
            if key not in NODE_FIELDS[kind]:
                problem(spec.lines[key], node_id, f"unknown field {key!r} for a {kind} node")

        f = _Fields(node_id, spec, line, problem, references)
        text, ref, prompts, number = f.text, f.ref, f.prompts, f.number

        if kind == "play":
            nodes[node_id] = PlayNode(node_id, prompts("prompts"), ref("next"))
        elif kind == "menu":
            choices: dict[str, str] = {}
            raw_choices = spec.get("choices")
            if not isinstance(raw_choices, _Lined) or not raw_choices:
                problem(
                    spec.lines.get("choices", line),
                    node_id,
                    "choices: expected a mapping of key to node",
                )
            else:
                for key, target in raw_choices.items():
                    kline = raw_choices.lines[key]
                    if key not in MENU_KEYS:
                        problem(kline, node_id, f"choice {key!r}: keys are one of 0-9, * or #")
                    elif not isinstance(target, str):
                        problem(kline, node_id, f"choice {key!r}: expected a node name")
                    else:
                        choices[key] = target
                        references.append((node_id, f"choices.{key}", kline, target))
            nodes[node_id] = MenuNode(
                node_id,
                prompt=text("prompt"),
                invalid_prompt=text("invalid_prompt", "invalid"),
                timeout=number("timeout", 5, 1),
                max_failures=int(number("max_failures", 3, 1)),
                choices=choices,
                on_failure=ref("on_failure"),
            )
        elif kind == "route":
            hold = spec.get("hold_prompt")
            post = text("post")
            if post and known_posts is not None and post not in known_posts:
                problem(
                    spec.lines.get("post", line),
                    node_id,
                    f"post {post!r} is not in the seat directory",
                )
            nodes[node_id] = RouteNode(
                node_id,
                post=post,
                hold_prompt=hold if isinstance(hold, str) else None,
                no_answer=ref("no_answer"),
            )
        else:
            nodes[node_id] = HangupNode(node_id, prompts("prompts"))

    start = str(doc.get("start", ""))
    agent = str(doc.get("agent", ""))
    for key, value in (("start", start), ("agent", agent)):
        if value not in raw_nodes:
            problem(top_line(key), None, f"{key}: {value!r} is not a node of this flow")
    for source, fieldname, line, target in references:
        if target not in raw_nodes:
            problem(line, source, f"{fieldname} points to {target!r}, which is not a node")
    if agent in nodes and not isinstance(nodes[agent], RouteNode):
        problem(top_line("agent"), None, "agent: must name a route node (a person answers)")

    reachable = _reachable(start, nodes) | _reachable(agent, nodes)
    for node_id in nodes:
        if node_id not in reachable:
            problem(raw_nodes.lines[node_id], node_id, "unreachable: no node leads here")

    max_steps = doc.get("max_steps", 60)
    if isinstance(max_steps, bool) or not isinstance(max_steps, int) or max_steps < 1:
        problem(top_line("max_steps"), None, "max_steps: expected a positive integer")
        max_steps = 60
    if problems:
        raise FlowError(sorted(problems, key=lambda p: p.line))
    return Flow(name=name, file=path, start=start, agent=agent, max_steps=max_steps, nodes=nodes)


def successors(node: Node) -> list[str]:
    if isinstance(node, PlayNode):
        return [node.next]
    if isinstance(node, MenuNode):
        return [*node.choices.values(), node.on_failure]
    if isinstance(node, RouteNode):
        return [node.no_answer]
    return []


def _reachable(start: str, nodes: dict[str, Node]) -> set[str]:
    seen: set[str] = set()
    todo = [start]
    while todo:
        node_id = todo.pop()
        if node_id in seen or node_id not in nodes:
            continue
        seen.add(node_id)
        todo.extend(successors(nodes[node_id]))
    return seen


def load_flows(directory: Path, known_posts: set[str] | None = None) -> dict[str, Flow]:
    """Every `*.yaml` flow in `directory`, keyed by flow name; all problems of all files at once."""
    flows: dict[str, Flow] = {}
    problems: list[Problem] = []
    files = sorted(directory.glob("*.yaml"))
    if not files:
        raise FlowError([Problem(directory, 0, None, "no *.yaml flow files here")])
    for file in files:
        try:
            flow = load_flow(file, known_posts)
        except FlowError as exc:
            problems.extend(exc.problems)
        else:
            flows[flow.name] = flow
    if problems:
        raise FlowError(problems)
    return flows
