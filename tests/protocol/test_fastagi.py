"""The FastAGI session layer against AGI byte streams, including hostile ones.

A scripted 'Asterisk' connects over loopback and answers the commands the way res_agi.c does;
the server must keep serving other calls whatever one connection sends.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from hotline.pbx.agi import (
    AgiCommandFailed,
    AgiSession,
    AgiTimeout,
    ChannelGone,
    FastAgiServer,
    format_command,
    parse_reply,
    quote,
)
from hotline.pbx.agi_channel import AgiChannel

HEADERS = (
    b"agi_network: yes\nagi_network_script: 12333?x=1\nagi_request: agi://127.0.0.1/12333\n"
    b"agi_channel: PJSIP/callers-00000001\nagi_uniqueid: 1795.1\nagi_callerid: 13800000001\n"
    b"agi_calleridname: %s\nagi_arg_1: first\n\n"
)


def headers(name: bytes = b"Zhang") -> bytes:
    return HEADERS % name


async def with_server(
    handler: Callable[[AgiSession], Awaitable[None]],
    body: Callable[[int], Awaitable[None]],
    header_timeout: float = 1.0,
    command_timeout: float = 2.0,
) -> None:
    server = FastAgiServer(handler, "127.0.0.1", 0, header_timeout, command_timeout, 50)
    await server.start()
    assert server.server is not None
    port = server.server.sockets[0].getsockname()[1]
    try:
        await asyncio.wait_for(body(port), 10)
    finally:
        await server.close(grace=0.5)


async def asterisk(
    port: int, replies: dict[bytes, list[bytes]], head: bytes | None = None
) -> list[bytes]:
    """Connect, send headers, answer each command by its verb; returns the commands received."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(head if head is not None else headers())
    seen = []
    while True:
        line = await reader.readline()
        if not line:
            break
        seen.append(line)
        verb = line.split(b'"')[0].strip()
        writer.write(replies[verb].pop(0))
        await writer.drain()
    writer.close()
    return seen


def test_a_session_reads_headers_routes_on_the_path_and_gets_digits() -> None:
    got: list[object] = []

    async def handler(session: AgiSession) -> None:
        got.append((session.script, session.arg(1), session.headers["agi_calleridname"]))
        await session.command("ANSWER")
        reply = await session.command("GET DATA", "menu", "5000", "1")
        got.append(reply.result)

    async def body(port: int) -> None:
        seen = await asterisk(
            port, {b"ANSWER": [b"200 result=0\n"], b"GET DATA": [b"200 result=1\n"]}
        )
        assert seen[1] == b'GET DATA "menu" "5000" "1"\n'

    asyncio.run(with_server(handler, body))
    assert got == [("12333", "first", "Zhang"), "1"]


def test_inline_hangup_line_does_not_shift_later_replies() -> None:
    got: list[object] = []

    async def handler(session: AgiSession) -> None:
        got.append((await session.command("STREAM FILE", "hello", "")).result)
        got.append(session.hung_up)
        got.append((await session.command("GET VARIABLE", "DIALSTATUS")).data)

    async def body(port: int) -> None:
        await asterisk(
            port,
            {
                b"STREAM FILE": [b"HANGUP\n200 result=-1 endpos=0\n"],
                b"GET VARIABLE": [b"200 result=1 (ANSWER)\n"],
            },
        )

    asyncio.run(with_server(handler, body))
    assert got == ["-1", True, "ANSWER"]


def test_multi_line_520_is_read_whole_and_the_next_reply_is_aligned() -> None:
    got: list[object] = []

    async def handler(session: AgiSession) -> None:
        with pytest.raises(AgiCommandFailed):
            await session.command("EXEC", "Dial")
        got.append((await session.command("GET VARIABLE", "X")).data)

    async def body(port: int) -> None:
        await asterisk(
            port,
            {
                b"EXEC": [
                    b"520-Invalid command syntax.  Proper usage follows:\nUsage: EXEC <app>\n"
                    b"520 End of proper usage.\n"
                ],
                b"GET VARIABLE": [b"200 result=1 (ok)\n"],
            },
        )

    asyncio.run(with_server(handler, body))
    assert got == ["ok"]


