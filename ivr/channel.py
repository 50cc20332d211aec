"""The call channel: what a flow can do to a call, and its AGI adapter.

`CallChannel` is the one seam between the flow runtime and Asterisk; `AgiChannel` speaks it
over an `AgiSession` (FastAGI), and tests drive the runtime with a scripted fake.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from routing.directory import ENDPOINT_NAME

from .agi import AgiSession, ChannelGone

log = logging.getLogger("hotline.channel")

ALL_KEYS = "0123456789*#"


@dataclass(frozen=True)
class DialResult:
    status: str  # Asterisk's DIALSTATUS: ANSWER, BUSY, NOANSWER, CHANUNAVAIL, ...

    @property
    def answered(self) -> bool:
        return self.status == "ANSWER"


class CallChannel(Protocol):
    async def answer(self) -> None: ...

    async def play(self, prompts: Sequence[str], escape: str = "") -> str:
        """Play prompts in turn; return the key that interrupted them, or ''."""
        ...

    async def ask(self, prompt: str, timeout: float) -> str:
        """Play `prompt` and wait for one key; '' on timeout."""
        ...

    async def dial(self, endpoint: str, timeout: int) -> DialResult: ...

    async def get_variable(self, name: str) -> str: ...

    async def set_variable(self, name: str, value: str) -> None: ...


class AgiChannel:
    def __init__(self, session: AgiSession) -> None:
        self.session = session

    async def answer(self) -> None:
        await self.session.command("ANSWER")

    async def play(self, prompts: Sequence[str], escape: str = "") -> str:
        for prompt in prompts:
            reply = await self.session.command("STREAM FILE", prompt, escape)
            if reply.number < 0:
                if self.session.hung_up:
                    raise ChannelGone("hung up during playback")
                log.warning("event=prompt.missing prompt=%s", prompt)
            elif reply.number > 0:
                return chr(reply.number)
        return ""

    async def ask(self, prompt: str, timeout: float) -> str:
        reply = await self.session.command("GET DATA", prompt, str(int(timeout * 1000)), "1")
        if reply.result == "-1":
            raise ChannelGone("hung up while reading digits")
        return reply.result if reply.result in ALL_KEYS and reply.result else ""

    async def dial(self, endpoint: str, timeout: int) -> DialResult:
        if not ENDPOINT_NAME.match(endpoint):
            raise ValueError(f"refusing to dial a malformed endpoint {endpoint!r}")
        # Dial runs as long as the conversation: no command timeout beyond the session's
        await self.session.command("EXEC", "Dial", f"PJSIP/{endpoint},{int(timeout)}")
        return DialResult(await self.get_variable("DIALSTATUS"))

    async def get_variable(self, name: str) -> str:
        reply = await self.session.command("GET VARIABLE", name)
        return reply.data if reply.result == "1" else ""

    async def set_variable(self, name: str, value: str) -> None:
        await self.session.command("SET VARIABLE", name, value)
