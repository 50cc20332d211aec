"""Call flows as data: one YAML file per flow, a flat graph of named nodes.

    schema: 1
    flow: "12333"
    start: welcome
    agent: to_agent          # where 0 and the runtime guards lead: a person
    max_steps: 80            # per call
    max_visits: 12           # per node, per call
    nodes:
      welcome:   {type: play, prompts: [welcome], next: main_menu}
      main_menu: {type: menu, prompt: main_menu, short_prompt: main_menu_short,
                  choices: {"1": query, "0": to_agent}, on_failure: to_agent}
      ...

Node types and their fields are in NODE_SPECS below. Named outcomes point to the next node by
name. Loading validates everything and reports every problem at once with file:line and node:
malformed YAML, unknown node types or fields, wrong values, dangling or unreachable nodes,
routing targets missing from the seat directory, and (given the catalogue) unknown prompts.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ivr.masking import KINDS

SCHEMA_VERSION = 1
MENU_KEYS = set("0123456789*#")
VALIDATIONS = ("id18", "phone", "date", "digits")
# what these validations accept is personal data by definition: such a node must be sensitive
PERSONAL_VALIDATIONS = {"id18": "id", "phone": "phone"}
SAY_KINDS = ("digits", "number", "amount", "date", "months", "hours")
MESSAGE_CATEGORIES = ("message", "complaint", "report", "comment")  # comment: a survey remark
VARIABLE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")

COMMON = {"type", "description"}
NODE_SPECS: dict[str, set[str]] = {
    "play": {"prompts", "next"},
    "menu": {
        "prompt",
        "short_prompt",
        "invalid_prompt",
        "timeout_prompt",
        "timeout",
        "max_failures",
        "max_timeouts",
        "choices",
        "on_failure",
    },
    "collect": {
        "prompt",
        "variable",
        "min_length",
        "max_length",
        "terminator",
        "timeout",
        "inter_digit_timeout",
        "validate",
        "invalid_prompt",
        "confirm",
        "sensitive",
        "mask",  # replaced by sensitive: kept known so its load error can say so
        "max_failures",
        "next",
        "on_failure",
    },
    "say": {"prompts", "value", "as", "next"},
    "hours": {"open", "closed"},
    "switch": {"variable", "cases", "default"},
    "set": {"values", "next"},
    "lookup": {"source", "inputs", "slow_after", "slow_prompt", "found", "not_found", "error"},
    "message": {"prompt", "category", "max_seconds", "next", "on_empty"},
    "notify": {"notice", "sent", "failed"},
    "callback": {"booked", "failed"},
    "route": {
        "post",
        "business",
        "district",
        "hold_prompt",
        "self_service_key",
        "self_service",
        "no_answer",
        "on_callback",
    },
    "hangup": {"prompts"},
}


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
    short_prompt: str
    invalid_prompt: str
    timeout_prompt: str
    timeout: float
    max_failures: int  # wrong keys before on_failure
    max_timeouts: int  # silences before on_failure
    choices: dict[str, str]
    on_failure: str


@dataclass(frozen=True)
class CollectNode:
    id: str
    prompt: str
    variable: str
    min_length: int
    max_length: int
    terminator: str
    timeout: float  # for the first key
    inter_digit_timeout: float
    validate: str
    invalid_prompt: str
    confirm: bool  # read the input back and ask 1 confirm / 2 re-enter
    sensitive: str  # "" or a masking.KINDS: the input is personal data, shown masked only
    max_failures: int
    next: str
    on_failure: str


@dataclass(frozen=True)
class SayNode:
    id: str
    prompts: tuple[str, ...]  # said before the value
    value: str  # "$variable" or a literal
    kind: str
    next: str


@dataclass(frozen=True)
class HoursNode:
    id: str
    open: str
    closed: str


@dataclass(frozen=True)
class SwitchNode:
    id: str
    variable: str
    cases: dict[str, str]
    default: str


@dataclass(frozen=True)
class SetNode:
    id: str
    values: dict[str, str]
    next: str


@dataclass(frozen=True)
class LookupNode:
    id: str
    source: str
    inputs: dict[str, str]  # query field -> "$variable" or literal
    slow_after: float  # seconds before the caller hears slow_prompt
    slow_prompt: str
    found: str
    not_found: str
    error: str


@dataclass(frozen=True)
class MessageNode:
    id: str
    prompt: str
    category: str
    max_seconds: int
    next: str
    on_empty: str


@dataclass(frozen=True)
class NotifyNode:
    """Send the caller a one-time notification (一次性告知) by SMS: a catalogue notice by id."""

    id: str
    notice: str
    sent: str
    failed: str


@dataclass(frozen=True)
class CallbackNode:
    """Book a call back for the next working slot (after hours); on `booked` the variables
    `callback_slot` (e.g. "tue 08:30-09:30", said `as: hours`) and `ticket` are set."""

    id: str
    booked: str
    failed: str


@dataclass(frozen=True)
class RouteNode:
    id: str
    post: str  # a post id, or "" to find it from business and district
    business: str  # a business, or "$variable": the one the caller's menu choices set
    district: str  # "$district", a district id, or ""
    hold_prompt: str
    self_service_key: str
    self_service: str
    no_answer: str
    on_callback: str  # where a caller who booked a callback goes ("": no callback offered)


@dataclass(frozen=True)
class HangupNode:
    id: str
    prompts: tuple[str, ...]


Node = (
    PlayNode
    | MenuNode
    | CollectNode
    | SayNode
    | HoursNode
    | SwitchNode
    | SetNode
    | LookupNode
    | MessageNode
    | NotifyNode
    | CallbackNode
    | RouteNode
    | HangupNode
)


@dataclass(frozen=True)
class Flow:
    name: str
    file: Path
    start: str
    agent: str
    home: str  # the top menu: '#' goes no higher, and arriving here starts the way back anew
    max_steps: int
    max_visits: int
    nodes: dict[str, Node] = field(default_factory=dict)
    # the interpreter's instructions that depend on the node alone, made once per flow
    # (they are immutable) instead of once per step; not part of the flow's value. Typed by
    # the interpreter (ivr/interpreter.py `instruction`): the model does not import it.
    instructions: dict[tuple[str, bool], Any] = field(
        default_factory=dict, compare=False, repr=False
    )

    def sensitive_variables(self) -> dict[str, str]:
        """Variable -> masking kind, for every variable a sensitive collect node fills."""
        return {
            n.variable: n.sensitive
            for n in self.nodes.values()
            if isinstance(n, CollectNode) and n.sensitive
        }

    def prompt_ids(self) -> set[str]:
        """Every catalogue prompt the flow plays (say-back words excluded)."""
        return {p for node in self.nodes.values() for p in _node_prompts(node) if p}


def _node_prompts(node: Node) -> Iterable[str]:
    if isinstance(node, PlayNode | HangupNode | SayNode):
        yield from node.prompts
    elif isinstance(node, MenuNode):
        yield from (node.prompt, node.short_prompt, node.invalid_prompt, node.timeout_prompt)
    elif isinstance(node, CollectNode):
        yield from (node.prompt, node.invalid_prompt)
    elif isinstance(node, LookupNode):
        yield node.slow_prompt
    elif isinstance(node, MessageNode):
        yield node.prompt
    elif isinstance(node, RouteNode):
        yield node.hold_prompt


def outcomes(node: Node) -> list[tuple[str, str]]:
    """A node's named outcomes and the nodes they lead to (the graph's edges)."""
    if isinstance(node, MenuNode):
        return [(f"key {k}", t) for k, t in node.choices.items()] + [("failures", node.on_failure)]
    if isinstance(node, CollectNode):
        return [("valid", node.next), ("failures", node.on_failure)]
    if isinstance(node, PlayNode | SayNode | SetNode):
        return [("", node.next)]
    if isinstance(node, HoursNode):
        return [("open", node.open), ("closed", node.closed)]
    if isinstance(node, SwitchNode):
        return [(f"{node.variable}={v}", t) for v, t in node.cases.items()] + [
            ("other", node.default)
        ]
    if isinstance(node, LookupNode):
        return [("found", node.found), ("not found", node.not_found), ("error", node.error)]
    if isinstance(node, MessageNode):
        return [("ticket", node.next), ("empty", node.on_empty)]
    if isinstance(node, NotifyNode):
        return [("sent", node.sent), ("failed", node.failed)]
    if isinstance(node, CallbackNode):
        return [("booked", node.booked), ("failed", node.failed)]
    if isinstance(node, RouteNode):
        out = [("no answer", node.no_answer)]
        if node.self_service:
            out.append((f"key {node.self_service_key}", node.self_service))
        if node.on_callback:
            out.append(("callback", node.on_callback))
        return out
    return []


def successors(node: Node) -> list[str]:
    return [target for _, target in outcomes(node)]


# --- loading ---------------------------------------------------------------------------


class _Lined(dict[str, Any]):
    """A YAML mapping that remembers the line of each key."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: dict[str, int] = {}
        self.line = 1


