"""How a call ended: the one outcome vocabulary, decided here and nowhere else. Pure.

Two sides know part of a call. The IVR (the AGI session) knows what the caller did in the
flow; Asterisk's events (the call tracker) know whether an agent's leg was answered and when
the caller hung up. `ivr_end` sums the IVR's part up in one word, stored on the call row;
`call_outcome` combines it with the tracker's part. Whichever side writes last settles the row
with `call_outcome`, so the order the two reports arrive in does not matter.

Outcomes (README "How a call ends"):

    self_service    ended in the IVR without asking for a person, after finishing something:
                    information heard to the end (a policy topic chosen from a menu, a said
                    value such as a contribution record), or a message/complaint recorded
    ivr_abandoned   hung up in the IVR without finishing anything and without asking
    answered        an agent answered
    abandoned       asked for a person and hung up before anyone answered: in the hold prompt,
                    in the line or while an agent's phone rang
    callback_booked asked, and booked a callback while waiting in line
    overflow        asked, nobody answered, and the flow's no-answer path took the caller
                    (all busy -> message, agents closed -> after-hours menu)
    fallback        the dialplan's fallback queue served it: the controller never ran the IVR
                    for it (it was away) or the flow gave up on a caller going round in circles
    not_reached     (our own callback and survey calls only) the citizen did not answer;
                    such a call that reached them is `answered`
    live            not ended yet; `unknown` (ended while no controller listened) is set by
                    the stale-call sweep, not here

A call *asks for a person* when its flow enters the flow's agent node (0 at any menu, or the
runtime guards) or any route node (straight-to-agent mode routes at once). Straight mode's
self-service key in the hold prompt withdraws the ask.
"""

from __future__ import annotations

from collections.abc import Iterable

from ivr.flow import Flow, MenuNode, MessageNode, PlayNode, RouteNode, SayNode

LIVE = "live"
SELF_SERVICE = "self_service"
IVR_ABANDONED = "ivr_abandoned"
ANSWERED = "answered"
ABANDONED = "abandoned"
CALLBACK_BOOKED = "callback_booked"
OVERFLOW = "overflow"
FALLBACK = "fallback"
UNKNOWN = "unknown"
NOT_REACHED = "not_reached"  # our own call (callback, survey) the citizen did not answer
OUTCOMES = (
    SELF_SERVICE,
    IVR_ABANDONED,
    ANSWERED,
    ABANDONED,
    CALLBACK_BOOKED,
    OVERFLOW,
    FALLBACK,
)
# outcomes of a call that asked for a person (the denominators of the waiting figures)
ASKED_OUTCOMES = frozenset({ANSWERED, ABANDONED, CALLBACK_BOOKED, OVERFLOW})

# the IVR's summary of a call (the call row's `ivr_end`)
END_SERVED = "served"  # finished something without asking
END_UNSERVED = "unserved"  # finished nothing, did not ask
END_ASKED = "asked"  # asked and was still asking (hold prompt, line, ringing) at the end
END_NO_ANSWER = "no_answer"  # asked; the flow moved on without an agent (no-answer path)
END_CALLBACK = "callback"  # booked a callback
END_ANSWERED = "answered"  # the route's Dial was answered
END_UNHANDLED = "unhandled"  # the flow gave the call up to the dialplan's fallback queue
IVR_ENDS = (
    END_SERVED,
    END_UNSERVED,
    END_ASKED,
    END_NO_ANSWER,
    END_CALLBACK,
    END_ANSWERED,
    END_UNHANDLED,
)


def asks_for_person(flow: Flow, node_id: str) -> bool:
    """Entering this node means the caller asked for a person (the moment `asked_at` keeps)."""
    return node_id == flow.agent or isinstance(flow.nodes.get(node_id), RouteNode)


def _menu_choices(flow: Flow) -> frozenset[str]:
    return frozenset(
        target
        for node in flow.nodes.values()
        if isinstance(node, MenuNode)
        for target in node.choices.values()
    )


def ivr_end(flow: Flow, path: Iterable[tuple[str, str]], exhausted: bool = False) -> str:
    """The IVR's part of the outcome from the nodes visited, in order, with each one's outcome
    (the stored IVR path: `digit:1`, `done`, `recorded`, `hangup`, ...)."""
    if exhausted:
        return END_UNHANDLED
    chosen = _menu_choices(flow)
    served = asking = unanswered = False
    for node_id, outcome in path:
        node = flow.nodes.get(node_id)
        if asks_for_person(flow, node_id):
            if isinstance(node, RouteNode):
                if outcome == "answered":
                    return END_ANSWERED
                if outcome == "callback":
                    return END_CALLBACK
                if outcome == "self-service":  # straight mode: the caller chose the menus
                    asking = False
                    continue
            if not asking:  # a new ask: where the last one ends is what counts
                asking, unanswered = True, False
            continue
        if asking:  # the flow took the caller on without an agent: the no-answer path
            asking, unanswered = False, True
        heard = outcome == "done" and (
            isinstance(node, SayNode) or (isinstance(node, PlayNode) and node_id in chosen)
        )
        served = served or heard or (isinstance(node, MessageNode) and outcome == "recorded")
    if asking:
        return END_ASKED
    if unanswered:
        return END_NO_ANSWER
    return END_SERVED if served else END_UNSERVED


def call_outcome(ended: bool, agent_answered: bool, ivr: str | None) -> str:
    """The call's outcome. `ivr`: the IVR's `ivr_end`, None when no IVR reported on the call
    (yet: the tracker may settle before the AGI session has ended, and the AGI side settles
    again)."""
    if not ended:
        return LIVE
    if ivr is None or ivr == END_UNHANDLED:
        return FALLBACK
    if agent_answered or ivr == END_ANSWERED:
        return ANSWERED
    return {
        END_CALLBACK: CALLBACK_BOOKED,
        END_NO_ANSWER: OVERFLOW,
        END_ASKED: ABANDONED,
        END_SERVED: SELF_SERVICE,
    }.get(ivr, IVR_ABANDONED)


def own_call_outcome(reached: bool) -> str:
    """A callback or survey call of ours (`call.kind`): did it reach the citizen."""
    return ANSWERED if reached else NOT_REACHED
