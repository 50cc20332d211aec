"""The AGI session layer: our own, over asyncio streams, for FastAGI.

panoramisk's FastAGI `Application` freezes the loop on an empty connection, takes Asterisk's
inline `HANGUP` line as a reply (every later reply is then shifted by one), misreads
multi-line 520 replies and has no timeouts. Here:

- headers are read with a deadline and a size cap, decoded tolerantly (caller names may not
  be UTF-8); an empty or silent connection just ends;
- a reply is read with a deadline; `HANGUP` lines and `100 Trying` are noted and skipped;
  a 520 reply is read to its `520 End of proper usage.` line;
- the deadlines are kept by one watchdog per server (checked every WATCHDOG_TICK), not by a
  timer per read: a timer per AGI command cost as much as the rest of the session layer;
- arguments are quoted and escaped, and CR, LF or NUL in one is refused: a caller-controlled
  value can never add an AGI command.

Errors:  AgiError
           ├─ ChannelGone      the caller hung up or the connection closed (511, EOF, reset)
           ├─ AgiTimeout       no reply within the command timeout
           └─ AgiCommandFailed 510 / 520 / any reply other than 200
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Awaitable, Callable
from typing import NamedTuple

log = logging.getLogger("hotline.agi")

MAX_HEADER_LINES = 200
WATCHDOG_TICK = 0.1  # seconds: header and command timeouts are checked this often
MAX_LINE = 16 * 1024
_REPLY = re.compile(r"^(\d{3})[ -](?:result=(-?[^\s(]*))?\s*(?:\((.*)\))?\s*(.*)$")
_PLAIN_200 = "200 result="  # the common reply: a result, maybe `endpos=N`, no "(...)" part


class AgiError(Exception):
    pass


class ChannelGone(AgiError):
    pass


class AgiTimeout(AgiError):
    pass


class AgiCommandFailed(AgiError):
    pass


class Reply(NamedTuple):
    """One reply; a NamedTuple (immutable, like a frozen dataclass) because one is built per
    AGI command and a tuple builds in less than half the time."""

    code: int
    result: str
    data: str  # the "(...)" part, e.g. "timeout" or a variable's value
    rest: str  # what follows, e.g. "endpos=1234"

    @property
    def number(self) -> int:
        try:
            return int(self.result)
        except ValueError:
            return -1


def parse_reply(line: str) -> Reply:
    line = line.strip()
    if line.startswith(_PLAIN_200) and "(" not in line:
        # Nearly every reply has this shape ("200 result=0 endpos=1234", "200 result=49"):
        # a number, then maybe more after one space. Read it without the regex; the parts
        # are the ones _REPLY gives. Any other shape (an empty result, a "(...)") takes it.
        result, _, rest = line[len(_PLAIN_200) :].partition(" ")
        if result.lstrip("-").isdigit():
            return Reply(200, result, "", rest.lstrip())
    match = _REPLY.match(line)
    if not match:
        raise AgiCommandFailed(f"unreadable AGI reply {line[:80]!r}")
    code, result, data, rest = match.groups()
    return Reply(int(code), result or "", data or "", rest or "")


def quote(arg: str) -> str:
    """One AGI argument, quoted for Asterisk's parser (whitespace splits, backslash escapes)."""
    if "\n" in arg or "\r" in arg or "\0" in arg:
        raise ValueError(f"AGI argument carries a line break or NUL: {arg[:40]!r}")
    return '"' + arg.replace("\\", "\\\\").replace('"', '\\"') + '"'


def format_command(verb: str, *args: str) -> bytes:
    """`verb` is ours (a fixed command name); every argument is quoted."""
    return (" ".join([verb, *map(quote, args)]) + "\n").encode("utf-8")