class _LineLoader(yaml.SafeLoader):
    pass


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> dict[str, Any]:
    mapping = _Lined()
    for key_node, value_node in node.value:
        key = str(loader.construct_object(key_node))
        mapping[key] = loader.construct_object(value_node, deep=True)
        mapping.lines[key] = key_node.start_mark.line + 1
    mapping.line = node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)

Report = Callable[[int, str | None, str], None]


class _Fields:
    """Typed reading of one node's fields; problems and node references are collected."""

    def __init__(
        self,
        node_id: str,
        spec: _Lined,
        line: int,
        problem: Report,
        references: list[tuple[str, str, int, str]],
    ) -> None:
        self.node_id, self.spec, self.line = node_id, spec, line
        self.problem, self.references = problem, references

    def line_of(self, key: str) -> int:
        return self.spec.lines.get(key, self.line)

    def bad(self, key: str, message: str) -> None:
        self.problem(self.line_of(key), self.node_id, f"{key}: {message}")

    def text(self, key: str, default: str | None = None) -> str:
        value = self.spec.get(key, default)
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str) or (not value and default != ""):
            self.bad(key, "expected a non-empty string")
            return ""
        return value

    def choice(self, key: str, options: Iterable[str], default: str | None = None) -> str:
        value = self.text(key, default)
        options = tuple(options)
        if value and value not in options:
            self.bad(key, f"expected one of {', '.join(options)}, got {value!r}")
        return value

    def ref(self, key: str, default: str | None = None) -> str:
        target = self.text(key, default)
        if target:
            self.references.append((self.node_id, key, self.line_of(key), target))
        return target

    def prompts(self, key: str, required: bool = False) -> tuple[str, ...]:
        value = self.spec.get(key, [])
        if (
            not isinstance(value, list)
            or not all(isinstance(v, str) and v for v in value)
            or (required and not value)
        ):
            self.bad(key, "expected a list of prompt names")
            return ()
        return tuple(value)

    def number(self, key: str, default: float, lo: float) -> float:
        value = self.spec.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or value < lo:
            self.bad(key, f"expected a number ≥ {lo:g}")
            return default
        return float(value)

    def flag(self, key: str, default: bool) -> bool:
        value = self.spec.get(key, default)
        if not isinstance(value, bool):
            self.bad(key, "expected true or false")
            return default
        return value

    def mapping(
        self, key: str, keys_ok: Callable[[str], bool], what: str, targets: bool
    ) -> dict[str, str]:
        raw = self.spec.get(key)
        if not isinstance(raw, _Lined) or not raw:
            self.bad(key, f"expected a mapping of {what}")
            return {}
        out: dict[str, str] = {}
        for k, v in raw.items():
            line = raw.lines[k]
            if not keys_ok(k):
                self.problem(line, self.node_id, f"{key} {k!r}: not a valid {what.split()[0]}")
            elif not isinstance(v, str | int) or isinstance(v, bool) or v == "":
                self.problem(line, self.node_id, f"{key} {k!r}: expected a value")
            else:
                out[k] = str(v)
                if targets:
                    self.references.append((self.node_id, f"{key}.{k}", line, str(v)))
        return out


