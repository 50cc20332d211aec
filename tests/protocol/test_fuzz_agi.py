"""Property-based and fuzz tests of the FastAGI session layer (hotline/pbx/agi.py) over loopback.

What must hold whatever the peer sends, and however TCP cuts it:
- replies never shift: inline `HANGUP`, `100 Trying`, blank lines and multi-line 520
  replies between them leave every later reply with its own command;
- a UTF-8 character cut across reads survives (headers and replies), bytes that are not
  UTF-8 become U+FFFD and the call goes on;
- a session fails only with an `AgiError` (never a crash), in bounded time (timeouts), and
  the server keeps serving the next call: garbage, huge lines, empty and silent connections.

Example counts are bounded so the whole file runs in seconds (see docs/RELIABILITY.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hotline.pbx.agi import (
    MAX_LINE,
    AgiCommandFailed,
    AgiError,
    AgiSession,
    FastAgiServer,
    format_command,
)
from tests.protocol.test_fastagi import asterisk, headers, with_server

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))

# What Asterisk may put before a reply (res_agi.c): its inline hang-up notice, GOSUB's
# "100 Trying", blank lines; `None` marks a whole multi-line 520 usage reply instead.
NOISE = [b"HANGUP\n", b"100 result=0 Trying...\n", b"\n", b"\r\n"]
USAGE_520 = (
    b"520-Invalid command syntax.  Proper usage follows:\n"
    b"Usage: GET VARIABLE <variablename>\n"
    b"     Returns 0 if <variablename> is not set.\n"
    b"520 End of proper usage.\n"
)
VALUES = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n()"), max_size=30
)


async def send_cut(writer: asyncio.StreamWriter, data: bytes, cuts: list[int]) -> None:
    """Write `data` in pieces cut at `cuts` (positions), each piece its own TCP segment."""
    last = 0
    for cut in sorted({c % (len(data) + 1) for c in cuts} | {len(data)}):
        if cut > last:
            writer.write(data[last:cut])
            await writer.drain()
            await asyncio.sleep(0.001)
            last = cut


@FUZZ
@given(
    replies=st.lists(
        st.tuples(
            VALUES,  # the variable's value
            st.lists(st.sampled_from(NOISE), max_size=3),  # lines before the reply
            st.booleans(),  # a 520 usage reply instead of the value
        ),
        min_size=1,
        max_size=8,
    ),
    cuts=st.lists(st.integers(min_value=0, max_value=10_000), max_size=12),
)
def test_replies_never_shift_whatever_comes_between_them_or_however_they_are_cut(
    replies: list[tuple[str, list[bytes], bool]], cuts: list[int]
) -> None:
    got: list[object] = []

    async def handler(session: AgiSession) -> None:
        for i in range(len(replies)):
            try:
                got.append((await session.command("GET VARIABLE", f"V{i}")).data)
            except AgiCommandFailed:
                got.append(520)

    async def body(port: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(headers())
        for i, (value, noise, usage) in enumerate(replies):
            line = await reader.readline()
            assert line == format_command("GET VARIABLE", f"V{i}")  # in order, none lost
            reply = USAGE_520 if usage else f"200 result=1 ({value})\n".encode()
            await send_cut(writer, b"".join(noise) + reply, cuts)
        assert await reader.read() == b""  # the handler is done: the server closes
        writer.close()

    asyncio.run(with_server(handler, body))
    expected = [520 if usage else value for value, _, usage in replies]
    assert got == expected


@pytest.mark.parametrize("where", ["header", "reply"])
def test_a_multibyte_character_cut_at_every_byte_position_survives(where: str) -> None:
    name = "张三丰 José Ğ 😀"
    encoded = name.encode()
    got: list[str] = []

    async def handler(session: AgiSession) -> None:
        if where == "header":
            got.append(session.headers["agi_calleridname"])
        else:
            got.append((await session.command("GET VARIABLE", "CALLERID(name)")).data)

    async def body(port: int) -> None:
        for cut in range(1, len(encoded)):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            if where == "header":
                data = headers(encoded)
                at = data.index(encoded) + cut
            else:
                writer.write(headers())
                await reader.readline()
                data = b"200 result=1 (" + encoded + b")\n"
                at = len(b"200 result=1 (") + cut
            await send_cut(writer, data, [at])
            await reader.read()
            writer.close()

    asyncio.run(with_server(handler, body))
    assert got == [name] * (len(encoded) - 1)


@FUZZ
@given(name=st.binary(max_size=60).filter(lambda b: b"\n" not in b))
def test_any_bytes_in_a_caller_name_are_served_decoded_tolerantly(name: bytes) -> None:
    got: list[str] = []

    async def handler(session: AgiSession) -> None:
        got.append(session.headers.get("agi_calleridname", ""))
        await session.command("ANSWER")

    async def body(port: int) -> None:
        await asterisk(port, {b"ANSWER": [b"200 result=0\n"]}, head=headers(name))

    asyncio.run(with_server(handler, body))
    assert got == [name.decode("utf-8", "replace").strip()]


def crash_log(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "agi.crashed" in r.getMessage()]


@FUZZ
@given(
    garbage=st.one_of(
        st.binary(max_size=3000),
        st.lists(st.sampled_from([b"agi_", b":", b"\n", b"\n\n", b"\xff", b" ", b"x"])).map(
            b"".join
        ),
    )
)
def test_garbage_as_a_whole_connection_never_crashes_the_server(
    garbage: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    served: list[str] = []
    failures: list[type[BaseException]] = []

    async def handler(session: AgiSession) -> None:
        try:
            await session.command("ANSWER")
            served.append(session.headers.get("agi_calleridname", "?"))
        except BaseException as exc:  # recorded for the test body; the server goes on
            failures.append(type(exc))
            raise

    async def body(port: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(garbage)
        await writer.drain()
        writer.write_eof()
        await reader.read()  # the server ends it: headers unusable, or its reply missing
        writer.close()
        await asterisk(port, {b"ANSWER": [b"200 result=0\n"]})  # the next call is served

    with caplog.at_level(logging.INFO, logger="hotline.agi"):
        asyncio.run(with_server(handler, body, header_timeout=0.5))
    assert served[-1] == "Zhang"
    assert all(issubclass(f, AgiError) for f in failures), failures
    assert not crash_log(caplog)


@FUZZ
@given(reply=st.binary(min_size=1, max_size=300))
def test_a_garbage_reply_fails_only_its_command_with_an_agi_error(
    reply: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    outcomes: list[object] = []

    async def handler(session: AgiSession) -> None:
        try:
            outcomes.append((await session.command("GET VARIABLE", "X", timeout=1)).code)
        except AgiError as exc:
            outcomes.append(type(exc))

    async def body(port: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(headers())
        await reader.readline()
        writer.write(reply)
        await writer.drain()
        writer.write_eof()
        await reader.read()
        writer.close()
        await asterisk(port, {b"GET VARIABLE": [b"200 result=1 (ok)\n"]})

    with caplog.at_level(logging.INFO, logger="hotline.agi"):
        asyncio.run(with_server(handler, body))
    assert len(outcomes) == 2 and outcomes[-1] == 200
    assert outcomes[0] == 200 or (
        isinstance(outcomes[0], type) and issubclass(outcomes[0], AgiError)
    )
    assert not crash_log(caplog)


def test_huge_lines_are_refused_in_bounded_memory_and_time() -> None:
    served: list[str] = []
    outcomes: list[object] = []

    async def handler(session: AgiSession) -> None:
        if session.headers.get("agi_calleridname") == "long-reply":
            try:
                await session.command("GET VARIABLE", "X")
            except AgiError as exc:
                outcomes.append(type(exc))
            return
        await session.command("ANSWER")
        served.append(session.headers["agi_calleridname"])

    async def body(port: int) -> None:
        # a 1 MB header line, then a 1 MB reply line: each ends its own session (the server
        # closes with our bytes unread: a reset is what we may see)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        with contextlib.suppress(ConnectionError):
            writer.write(b"agi_calleridname: " + b"x" * 1_000_000 + b"\n\n")
            await writer.drain()
            await reader.read()
        writer.close()
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(headers(b"long-reply"))
        await reader.readline()
        with contextlib.suppress(ConnectionError):
            writer.write(b"200 result=1 (" + b"y" * 1_000_000 + b")\n")
            await writer.drain()
            await reader.read()
        writer.close()
        await asterisk(port, {b"ANSWER": [b"200 result=0\n"]})

    started = time.monotonic()
    asyncio.run(with_server(handler, body))
    assert time.monotonic() - started < 5
    assert outcomes == [AgiCommandFailed] and served == ["Zhang"]
    assert MAX_LINE < 1_000_000


def test_a_hundred_empty_and_silent_connections_do_not_delay_a_real_call() -> None:
    served: list[float] = []

    async def handler(session: AgiSession) -> None:
        await session.command("ANSWER")
        served.append(time.monotonic())

    async def main() -> None:
        server = FastAgiServer(handler, "127.0.0.1", 0, 5.0, 2.0, 200)
        await server.start()
        assert server.server is not None
        port = server.server.sockets[0].getsockname()[1]
        idle = []
        try:
            for i in range(100):
                _, writer = await asyncio.open_connection("127.0.0.1", port)
                if i % 2:
                    writer.close()  # a port scan: connect and close at once
                else:
                    idle.append(writer)  # connects and says nothing
            started = time.monotonic()
            await asterisk(port, {b"ANSWER": [b"200 result=0\n"]})
            assert served and served[0] - started < 0.5
        finally:
            for writer in idle:
                writer.close()
            await server.close(grace=0.5)

    asyncio.run(main())
    assert len(served) == 1


def test_with_every_session_slot_held_by_silent_peers_a_call_is_refused_at_once() -> None:
    """The cap on sessions (fastagi max_sessions) is held by connections that have not sent
    their headers yet, until header_timeout: a call beyond it is closed at once (Asterisk
    sees AGISTATUS=FAILURE, the dialplan's fallback queue takes it) and served again once the
    silent ones time out. The FastAGI port must be reachable by Asterisk only."""
    outcomes: list[str] = []

    async def handler(session: AgiSession) -> None:
        await session.command("ANSWER")
        outcomes.append("served")

    async def main() -> None:
        server = FastAgiServer(handler, "127.0.0.1", 0, 0.5, 2.0, 5)
        await server.start()
        assert server.server is not None
        port = server.server.sockets[0].getsockname()[1]
        idle = [(await asyncio.open_connection("127.0.0.1", port))[1] for _ in range(5)]
        try:
            await asyncio.sleep(0.05)
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(headers())
            with contextlib.suppress(ConnectionError):
                assert await asyncio.wait_for(reader.read(), 1) == b""  # closed at once
            outcomes.append("refused")
            writer.close()
            await asyncio.sleep(0.8)  # header_timeout frees the silent ones' slots
            await asterisk(port, {b"ANSWER": [b"200 result=0\n"]})
        finally:
            for w in idle:
                w.close()
            await server.close(grace=0.5)

    asyncio.run(main())
    assert outcomes == ["refused", "served"]


@FUZZ
@given(silence_after=st.integers(min_value=0, max_value=3))
def test_a_peer_that_stops_answering_times_out_and_the_server_goes_on(
    silence_after: int,
) -> None:
    outcomes: list[object] = []

    async def handler(session: AgiSession) -> None:
        if session.headers["agi_calleridname"] == "next":
            await session.command("ANSWER")
            outcomes.append("next served")
            return
        try:
            for i in range(silence_after + 1):
                await session.command("GET VARIABLE", f"V{i}", timeout=0.3)
                outcomes.append(i)
        except AgiError as exc:
            outcomes.append(type(exc).__name__)

    async def body(port: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(headers(b"stuck"))
        for _ in range(silence_after):
            await reader.readline()
            writer.write(b"200 result=1 (v)\n")
        await reader.readline()  # ...and this one is never answered
        await asyncio.sleep(0.6)
        await asterisk(port, {b"ANSWER": [b"200 result=0\n"]}, head=headers(b"next"))
        writer.close()

    asyncio.run(with_server(handler, body))
    assert outcomes == [*range(silence_after), "AgiTimeout", "next served"]
