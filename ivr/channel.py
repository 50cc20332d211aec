"""The call channel: what a flow can do to a call.

`CallChannel` is the one seam between the flow runtime and Asterisk; `AgiChannel`
(hotline/pbx/agi_channel.py) speaks it over AGI, and tests drive the runtime with a scripted fake.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


class ChannelError(Exception):
    """The channel failed; an adapter's own errors derive from it (hotline.pbx.agi)."""


class ChannelGone(ChannelError):
    """The caller hung up (or the channel is otherwise gone): the flow ends here."""


class ChannelTimeout(ChannelError):
    """Asterisk did not answer a command in time: the session is given up."""


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

    async def ask(self, prompts: Sequence[str], timeout: float) -> str:
        """Play `prompts` (any key interrupts) and wait `timeout` s for one key; '' if none."""
        ...

    async def collect(
        self,
        prompts: Sequence[str],
        max_length: int,
        terminator: str,
        timeout: float,
        inter_digit_timeout: float,
    ) -> str | None:
        """Keys up to `max_length` or the terminator (not included); None if none at all."""
        ...

    async def record(self, file: str, max_seconds: int) -> bool:
        """Record the caller to `file` (WAV, as Asterisk names it) after a beep; # ends it.
        True when the caller hung up while speaking (the message is kept all the same)."""
        ...

    async def dial(self, target: str, timeout: int) -> DialResult: ...

    async def get_variable(self, name: str) -> str: ...

    async def set_variable(self, name: str, value: str) -> None: ...