def _build(kind: str, node_id: str, f: _Fields) -> Node:
    if kind == "play":
        return PlayNode(node_id, f.prompts("prompts", required=True), f.ref("next"))
    if kind == "menu":
        choices = f.mapping("choices", lambda k: k in MENU_KEYS, "key to node", targets=True)
        prompt = f.text("prompt")
        return MenuNode(
            node_id,
            prompt=prompt,
            short_prompt=f.text("short_prompt", "") or prompt,
            invalid_prompt=f.text("invalid_prompt", "invalid"),
            timeout_prompt=f.text("timeout_prompt", "no_input"),
            timeout=f.number("timeout", 5, 1),
            max_failures=int(f.number("max_failures", 3, 1)),
            max_timeouts=int(f.number("max_timeouts", 3, 1)),
            choices=choices,
            on_failure=f.ref("on_failure"),
        )
    if kind == "collect":
        min_length = int(f.number("min_length", 1, 1))
        max_length = int(f.number("max_length", 20, 1))
        if max_length < min_length:
            f.bad("max_length", f"must be at least min_length ({min_length})")
        return CollectNode(
            node_id,
            prompt=f.text("prompt"),
            variable=_variable(f, "variable"),
            min_length=min_length,
            max_length=max_length,
            terminator=f.choice("terminator", ("#", "*", "none"), "#"),
            timeout=f.number("timeout", 8, 1),
            inter_digit_timeout=f.number("inter_digit_timeout", 4, 1),
            validate=f.choice("validate", VALIDATIONS, "digits"),
            invalid_prompt=f.text("invalid_prompt", "invalid"),
            confirm=f.flag("confirm", False),
            sensitive=_sensitive(f),
            max_failures=int(f.number("max_failures", 3, 1)),
            next=f.ref("next"),
            on_failure=f.ref("on_failure"),
        )
    if kind == "say":
        return SayNode(
            node_id, f.prompts("prompts"), f.text("value"), f.choice("as", SAY_KINDS), f.ref("next")
        )
    if kind == "hours":
        return HoursNode(node_id, f.ref("open"), f.ref("closed"))
    if kind == "switch":
        cases = f.mapping("cases", lambda k: bool(k), "value to node", targets=True)
        return SwitchNode(node_id, _variable(f, "variable"), cases, f.ref("default"))
    if kind == "set":
        values = f.mapping(
            "values", lambda k: bool(VARIABLE.match(k)), "variable to value", targets=False
        )
        return SetNode(node_id, values, f.ref("next"))
    if kind == "lookup":
        inputs = f.mapping("inputs", lambda k: bool(k), "field to value", targets=False)
        return LookupNode(
            node_id,
            source=f.text("source"),
            inputs=inputs,
            slow_after=f.number("slow_after", 2, 0),
            slow_prompt=f.text("slow_prompt", ""),
            found=f.ref("found"),
            not_found=f.ref("not_found"),
            error=f.ref("error"),
        )
    if kind == "message":
        return MessageNode(
            node_id,
            prompt=f.text("prompt"),
            category=f.choice("category", MESSAGE_CATEGORIES),
            max_seconds=int(f.number("max_seconds", 120, 5)),
            next=f.ref("next"),
            on_empty=f.ref("on_empty"),
        )
    if kind == "callback":
        return CallbackNode(node_id, f.ref("booked"), f.ref("failed"))
    if kind == "notify":
        return NotifyNode(node_id, f.text("notice"), f.ref("sent"), f.ref("failed"))
    if kind == "route":
        post, business = f.text("post", ""), f.text("business", "")
        if bool(post) == bool(business):
            f.bad("post", "give either post, or business (with an optional district)")
        if business.startswith("$") and not VARIABLE.match(business[1:]):
            f.bad("business", "a business, or $variable (lower-case letters, digits and _)")
        key = f.text("self_service_key", "")
        if key and key not in MENU_KEYS:
            f.bad("self_service_key", "expected one key: 0-9, * or #")
        target = f.ref("self_service", "") if key else ""
        if key and not target:
            f.bad("self_service", "needed with self_service_key")
        return RouteNode(
            node_id,
            post=post,
            business=business,
            district=f.text("district", ""),
            hold_prompt=f.text("hold_prompt", ""),
            self_service_key=key,
            self_service=target,
            no_answer=f.ref("no_answer"),
            on_callback=f.ref("on_callback", ""),
        )
    return HangupNode(node_id, f.prompts("prompts"))


