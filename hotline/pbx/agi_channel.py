"""The AGI adapter of the call channel: `AgiChannel` speaks `ivr.channel.CallChannel` over an
AGI conversation (FastAGI's `AgiSession`, or the classic entry's over pyst2)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Protocol

from hotline.pbx.agi import ChannelGone, Reply
from ivr.channel import DialResult
from routing.directory import ENDPOINT_NAME

log = logging.getLogger("hotline.channel")

ALL_KEYS = "0123456789*#"
CONVERSATION_LIMIT = 4 * 3600.0  # seconds a Dial (the whole conversation) may take
AGENT_LEG_CONTEXT = "hotline-agent-leg"  # the dialplan's set-up of each agent leg
# g: when the agent hangs up first the caller stays, for the survey;
# b(): each agent leg gets the survey feature code before it rings
DIAL_OPTIONS = f"gb({AGENT_LEG_CONTEXT}^s^1)"


class AgiConversation(Protocol):
    """An AGI conversation: FastAGI's `AgiSession`, or the classic entry's over pyst2."""

    headers: dict[str, str]

    @property
    def hung_up(self) -> bool: ...

    async def command(self, verb: str, *args: str, timeout: float | None = None) -> Reply: ...


class AgiChannel:
    def __init__(self, session: AgiConversation) -> None:
        self.session = session

    async def answer(self) -> None:
        await self.session.command("ANSWER")

    async def play(self, prompts: Sequence[str], escape: str = "") -> str:
        for prompt in prompts:
            reply = await self.session.command("STREAM FILE", prompt, escape)
            number = reply.number
            if number < 0:
                await self._playback_failed(reply, prompt)
            elif number > 0:
                return chr(number)
        return ""

    async def _playback_failed(self, reply: Reply, prompt: str) -> None:
        """STREAM FILE answers -1 both for a file it cannot open and for a caller who hung up
        while it played; Asterisk's HANGUP notice may come only after the reply. A file that
        never opened ends at endpos 0; otherwise, or if the channel is gone when asked, it
        was the caller who left."""
        if self.session.hung_up or _endpos(reply) > 0:
            raise ChannelGone("hung up during playback")
        status = await self.session.command("CHANNEL STATUS")
        if self.session.hung_up or status.code != 200 or status.number < 0:
            raise ChannelGone("hung up during playback")
        log.warning("event=prompt.missing prompt=%s", prompt)

    async def wait_for_digit(self, timeout: float) -> str:
        number = (await self.session.command("WAIT FOR DIGIT", str(int(timeout * 1000)))).number
        if number < 0:
            raise ChannelGone("hung up while waiting for a key")
        return chr(number) if number > 0 else ""

    async def ask(self, prompts: Sequence[str], timeout: float) -> str:
        # play() and wait_for_digit() written out: a menu step is the commonest, and each
        # coroutine layer costs on every command and again on every suspend and resume
        command = self.session.command
        for prompt in prompts:
            reply = await command("STREAM FILE", prompt, ALL_KEYS)
            number = reply.number
            if number < 0:
                await self._playback_failed(reply, prompt)
            elif number > 0:
                return chr(number)
        number = (await command("WAIT FOR DIGIT", str(int(timeout * 1000)))).number
        if number < 0:
            raise ChannelGone("hung up while waiting for a key")
        return chr(number) if number > 0 else ""

    async def collect(
        self,
        prompts: Sequence[str],
        max_length: int,
        terminator: str,
        timeout: float,
        inter_digit_timeout: float,
    ) -> str | None:
        key = await self.ask(prompts, timeout)
        if not key:
            return None
        keys = ""
        while key and key != terminator:
            keys += key
            if len(keys) >= max_length:
                break
            key = await self.wait_for_digit(inter_digit_timeout)
        return keys

    async def record(self, file: str, max_seconds: int) -> bool:
        # ends on #, on max_seconds, or after 6 s of silence; 'beep' tells the caller to speak
        reply = await self.session.command(
            "RECORD FILE",
            file,
            "wav",
            "#",
            str(max_seconds * 1000),
            "BEEP",
            "s=6",
            timeout=max_seconds + 30,
        )
        return reply.number < 0 or self.session.hung_up

    async def dial(self, target: str, timeout: int) -> DialResult:
        """`target`: an endpoint, or endpoint@trunk for a seat on another site."""
        if not all(ENDPOINT_NAME.match(part) for part in target.split("@", 1)):
            raise ValueError(f"refusing to dial a malformed target {target!r}")
        # Dial returns when the conversation ends: its own, long limit
        await self.session.command(
            "EXEC",
            "Dial",
            f"PJSIP/{target},{int(timeout)},{DIAL_OPTIONS}",
            timeout=CONVERSATION_LIMIT,
        )
        return DialResult(await self.get_variable("DIALSTATUS"))

    async def get_variable(self, name: str) -> str:
        reply = await self.session.command("GET VARIABLE", name)
        return reply.data if reply.result == "1" else ""

    async def set_variable(self, name: str, value: str) -> None:
        await self.session.command("SET VARIABLE", name, value)


def _endpos(reply: Reply) -> int:
    """The sample a STREAM FILE reply says playback reached ("endpos=1234"), 0 if none."""
    _, found, value = reply.rest.partition("endpos=")
    head = value.split(" ", 1)[0]
    return int(head) if found and head.isdigit() else 0
