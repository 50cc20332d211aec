"""The flow interpreter: pure state, no I/O.

A `FlowRun` says what the call should do next (`instruction()`) and is told what happened
(`advance(outcome, data)`). Outcomes by instruction:

    Play       "done" | "digit:<k>" (0, * or # pressed during the prompts)
    Ask        "digit:<k>" | "timeout"
    Collect    "input:<keys>" | "timeout"
    CheckHours "open" | "closed"
    Lookup     "found" (data: fields) | "not_found" | "error"
    Record     "recorded" (data: {"ticket": id}) | "empty"
    Notify     "sent" | "failed"
    BookSlot   "booked" (data: {"callback_slot": hours, "ticket": id}) | "failed"
    Transfer   "answered" | "no-answer" | "self-service" | "callback" (booked in the queue)
    Finish     "done"

Global keys: 0 a person (from any menu or prompt), * repeat, # back to the previous menu.
Runtime guards: a step limit per call and a visit limit per node; both lead to the flow's
`agent` node, never to silence or a hang-up on a confused caller. A caller still going round
max_steps steps after that (the agent node's own way can loop: 0 again and again while the
agents are closed) ends the flow `exhausted`: the call is left unhandled and the dialplan's
fallback queue, a person, takes it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from ivr.flow import (
    CallbackNode,
    CollectNode,
    Flow,
    HangupNode,
    HoursNode,
    LookupNode,
    MenuNode,
    MessageNode,
    Node,
    NotifyNode,
    PlayNode,
    RouteNode,
    SayNode,
    SetNode,
    SwitchNode,
)
from ivr.masking import mask
from ivr.saying import SAYERS, say_digits
from ivr.validate import VALIDATORS

AGENT_KEY, REPEAT_KEY, BACK_KEY = "0", "*", "#"
PLAY_KEYS = AGENT_KEY + REPEAT_KEY + BACK_KEY


@dataclass(frozen=True)
class Play:
    prompts: tuple[str, ...]
    keys: str = PLAY_KEYS  # keys that interrupt


@dataclass(frozen=True)
class Ask:
    """Play `prompts` (any key interrupts), then wait `timeout` s for one key."""

    prompts: tuple[str, ...]
    timeout: float
    readback: str = ""  # the masking kind of a sensitive value said back in the prompts


@dataclass(frozen=True)
class Collect:
    prompts: tuple[str, ...]
    max_length: int
    terminator: str  # "" for none
    timeout: float
    inter_digit_timeout: float
    sensitive: str = ""  # the masking kind of what is keyed ("": not personal data)


@dataclass(frozen=True)
class CheckHours:
    pass


@dataclass(frozen=True)
class Lookup:
    source: str
    inputs: dict[str, str]
    slow_after: float
    slow_prompt: str


@dataclass(frozen=True)
class Record:
    prompt: str
    category: str
    max_seconds: int


@dataclass(frozen=True)
class Notify:
    notice: str  # a notice id of the catalogue (config/notices.toml)


@dataclass(frozen=True)
class BookSlot:
    business: str
    district: str


@dataclass(frozen=True)
class Transfer:
    post: str
    business: str
    district: str
    hold_prompt: str
    self_service_key: str
    offer_callback: bool = False  # while queued, 1 books a callback


@dataclass(frozen=True)
class Finish:
    prompts: tuple[str, ...]


Instruction = (
    Play | Ask | Collect | CheckHours | Lookup | Record | Notify | BookSlot | Transfer | Finish
)
# nodes whose instruction depends on the node alone (and a menu's greeting) when there is no
# preamble and no value to confirm: FlowRun.instruction() makes theirs once per flow
_FIXED_KINDS = frozenset({PlayNode, MenuNode, CollectNode, HoursNode, MessageNode, HangupNode})


@dataclass(slots=True)
class Visit:
    node: str
    outcome: str  # inputs of sensitive collect nodes are masked (masking.mask)


@dataclass(slots=True)  # slots: its attributes are read and set on every step
class FlowRun:
    flow: Flow
    variables: dict[str, str] = field(default_factory=dict)
    node_id: str = ""
    steps: int = 0
    finished: bool = False
    guarded: bool = False  # a runtime guard handed the caller to a person
    exhausted: bool = False  # still going round max_steps after that: the dialplan takes over
    path: list[Visit] = field(default_factory=list)
    visits: dict[str, int] = field(default_factory=dict)
    failures: dict[str, int] = field(default_factory=dict)
    timeouts: dict[str, int] = field(default_factory=dict)
    menus: list[str] = field(default_factory=list)  # the way back for '#'
    _preamble: tuple[str, ...] = ()
    _fresh: bool = True  # first time in this node: long greeting
    _pending: str | None = None  # a collected value waiting for confirmation

    def __post_init__(self) -> None:
        self.variables.setdefault("language", "zh-CN")
        self._enter(self.node_id or self.flow.start)

    @property
    def node(self) -> Node:
        # (the hot methods below look the node up directly: a property call costs about as
        # much as the rest of a small method)
        return self.flow.nodes[self.node_id]

    @property
    def language(self) -> str:
        return self.variables["language"]

    # --- what to do -------------------------------------------------------------------

    def instruction(self) -> Instruction:
        # Without a preamble or a value to confirm, most nodes' instructions depend on the
        # node alone (and, for a menu, long or short greeting): made once per flow.
        fixed = not self._preamble and self._pending is None
        if fixed:
            found: Instruction | None = self.flow.instructions.get((self.node_id, self._fresh))
            if found is not None:
                return found
        node = self.flow.nodes[self.node_id]
        made = self._instruction(node)
        if fixed and type(node) in _FIXED_KINDS:
            self.flow.instructions[(self.node_id, self._fresh)] = made
        return made

    def _instruction(self, node: Node) -> Instruction:
        pre = self._preamble
        if isinstance(node, MenuNode):
            return Ask((*pre, node.prompt if self._fresh else node.short_prompt), node.timeout)
        if isinstance(node, PlayNode):
            return Play(node.prompts)
        if isinstance(node, HoursNode):
            return CheckHours()
        if isinstance(node, CollectNode):
            if self._pending is not None:
                said = ("you_entered", *say_digits(self._pending), "confirm_reenter")
                return Ask(said, 6, node.sensitive)
            terminator = "" if node.terminator == "none" else node.terminator
            return Collect(
                (*pre, node.prompt),
                node.max_length,
                terminator,
                node.timeout,
                node.inter_digit_timeout,
                node.sensitive,
            )
        if isinstance(node, SayNode):
            return Play(node.prompts + self._say(node))
        if isinstance(node, LookupNode):
            inputs = {k: self.resolve(v) for k, v in node.inputs.items()}
            return Lookup(node.source, inputs, node.slow_after, node.slow_prompt)
        if isinstance(node, MessageNode):
            return Record(node.prompt, node.category, node.max_seconds)
        if isinstance(node, NotifyNode):
            return Notify(node.notice)
        if isinstance(node, CallbackNode):
            return BookSlot(self.variables.get("business", ""), self.variables.get("district", ""))
        if isinstance(node, RouteNode):
            return Transfer(
                node.post,
                self.resolve(node.business),  # the topic the caller's menu choices set
                self.resolve(node.district),
                node.hold_prompt,
                node.self_service_key,
                bool(node.on_callback),
            )
        assert isinstance(node, HangupNode)
        return Finish(node.prompts)

    def secrets(self) -> list[tuple[str, str]]:
        """(value, masking kind) of every sensitive value this call holds, the one waiting for
        confirmation included: what `masking.scrub` hides in any text about the call."""
        kinds = self.flow.sensitive_variables()
        held = [(self.variables.get(v, ""), k) for v, k in kinds.items()]
        node = self.flow.nodes[self.node_id]
        if self._pending is not None and isinstance(node, CollectNode) and node.sensitive:
            held.append((self._pending, node.sensitive))
        return [(v, k) for v, k in held if v]

    def resolve(self, value: str) -> str:
        return self.variables.get(value[1:], "") if value.startswith("$") else value

    def _say(self, node: SayNode) -> tuple[str, ...]:
        try:
            return tuple(SAYERS[node.kind](self.resolve(node.value), self.language))
        except (ValueError, KeyError):
            return ()  # nothing sensible to say: the prompts before it still play

    # --- what happened ----------------------------------------------------------------

    def advance(self, outcome: str, data: Mapping[str, str] | None = None) -> None:
        node = self.flow.nodes[self.node_id]
        shown = outcome
        if isinstance(node, CollectNode) and node.sensitive and outcome.startswith("input:"):
            shown = "input:" + mask(outcome[6:], node.sensitive)
        self.path.append(Visit(self.node_id, shown))
        self.steps += 1
        self._preamble = ()
        key = outcome[6:] if outcome.startswith("digit:") else None

        # the commonest kinds first
        if isinstance(node, MenuNode):
            self._menu(node, key)
        elif isinstance(node, (PlayNode, SayNode)):  # a tuple: `X | Y` builds a union per call
            self._after_play(node, key)
        elif isinstance(node, HoursNode):
            self._enter(node.open if outcome == "open" else node.closed)
        elif isinstance(node, RouteNode):
            if outcome == "answered":
                self.finished = True
            elif outcome == "self-service" and node.self_service:
                self._enter(node.self_service)
            elif outcome == "callback" and node.on_callback:
                self._enter(node.on_callback)
            else:
                self._enter(node.no_answer)
        elif isinstance(node, CollectNode):
            self._collect(node, outcome, key)
        elif isinstance(node, HangupNode):
            self.finished = True
        elif isinstance(node, LookupNode):
            if outcome == "found":
                self.variables.update(data or {})
            target = {"found": node.found, "not_found": node.not_found}.get(outcome, node.error)
            self._enter(target)
        elif isinstance(node, CallbackNode):
            if outcome == "booked":
                self.variables.update(data or {})
                self._enter(node.booked)
            else:
                self._enter(node.failed)
        elif isinstance(node, NotifyNode):
            self._enter(node.sent if outcome == "sent" else node.failed)
        elif isinstance(node, MessageNode):
            if outcome == "recorded":
                self.variables.update(data or {})
                self._enter(node.next)
            else:
                self._enter(node.on_empty)

    def _after_play(self, node: PlayNode | SayNode, key: str | None) -> None:
        if key == AGENT_KEY:
            self._enter(self.flow.agent)
        elif key == REPEAT_KEY:
            self._stay(fresh=True)
        elif key == BACK_KEY and self.menus:
            self._enter(self.menus[-1])
        else:
            self._enter(node.next)

    def _menu(self, node: MenuNode, key: str | None) -> None:
        if key is not None and key in node.choices:
            self._enter(node.choices[key])
        elif key == AGENT_KEY:
            self._enter(self.flow.agent)
        elif key == REPEAT_KEY:
            self._stay(fresh=True)
        elif key == BACK_KEY:
            if len(self.menus) >= 2:
                self._enter(self.menus[-2])
            else:
                self._stay(fresh=True)
        elif key is None:  # silence
            self.timeouts[node.id] = self.timeouts.get(node.id, 0) + 1
            if self.timeouts[node.id] >= node.max_timeouts:
                self._enter(node.on_failure)
            else:
                self._stay(preamble=(node.timeout_prompt,))
        else:
            self._failure(node, node.on_failure, node.invalid_prompt, node.max_failures)

    def _collect(self, node: CollectNode, outcome: str, key: str | None) -> None:
        if self._pending is not None:  # the answer to "1 confirm, 2 re-enter"
            value, self._pending = self._pending, None
            if key == "1":
                self.variables[node.variable] = value
                self._enter(node.next)
            elif key == "2":
                self._stay(fresh=True)
            elif key == node.terminator:  # a trailing # after a full-length number
                self._pending = value
                self._stay()
            else:
                self._failure(node, node.on_failure, node.invalid_prompt, node.max_failures)
            return
        value = outcome[6:] if outcome.startswith("input:") else ""
        if node.validate == "id18":
            value = value.replace("*", "X")  # callers key the letter X as *
        ok = node.min_length <= len(value) <= node.max_length and VALIDATORS[node.validate](value)
        if not ok:
            self._failure(node, node.on_failure, node.invalid_prompt, node.max_failures)
        elif node.confirm:
            self._pending = value
            self._fresh = False
        else:
            self.variables[node.variable] = value
            self._enter(node.next)

    def _failure(
        self, node: MenuNode | CollectNode, on_failure: str, prompt: str, limit: int
    ) -> None:
        self.failures[node.id] = self.failures.get(node.id, 0) + 1
        if self.failures[node.id] >= limit:
            self._enter(on_failure)
        else:
            self._stay(preamble=(prompt,))

    def _stay(self, fresh: bool = False, preamble: tuple[str, ...] = ()) -> None:
        if self.steps >= self.flow.max_steps and (
            not self.guarded or self.steps >= 2 * self.flow.max_steps
        ):
            self._enter(self.node_id)  # the guard redirects to a person, or ends the call
            return
        self._fresh = fresh
        self._preamble = preamble

    def _enter(self, node_id: str) -> None:
        """Move to `node_id`, applying the guards, and settle set/switch nodes at once."""
        flow, visits = self.flow, self.visits
        if self.guarded and self.steps >= 2 * flow.max_steps:
            # The guard handed the caller to the agent node max_steps ago and they are still
            # going round (e.g. 0 again and again while the agents are closed): the flow ends
            # here, unhandled, and the dialplan's fallback queue (a person) takes the call
            self.finished = self.exhausted = True
            return
        for _ in range(len(flow.nodes) + 1):
            target = node_id
            if not self.guarded and (
                self.steps >= flow.max_steps or visits.get(target, 0) >= flow.max_visits
            ):
                self.guarded = True  # going round in circles: a person takes over
                target = flow.agent
            self.node_id = target
            visits[target] = visits.get(target, 0) + 1
            self._fresh, self._pending = True, None
            if self.failures:
                self.failures.pop(target, None)
            if self.timeouts:
                self.timeouts.pop(target, None)
            node = flow.nodes[target]
            if isinstance(node, MenuNode):
                if target == flow.home:
                    self.menus = [target]
                elif target in self.menus:
                    del self.menus[self.menus.index(target) + 1 :]
                else:
                    self.menus.append(target)
                return
            if isinstance(node, SetNode):
                self.variables.update({k: self.resolve(v) for k, v in node.values.items()})
                self.path.append(Visit(target, "set"))
                node_id = node.next
            elif isinstance(node, SwitchNode):
                value = self.variables.get(node.variable, "")
                kind = flow.sensitive_variables().get(node.variable)
                self.path.append(Visit(target, f"case:{mask(value, kind) if kind else value}"))
                node_id = node.cases.get(value, node.default)
            else:
                return
        raise RuntimeError(f"flow {self.flow.name}: set/switch nodes loop without end")