def _sensitive(f: _Fields) -> str:
    if "mask" in f.spec:
        f.bad("mask", "replaced by `sensitive: pin` (or id, phone, secret): say what the value is")
    kind = f.choice("sensitive", KINDS, "") if "sensitive" in f.spec else ""
    validate = f.spec.get("validate")
    if validate in PERSONAL_VALIDATIONS and not kind:
        f.problem(
            f.line_of("validate"),
            f.node_id,
            f"validate: {validate} collects personal data: add `sensitive: "
            f"{PERSONAL_VALIDATIONS[validate]}` so it is never stored or logged in clear",
        )
    return kind


def _variable(f: _Fields, key: str) -> str:
    name = f.text(key)
    if name and not VARIABLE.match(name):
        f.bad(key, "variable names are lower-case letters, digits and _")
    return name


def load_flow(
    path: Path,
    known_posts: set[str] | None = None,
    known_prompts: set[str] | None = None,
    known_businesses: set[str] | None = None,
) -> Flow:
    """One flow, checked; `known_businesses`: what the seat directory's posts and pools serve
    (a route whose business none serves would only ever reach the queue)."""
    problems: list[Problem] = []

    def problem(line: int, node: str | None, message: str) -> None:
        problems.append(Problem(path, line, node, message))

    try:
        doc = yaml.load(path.read_text(encoding="utf-8"), Loader=_LineLoader)  # a SafeLoader
    except OSError as exc:
        raise FlowError([Problem(path, 0, None, f"cannot read: {exc.strerror}")]) from None
    except UnicodeDecodeError as exc:
        text = f"not UTF-8 text (byte {exc.start}): save the file as UTF-8"
        raise FlowError([Problem(path, 0, None, text)]) from None
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
    for key in doc:
        if key not in {
            "schema",
            "flow",
            "description",
            "start",
            "agent",
            "home",
            "max_steps",
            "max_visits",
            "nodes",
        }:
            problem(top_line(key), None, f"unknown top-level field {key!r}")
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
        if kind not in NODE_SPECS:
            problem(
                line, node_id, f"unknown node type {kind!r}; known: {', '.join(sorted(NODE_SPECS))}"
            )
            continue
        for key in spec:
            if key not in NODE_SPECS[kind] | COMMON:
                problem(spec.lines[key], node_id, f"unknown field {key!r} for a {kind} node")
        f = _Fields(node_id, spec, line, problem, references)
        node = _build(kind, node_id, f)
        nodes[node_id] = node
        if (
            isinstance(node, RouteNode)
            and node.post
            and known_posts is not None
            and node.post not in known_posts
        ):
            f.bad("post", f"{node.post!r} is not a post in the seat directory")
        if known_prompts is not None:
            for prompt in _node_prompts(node):
                if prompt and prompt not in known_prompts:
                    problem(line, node_id, f"prompt {prompt!r} is not in the prompt catalogue")

    start, agent = str(doc.get("start", "")), str(doc.get("agent", ""))
    home = str(doc.get("home", ""))
    for key, value in (("start", start), ("agent", agent), ("home", home)):
        if (value or key != "home") and value not in raw_nodes:
            problem(top_line(key), None, f"{key}: {value!r} is not a node of this flow")
    for source, fieldname, line, target in references:
        if target not in raw_nodes:
            problem(line, source, f"{fieldname} points to {target!r}, which is not a node")
    if home in nodes and not isinstance(nodes[home], MenuNode):
        problem(top_line("home"), None, "home: must name a menu node")
    if known_businesses is not None:
        for node_id, business in _route_businesses(nodes):
            if business not in known_businesses:
                problem(
                    raw_nodes.lines[node_id],
                    node_id,
                    f"business {business!r}: no post or agent skill in the seat directory serves"
                    " it (add a [[post]] or a skill)",
                )
    reachable = _reachable(start, nodes) | _reachable(agent, nodes)
    for node_id in nodes:
        if node_id not in reachable:
            problem(raw_nodes.lines[node_id], node_id, "unreachable: no node leads here")

    limits: dict[str, int] = {}
    for key, default in (("max_steps", 80), ("max_visits", 12)):
        limit = doc.get(key, default)
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            problem(top_line(key), None, f"{key}: expected a positive integer")
            limit = default
        limits[key] = limit
    if problems:
        raise FlowError(sorted(problems, key=lambda p: p.line))
    return Flow(
        name=str(doc.get("flow") or path.stem),
        file=path,
        start=start,
        agent=agent,
        home=home,
        max_steps=limits["max_steps"],
        max_visits=limits["max_visits"],
        nodes=nodes,
    )


