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
- the session is the connection's asyncio protocol and reads its replies from its own buffer
  (no StreamReader: its three coroutine layers per line were a tenth of the session's cost);
- arguments are quoted and escaped, and CR, LF or NUL in one is refused: a caller-controlled
  value can never add an AGI command.

Errors:  AgiError
           ├─ ChannelGone      the caller hung up or the connection closed (511, EOF, reset)
           ├─ AgiTimeout       no reply within the command timeout
           └─ AgiCommandFailed 510 / 520 / any reply other than 200
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from typing import NamedTuple

from ivr import channel

log = logging.getLogger("hotline.agi")

MAX_HEADER_LINES = 200
WATCHDOG_TICK = 0.1  # seconds: header and command timeouts are checked this often
MAX_LINE = 16 * 1024
_REPLY = re.compile(r"^(\d{3})[ -](?:result=(-?[^\s(]*))?\s*(?:\((.*)\))?\s*(.*)$")
_PLAIN_200 = "200 result="  # the common reply: a result, maybe `endpos=N`, no "(...)" part


class AgiError(channel.ChannelError):
    pass


class ChannelGone(AgiError, channel.ChannelGone):
    pass


class AgiTimeout(AgiError, channel.ChannelTimeout):
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
    """`verb` is ours (a fixed command name); every argument is quoted.

    The lines are remembered: every call sends the same few (its flow's prompts, timeouts,
    variables), and quoting them again cost about a tenth of the session layer. A refused
    argument raises every time (only good lines are kept); the memory is capped."""
    key = (verb, args)
    line = _FORMATTED.get(key)
    if line is None:
        line = (" ".join([verb, *map(quote, args)]) + "\n").encode("utf-8")
        if len(_FORMATTED) >= FORMATTED_REMEMBERED:
            _FORMATTED.clear()
        _FORMATTED[key] = line
    return line


FORMATTED_REMEMBERED = 4096  # command lines kept by format_command
_FORMATTED: dict[tuple[str, tuple[str, ...]], bytes] = {}


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


class AgiSession(asyncio.Protocol):
    """One AGI conversation with one channel: the connection's protocol and its commands.

    The session reads its own bytes (no StreamReader in between): `data_received` keeps them,
    `command` takes its reply's lines straight from that buffer, and waits on one future only
    when the reply has not arrived yet. Flow control as asyncio's streams do it: reading
    pauses while more than 2 * MAX_LINE bytes wait unread, and a command waits while the
    transport's write buffer is over its high-water mark.
    """

    def __init__(self, command_timeout: float, on_connect: Callable[[AgiSession], None]) -> None:
        self.headers: dict[str, str] = {}
        self.command_timeout = command_timeout
        self.hung_up = False
        # The deadline of what the session waits for, its headers or a reply (loop time; 0:
        # none). The server's watchdog cancels a session past it: one timer for all sessions
        # instead of one per read.
        self.deadline = 0.0
        self.task: asyncio.Task[None] | None = None
        self.timed: Callable[[float], None] | None = None  # each reply's round trip, seconds
        self.transport: asyncio.Transport | None = None
        self._on_connect = on_connect
        self._expired = False
        self._buffer = bytearray()
        self._ended = False  # the peer closed its side, or the connection was lost
        self._error: Exception | None = None  # why the connection was lost, if it failed
        self._waiter: asyncio.Future[None] | None = None  # waiting for bytes
        self._read_paused = False
        self._in_520 = False  # inside a multi-line 520 reply
        self._write_paused = False
        self._drained: asyncio.Future[None] | None = None  # waiting for the write buffer
        self._closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    # --- the connection (asyncio calls these) ---------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self._on_connect(self)

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        if len(self._buffer) > 2 * MAX_LINE and not self._read_paused:
            assert self.transport is not None
            self._read_paused = True
            self.transport.pause_reading()
        self._wake()

    def eof_received(self) -> bool:
        self._ended = True
        self._wake()
        return True  # our side stays open until the session ends, as with asyncio's streams

    def connection_lost(self, exc: Exception | None) -> None:
        self._ended = True
        self._error = exc
        self._wake()
        self._write_paused = False
        drained, self._drained = self._drained, None
        if drained is not None and not drained.done():
            drained.set_result(None)
        if not self._closed.done():
            self._closed.set_result(None)

    def pause_writing(self) -> None:
        self._write_paused = True

    def resume_writing(self) -> None:
        self._write_paused = False
        drained, self._drained = self._drained, None
        if drained is not None and not drained.done():
            drained.set_result(None)

    def _wake(self) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _more(self) -> asyncio.Future[None]:
        """A future that is done when more bytes came, the stream ended or the connection
        was lost (a future awaited directly: no coroutine layer per wait)."""
        if self._read_paused:
            assert self.transport is not None
            self._read_paused = False
            self.transport.resume_reading()
        self._waiter = waiter = asyncio.get_running_loop().create_future()
        return waiter

    def _line(self) -> bytes | None:
        """The next line from the buffer, its newline included, as `StreamReader.readline`
        gives it; None when no line is complete yet. At the end of the stream what is left is
        the last line, then b"" for ever."""
        buffer = self._buffer
        end = buffer.find(b"\n")
        if end >= 0:
            line = bytes(buffer[: end + 1])
            del buffer[: end + 1]
            return line
        if self._ended:
            line = bytes(buffer)
            buffer.clear()
            return line
        return None

    # --- the conversation --------------------------------------------------------------

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
            while True:
                end = self._buffer.find(b"\n\n")
                if end > MAX_LINE or (end < 0 and len(self._buffer) > MAX_LINE):
                    return False  # oversized
                if end >= 0:
                    break
                if self._ended:
                    return False  # closed or cut before the blank line, or broken
                await self._more()
        except asyncio.CancelledError:
            if not self._timed_out():
                raise
            return False  # silent
        finally:
            self.deadline = 0.0
        block = bytes(self._buffer[: end + 2])
        del self._buffer[: end + 2]
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
        transport = self.transport
        assert transport is not None
        try:
            transport.write(format_command(verb, *args))
            # A command line is small and the socket normally takes it at once; wait only
            # while the transport's buffer is over its high-water mark. A connection lost
            # meanwhile shows when the reply is read (end of stream or the connection's error).
            if self._write_paused:
                self._drained = drained = asyncio.get_running_loop().create_future()
                await drained
        except (ConnectionError, RuntimeError) as exc:
            raise ChannelGone(f"connection closed while sending {verb}") from exc
        limit = timeout or self.command_timeout
        sent = asyncio.get_running_loop().time()
        self.deadline = sent + limit
        self._in_520 = False
        try:
            # The reply's lines straight from the buffer; a future is awaited only when no
            # line is complete (the loop is written out here: a coroutine per reply would
            # cost on every command and again on every suspend and resume)
            while True:
                raw = self._next_line(verb)
                if raw is None:
                    await self._more()
                elif (reply := self._take(raw)) is not None:
                    break
        except asyncio.CancelledError:
            if not self._timed_out():
                raise
            log.warning("event=agi.timeout uniqueid=%s", self.headers.get("agi_uniqueid", "?"))
            raise AgiTimeout(f"no reply to {verb} within {limit:g} s") from None
        except OSError as exc:  # the connection failed (reset, timed out) while we waited
            self.hung_up = True
            raise ChannelGone(f"connection lost waiting for the reply to {verb}") from exc
        finally:
            self.deadline = 0.0
        if self.timed is not None:
            self.timed(asyncio.get_running_loop().time() - sent)
        if reply.code == 511:
            self.hung_up = True
            raise ChannelGone("channel is dead")
        if reply.code != 200:
            raise AgiCommandFailed(f"{verb}: {reply.code} {reply.rest or reply.data}".strip())
        return reply

    def _next_line(self, verb: str) -> bytes | None:
        """`_line()`, with the checks `StreamReader.readline` makes: a line over MAX_LINE is
        refused (and dropped), and a failed connection raises its error once the buffer is
        read."""
        raw = self._line()
        if raw is None:
            if len(self._buffer) > MAX_LINE:
                self._buffer.clear()
                raise AgiCommandFailed(f"{verb}: a reply line longer than {MAX_LINE} bytes")
            return None
        if len(raw) > MAX_LINE + 1:
            raise AgiCommandFailed(f"{verb}: a reply line longer than {MAX_LINE} bytes")
        if not raw and self._error is not None:
            if isinstance(self._error, OSError):
                raise self._error  # the command says which reply it was waiting for
            raise ChannelGone("connection lost") from self._error
        return raw

    def _take(self, raw: bytes) -> Reply | None:
        """One line read for a reply: the reply, or None for a line that is not one (a blank
        line, an inline `HANGUP`, `100 Trying`, the inside of a multi-line 520)."""
        if not raw:  # the end of the stream
            if self._in_520:
                raise ChannelGone("connection closed inside a 520 reply")
            self.hung_up = True
            raise ChannelGone("connection closed")
        line = _decode(raw)
        if self._in_520:  # read to its "520 End of proper usage." line
            if line and not line.startswith("520 "):
                return None
            self._in_520 = False
            return Reply(520, "", "", "invalid command syntax")
        if not line:
            return None
        if line.startswith("HANGUP"):
            self.hung_up = True  # inline notice; the reply still follows
            return None
        if line.startswith("100 "):
            return None  # "100 Trying..." before a GOSUB's result
        if line.startswith("520-"):
            self._in_520 = True
            return None
        return parse_reply(line)

    async def close(self) -> None:
        if self.transport is not None:
            self.transport.close()
            await self._closed


Handler = Callable[[AgiSession], Awaitable[None]]
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
LOOPBACK: tuple[IPNetwork, ...] = (
    ipaddress.ip_network("127.0.0.0/8"),
    ipaddress.ip_network("::1/128"),
)


def peer_address(transport: asyncio.BaseTransport) -> str:
    peer = transport.get_extra_info("peername")
    return str(peer[0]) if isinstance(peer, tuple) and peer else ""


def allowed(peer: str, allow: Sequence[IPNetwork]) -> bool:
    """Is `peer` (an address as the socket gives it) inside one of the `allow` networks?
    An IPv4 peer on a dual-stack socket (::ffff:a.b.c.d) counts as its IPv4 address."""
    try:
        address = ipaddress.ip_address(peer.split("%", 1)[0])
    except ValueError:
        return False  # a Unix socket or something stranger: not a known Asterisk
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in net for net in allow)


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
        allow: Sequence[IPNetwork] = LOOPBACK,
        timed: Callable[[float], None] | None = None,
    ) -> None:
        self.handler = handler
        self.allow = tuple(allow)  # peers that may speak AGI to us; others are cut at once
        self.timed = timed  # told every command's round trip (the metrics' histogram)
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
        loop = asyncio.get_running_loop()
        self.server = await loop.create_server(
            lambda: AgiSession(self.command_timeout, self._connected), self.host, self.port
        )
        self.watchdog = asyncio.create_task(self._watch())

    def _connected(self, session: AgiSession) -> None:
        assert session.transport is not None
        peer = peer_address(session.transport)
        if not allowed(peer, self.allow):
            # before a byte is read: whoever is not Asterisk gets no AGI conversation, and
            # nothing they send (headers that claim a call) is ever parsed
            session.transport.abort()
            log.warning("event=agi.refused reason=peer-not-allowed peer=%s", peer or "?")
            return
        session.timed = self.timed
        task = asyncio.get_running_loop().create_task(self._serve(session))
        session.task = task
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

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

    async def _serve(self, session: AgiSession) -> None:
        try:
            if self.slots.locked():
                log.warning("event=agi.refused reason=too-many-sessions")
                return  # Asterisk sees FAILURE and the dialplan fallback takes the call
            async with self.slots:
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
            if session.transport is not None:
                session.transport.close()
