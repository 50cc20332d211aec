"""The classic process-per-call AGI entry, over pyst2, running the same flows.

For sites that cannot run the controller daemon: Asterisk starts `hotline agi FLOW` for each
call (`AGI(/path/to/hotline,-c,/etc/hotline/hotline.toml,agi,12333)`), the process speaks AGI
on stdin/stdout through pyst2 and runs the flow with the same call handler as FastAGI (built
by the `hotline agi` command: hotline/controller/assembly.py).

pyst2 is used for what it does well (the agi_* environment, writing commands, SIGHUP on
hang-up); its quoting does not escape, so every argument is quoted by `hotline.pbx.agi.quote` first.
Nothing but AGI may be written to stdout.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import Callable
from typing import Any, Protocol

from asterisk.agi import (
    AGI,
    AGIAppError,
    AGIHangup,
    AGIInvalidCommand,
    AGIUnknownError,
    AGIUsageError,
)

from hotline.pbx.agi import AgiCommandFailed, ChannelGone, Reply, quote
from hotline.pbx.agi_channel import AgiConversation
from hotline.store.writebehind import WriteBehind

log = logging.getLogger("hotline.classic")


class CallEntry(Protocol):
    """What serves the call: the controller's `CallHandler`."""

    async def handle(
        self, session: AgiConversation, flow_name: str, site: str = "main"
    ) -> None: ...


class Pyst2Session:
    """`AgiConversation` over pyst2's blocking stdin/stdout AGI (one call per process)."""

    def __init__(self, agi: Any) -> None:
        self.agi = agi
        self.headers: dict[str, str] = dict(agi.env)

    @property
    def hung_up(self) -> bool:
        return bool(self.agi._got_sighup)  # set by pyst2's SIGHUP handler

    async def command(self, verb: str, *args: str, timeout: float | None = None) -> Reply:
        try:
            result = self.agi.execute(verb, *(quote(a) for a in args))
        except AGIHangup:
            raise ChannelGone("the caller hung up") from None
        except (ValueError, OSError):  # pyst2 on a closed stdin: int('') of an empty reply
            raise ChannelGone("Asterisk closed the AGI pipe") from None
        except AGIAppError:  # pyst2's word for result=-1 (a missing prompt, or a hang-up)
            return Reply(200, "-1", "", "")
        except (AGIInvalidCommand, AGIUsageError, AGIUnknownError) as exc:
            raise AgiCommandFailed(f"{verb}: {exc}") from None
        value, data = result.get("result", ("", ""))
        return Reply(200, value, data, "")


def run_classic(build: Callable[[], tuple[CallEntry, WriteBehind]], flow: str) -> int:
    """Serve one call on stdin/stdout; pyst2 must run in the main thread (signals). `build`
    makes the call handler and its store once pyst2 has the call."""
    with open(os.devnull, "w") as quiet:  # pyst2 narrates every line on stderr
        agi = AGI(stdin=sys.stdin, stdout=sys.stdout, stderr=quiet)
        handler, store = build()
        asyncio.run(_serve(handler, store, Pyst2Session(agi), flow))
    return 0


FLUSH_SECONDS = 30.0  # a process per call cannot keep writes for long if the db is away


async def _serve(handler: CallEntry, store: WriteBehind, session: Pyst2Session, flow: str) -> None:
    await handler.handle(session, flow)
    try:
        await asyncio.wait_for(store.flush(), FLUSH_SECONDS)
    except TimeoutError:
        log.error("event=store.unwritten kept=%d", store.queue.qsize())