def _route_businesses(nodes: dict[str, Node]) -> list[tuple[str, str]]:
    """(route node, business) for every business a route can be asked for: its own, or, for
    `$variable`, every value a set node gives that variable ('' when none does)."""
    found = []
    for node_id, node in nodes.items():
        if not isinstance(node, RouteNode) or node.post:
            continue
        if not node.business.startswith("$"):
            found.append((node_id, node.business))
            continue
        values = sorted(
            {
                n.values[node.business[1:]]
                for n in nodes.values()
                if isinstance(n, SetNode) and node.business[1:] in n.values
            }
        )
        found += [(node_id, value) for value in values or [""]]
    return found


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


def load_flows(
    directory: Path,
    known_posts: set[str] | None = None,
    known_prompts: set[str] | None = None,
    known_businesses: set[str] | None = None,
) -> dict[str, Flow]:
    """Every `*.yaml` flow in `directory`, keyed by flow name; all problems of all files."""
    flows: dict[str, Flow] = {}
    problems: list[Problem] = []
    files = sorted(directory.glob("*.yaml"))
    if not files:
        raise FlowError([Problem(directory, 0, None, "no *.yaml flow files here")])
    for file in files:
        try:
            flow = load_flow(file, known_posts, known_prompts, known_businesses)
        except FlowError as exc:
            problems.extend(exc.problems)
        else:
            flows[flow.name] = flow
    if problems:
        raise FlowError(problems)
    return flows