def _decode(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace").rstrip("\r\n")


def parse_headers(block: bytes) -> dict[str, str] | None:
    """The `agi_*: value` lines of a header block; None when there are none (or too many)."""
    # decoded as one text: "\n" is never part of a UTF-8 sequence, so the lines and their
    # replacement characters are the same as decoding line by line
    lines = block.decode("utf-8", errors="replace").split("\n")
    if len(lines) > MAX_HEADER_LINES:
        return None
    headers: dict[str, str] = {}
    for line in lines:
        key, sep, value = line.partition(":")
        if sep and key.startswith("agi_"):
            headers[key.strip()] = value.strip()
    return headers or None


class AgiSession:
    """One AGI conversation with one channel."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        headers: dict[str, str],
        command_timeout: float,
    ) -> None:
        self.reader = reader
        self.writer = writer
        self.headers = headers
        self.command_timeout = command_timeout
        self.hung_up = False
        # The deadline of what the session waits for, its headers or a reply (loop time; 0:
        # none). The server's watchdog cancels a session past it: one timer for all sessions
        # instead of one per read.
        self.deadline = 0.0
        self.task = asyncio.current_task()
        self._expired = False

    def expire(self) -> None:
        """Called by the watchdog: the headers or the pending reply did not come in time."""
        if self.task is not None and not self._expired:
            self._expired = True
            self.task.cancel()

    def _timed_out(self) -> bool:
        """After a CancelledError: True when it was the watchdog's (the task is uncancelled),
        False when the task itself is being cancelled."""
        if not self._expired:
            return False
        self._expired = False
        if self.task is not None:
            self.task.uncancel()
        return True

    async def read_headers(self, timeout: float) -> bool:
        """The `agi_*` block into `headers`; False when the peer sent nothing usable in time."""
        self.deadline = asyncio.get_running_loop().time() + timeout
        try:
            # one read for the whole block; the stream's limit (MAX_LINE) caps its size
            block = await self.reader.readuntil(b"\n\n")
        except asyncio.CancelledError:
            if not self._timed_out():
                raise
            return False  # silent
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, OSError):
            return False  # closed or cut before the blank line, oversized, or broken
        finally:
            self.deadline = 0.0
        headers = parse_headers(block)
        if headers is None:
            return False
        self.headers = headers
        return True

    @property
    def script(self) -> str:
        """The requested path without its ?query (Asterisk keeps the query in it)."""
        return self.headers.get("agi_network_script", "").partition("?")[0].strip("/")

    def arg(self, n: int) -> str:
        return self.headers.get(f"agi_arg_{n}", "")

    async def command(self, verb: str, *args: str, timeout: float | None = None) -> Reply:
        writer = self.writer
        try:
            writer.write(format_command(verb, *args))
            # drain() only waits while the transport's buffer is over its high-water mark.
            # A command line is small and the socket normally takes it at once, so drain only
            # when something is left unsent. A connection lost meanwhile shows when the
            # reply is read (end of stream or the connection's error: ChannelGone below).
            if writer.transport.get_write_buffer_size():
                await writer.drain()
        except (ConnectionError, RuntimeError) as exc:
            raise ChannelGone(f"connection closed while sending {verb}") from exc
        limit = timeout or self.command_timeout
        self.deadline = asyncio.get_running_loop().time() + limit
        try:
            reply = await self._reply()
        except asyncio.CancelledError:
            if not self._timed_out():
                raise
            log.warning("event=agi.timeout uniqueid=%s", self.headers.get("agi_uniqueid", "?"))
            raise AgiTimeout(f"no reply to {verb} within {limit:g} s") from None
        except (ValueError, asyncio.LimitOverrunError):
            raise AgiCommandFailed(f"{verb}: a reply line longer than {MAX_LINE} bytes") from None
        except OSError as exc:  # the connection failed (reset, timed out) while we waited
            self.hung_up = True
            raise ChannelGone(f"connection lost waiting for the reply to {verb}") from exc
        finally:
            self.deadline = 0.0
        if reply.code == 511:
            self.hung_up = True
            raise ChannelGone("channel is dead")
        if reply.code != 200:
            raise AgiCommandFailed(f"{verb}: {reply.code} {reply.rest or reply.data}".strip())
        return reply

    async def _reply(self) -> Reply:
        while True:
            raw = await self.reader.readline()
            if not raw:
                self.hung_up = True
                raise ChannelGone("connection closed")
            line = _decode(raw)
            if not line:
                continue
            if line.startswith("HANGUP"):
                self.hung_up = True  # inline notice; the reply still follows
                continue
            if line.startswith("100 "):
                continue  # "100 Trying..." before a GOSUB's result
            if line.startswith("520-"):
                while line and not line.startswith("520 "):
                    raw = await self.reader.readline()
                    if not raw:
                        raise ChannelGone("connection closed inside a 520 reply")
                    line = _decode(raw)
                return Reply(520, "", "", "invalid command syntax")
            return parse_reply(line)

    async def close(self) -> None:
        try:
            self.writer.close()
            await self.writer.wait_closed()
        except (ConnectionError, RuntimeError):
            pass


Handler = Callable[[AgiSession], Awaitable[None]]


class FastAgiServer:
    """Accepts FastAGI connections and hands each complete session to `handler`."""

    def __init__(
        self,
        handler: Handler,
        host: str,
        port: int,
        header_timeout: float,
        command_timeout: float,
        max_sessions: int,
    ) -> None:
        self.handler = handler
        self.host = host
        self.port = port
        self.header_timeout = header_timeout
        self.command_timeout = command_timeout
        self.slots = asyncio.Semaphore(max_sessions)
        self.tasks: set[asyncio.Task[None]] = set()
        self.sessions: set[AgiSession] = set()
        self.watchdog: asyncio.Task[None] | None = None
        self.server: asyncio.Server | None = None

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._accept, self.host, self.port, limit=MAX_LINE)
        self.watchdog = asyncio.create_task(self._watch())

    async def _watch(self, tick: float = WATCHDOG_TICK) -> None:
        """Expire sessions whose headers or pending reply are past their deadline (within one
        tick); each session says what timed out (a command's timeout is logged there)."""
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(tick)
            now = loop.time()
            for session in [s for s in self.sessions if s.deadline and now > s.deadline]:
                session.expire()

    async def close(self, grace: float = 2.0) -> None:
        if self.server is not None:
            self.server.close()
        if self.watchdog is not None:
            self.watchdog.cancel()
        if self.tasks:
            _, pending = await asyncio.wait(self.tasks, timeout=grace)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        if self.server is not None:
            await self.server.wait_closed()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.tasks.add(task)
        try:
            if self.slots.locked():
                log.warning("event=agi.refused reason=too-many-sessions")
                return  # Asterisk sees FAILURE and the dialplan fallback takes the call
            async with self.slots:
                session = AgiSession(reader, writer, {}, self.command_timeout)
                self.sessions.add(session)  # the watchdog times the headers, then each reply
                try:
                    if not await session.read_headers(self.header_timeout):
                        return  # an empty, silent or garbled connection just ends
                    await self.handler(session)
                except AgiError as exc:
                    log.info(
                        "event=agi.ended uniqueid=%s reason=%r",
                        session.headers.get("agi_uniqueid", "?"),
                        str(exc),
                    )
                except Exception:
                    log.exception(
                        "event=agi.crashed uniqueid=%s", session.headers.get("agi_uniqueid", "?")
                    )
                finally:
                    self.sessions.discard(session)
        finally:
            self.tasks.discard(task)
            with contextlib.suppress(RuntimeError):
                writer.close()