def test_dead_channel_reply_and_closed_socket_raise_channel_gone() -> None:
    outcomes: list[str] = []

    async def handler(session: AgiSession) -> None:
        try:
            await session.command("STREAM FILE", "x", "")
        except ChannelGone:
            outcomes.append("511")
        try:
            await session.command("ANSWER")
        except ChannelGone:
            outcomes.append("eof")

    async def body(port: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(headers())
        await reader.readline()
        writer.write(b"511 Command Not Permitted on a dead channel or intercept routine\n")
        await reader.readline()
        writer.close()
        await asyncio.sleep(0.2)

    asyncio.run(with_server(handler, body))
    assert outcomes == ["511", "eof"]


def test_a_command_without_reply_times_out() -> None:
    outcomes: list[str] = []

    async def handler(session: AgiSession) -> None:
        try:
            await session.command("ANSWER", timeout=0.3)
        except AgiTimeout as exc:
            outcomes.append(str(exc))

    async def body(port: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(headers())
        await reader.readline()
        await asyncio.sleep(0.6)
        writer.close()

    asyncio.run(with_server(handler, body))
    assert outcomes == ["no reply to ANSWER within 0.3 s"]


@pytest.mark.parametrize(
    "hostile",
    [
        b"",  # a health check or port scan: connect and close
        None,  # connects and never sends anything
        b"\x00\xff\xfe garbage without newline",
        b"x" * 70_000 + b"\n",  # a huge line
        b"agi_network: yes\n" * 300,  # headers that never end
        b"agi_network_script: 12333\n",  # cut before the blank line
    ],
    ids=["empty", "silent", "garbage", "huge-line", "endless-headers", "truncated"],
)
def test_hostile_connections_do_not_stop_other_calls_being_served(hostile: bytes | None) -> None:
    served: list[str] = []

    async def handler(session: AgiSession) -> None:
        await session.command("ANSWER")
        served.append(session.headers["agi_calleridname"])

    async def body(port: int) -> None:
        _, bad = await asyncio.open_connection("127.0.0.1", port)
        if hostile is not None:
            bad.write(hostile)
            if hostile:
                await bad.drain()
            else:
                bad.close()
        # a real call arrives while the hostile connection is open or just closed
        await asterisk(port, {b"ANSWER": [b"200 result=0\n"]})
        bad.close()

    asyncio.run(with_server(handler, body, header_timeout=0.5))
    assert served == ["Zhang"]


def test_non_utf8_caller_name_is_served_with_replacement_characters() -> None:
    names: list[str] = []

    async def handler(session: AgiSession) -> None:
        names.append(session.headers["agi_calleridname"])

    async def body(port: int) -> None:
        await asterisk(port, {}, head=headers("张三".encode("gbk")))

    asyncio.run(with_server(handler, body))
    assert len(names) == 1 and "\ufffd" in names[0]


def test_arguments_are_quoted_and_line_breaks_refused() -> None:
    assert quote('say "hi" \\ there') == '"say \\"hi\\" \\\\ there"'
    assert format_command("SET VARIABLE", "X", "a b") == b'SET VARIABLE "X" "a b"\n'
    for bad in ("a\nEXEC System rm", "a\rb", "a\0b"):
        with pytest.raises(ValueError):
            quote(bad)
        for _ in range(2):  # refused every time: only good lines are remembered
            with pytest.raises(ValueError):
                format_command("SET VARIABLE", "X", bad)
    assert format_command("SET VARIABLE", "X", "a b") == b'SET VARIABLE "X" "a b"\n'


def test_reply_parsing() -> None:
    assert parse_reply("200 result=49 endpos=1234").number == 49
    timeout = parse_reply("200 result= (timeout)")
    assert (timeout.result, timeout.data) == ("", "timeout")
    assert parse_reply("200 result=1 (PJSIP/agent1001-0001)").data == "PJSIP/agent1001-0001"


def test_replies_cut_across_reads_or_early_hangup_notices_are_read_whole() -> None:
    got: list[object] = []

    async def handler(session: AgiSession) -> None:
        got.append((await session.command("STREAM FILE", "hello", "")).rest)
        await asyncio.sleep(0.1)  # the caller hangs up between two commands
        got.append((await session.command("GET VARIABLE", "DIALSTATUS")).data)
        got.append(session.hung_up)

    async def body(port: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(headers())
        await reader.readline()
        for part in (b"200 res", b"ult=0 endp", b"os=1234\n"):
            writer.write(part)
            await writer.drain()
            await asyncio.sleep(0.02)
        writer.write(b"HANGUP\n")
        await reader.readline()
        writer.write(b"200 result=1 (ANSWER)\n")
        await asyncio.sleep(0.1)
        writer.close()

    asyncio.run(with_server(handler, body))
    assert got == ["endpos=1234", "ANSWER", True]


def test_a_reply_line_over_the_limit_fails_the_command_not_the_server() -> None:
    outcomes: list[str] = []

    async def handler(session: AgiSession) -> None:
        try:
            await session.command("GET VARIABLE", "X")
        except AgiCommandFailed as exc:
            outcomes.append(str(exc))

    async def body(port: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(headers())
        await reader.readline()
        writer.write(b"200 result=1 (" + b"x" * 40_000)
        await writer.drain()
        await reader.read()  # the server ends the session
        writer.close()

    asyncio.run(with_server(handler, body))
    assert outcomes == ["GET VARIABLE: a reply line longer than 16384 bytes"]


def test_a_failed_prompt_is_told_apart_from_a_caller_who_hung_up_during_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """STREAM FILE answers -1 for a missing file and for a hang-up mid-prompt alike: the first
    is logged and the menu goes on, the second ends the call without a false alarm."""
    outcomes: list[str] = []

    async def handler(session: AgiSession) -> None:
        channel = AgiChannel(session)
        outcomes.append(await channel.play(["missing", "next"], "12"))  # file never opened
        for _ in range(2):  # played some of it, then the caller left; or gone when asked
            try:
                await channel.play(["hello"])
            except ChannelGone:
                outcomes.append("gone")

    async def body(port: int) -> None:
        seen = await asterisk(
            port,
            {
                b"STREAM FILE": [
                    b"200 result=-1 endpos=0\n",
                    b"200 result=49 endpos=800\n",
                    b"200 result=-1 endpos=12000\n",
                    b"200 result=-1 endpos=0\n",
                ],
                b"CHANNEL STATUS": [
                    b"200 result=6\n",
                    b"511 Command Not Permitted on a dead channel or intercept routine\n",
                ],
            },
        )
        assert sum(line.startswith(b"CHANNEL STATUS") for line in seen) == 2

    with caplog.at_level("WARNING", logger="hotline"):
        asyncio.run(with_server(handler, body))
    assert outcomes == ["1", "gone", "gone"]
    missing = [r.getMessage() for r in caplog.records if "prompt.missing" in r.getMessage()]
    assert missing == ["event=prompt.missing prompt=missing"]
