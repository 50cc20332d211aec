"""The AMI wrapper against a scripted manager interface on loopback."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from hotline.pbx.ami import AmiClient, AmiError, Event

BANNER = b"Asterisk Call Manager/9.0.0\r\n"


class FakeAmi:
    """Accepts logins (or refuses them), records every action, and lets a test push bytes."""

    def __init__(
        self, accept_login: bool = True, answer: Callable[[dict[str, str]], bool] = lambda a: True
    ) -> None:
        self.accept_login = accept_login
        self.answer = answer
        self.actions: list[dict[str, str]] = []
        self.writers: list[asyncio.StreamWriter] = []
        self.server: asyncio.Server | None = None
        self.logins = 0

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writers.append(writer)
        writer.write(BANNER)
        block: dict[str, str] = {}
        while line := await reader.readline():
            text = line.decode().rstrip("\r\n")
            if text:
                key, _, value = text.partition(": ")
                block[key] = value
                continue
            action, block = block, {}
            self.actions.append(action)
            ok = self.accept_login if action.get("Action") == "Login" else True
            if action.get("Action") == "Login" and ok:
                self.logins += 1
            if action.get("Action") == "Login" or self.answer(action):
                status = b"Success" if ok else b"Error"
                writer.write(
                    b"Response: "
                    + status
                    + b"\r\nActionID: "
                    + action["ActionID"].encode()
                    + b"\r\nMessage: x\r\n\r\n"
                )
            if action.get("Action") == "Login" and ok:
                writer.write(b"Event: FullyBooted\r\nPrivilege: system,all\r\n\r\n")

    def push(self, data: bytes) -> None:
        self.writers[-1].write(data)

    def drop(self) -> None:
        for w in self.writers:
            w.transport.abort()

    async def close(self) -> None:
        self.drop()
        if self.server:
            self.server.close()


def run(body: Callable[[FakeAmi, int], Awaitable[None]], **fake: object) -> None:
    async def main() -> None:
        ami = FakeAmi(**fake)  # type: ignore[arg-type]
        port = await ami.start()
        try:
            await asyncio.wait_for(body(ami, port), 15)
        finally:
            await ami.close()

    asyncio.run(main())


def test_login_is_awaited_and_a_split_chinese_character_survives() -> None:
    events: list[Event] = []

    async def body(ami: FakeAmi, port: int) -> None:
        client = AmiClient("127.0.0.1", port, "hotline", "pw", on_event=events.append)
        await client.connect()
        await client.wait_fully_booted(2)
        raw = "Event: Newchannel\r\nCallerIDName: 张三丰\r\n\r\n".encode()
        cut = raw.index("三".encode()) + 1  # inside the 3-byte character
        ami.push(raw[:cut])
        await asyncio.sleep(0.1)
        ami.push(raw[cut:])
        await asyncio.sleep(0.2)
        client.close()

    run(body)
    names = [e["CallerIDName"] for e in events if e.get("Event") == "Newchannel"]
    assert names == ["张三丰"]


def test_events_arrive_as_plain_strings_with_line_breaks_blanked_and_repeats_joined() -> None:
    events: list[Event] = []

    async def body(ami: FakeAmi, port: int) -> None:
        client = AmiClient("127.0.0.1", port, "hotline", "pw", on_event=events.append)
        await client.connect()
        await client.wait_fully_booted(2)
        ami.push(
            b"Event: UserEvent\r\nUserEvent: HotlineAgent\r\nEndpoint: agent1001\r\n\r\n"
            b"Event: UserEvent\r\nUserEvent: Note\r\nText: a\nAction: Hangup\rb\r\n\r\n"
            b"Event: DeviceStateChange\r\nState: INUSE\r\nState: ONHOLD\r\n\r\n"
        )
        await asyncio.sleep(0.2)
        client.close()

    run(body)
    got = [{k: v for k, v in e.items() if k != "content"} for e in events]  # panoramisk's body
    assert [e for e in got if e["Event"] != "FullyBooted"] == [
        {"Event": "UserEvent", "UserEvent": "HotlineAgent", "Endpoint": "agent1001"},
        {"Event": "UserEvent", "UserEvent": "Note", "Text": "a Action: Hangup b"},
        {"Event": "DeviceStateChange", "State": "INUSE, ONHOLD"},
    ]
    assert all(type(v) is str for e in events for v in e.values())


def test_only_the_events_followed_reach_on_event_and_fully_booted_is_still_seen() -> None:
    events: list[Event] = []

    async def body(ami: FakeAmi, port: int) -> None:
        client = AmiClient(
            "127.0.0.1", port, "hotline", "pw", on_event=events.append, events={"Hangup"}
        )
        await client.connect()
        await client.wait_fully_booted(2)
        ami.push(
            b"Event: VarSet\r\nVariable: X\r\n\r\n"
            b"Event: Hangup\r\nUniqueid: 1.1\r\n\r\n"
            b"Event: Newexten\r\nExten: 12333\r\n\r\n"
        )
        await asyncio.sleep(0.2)
        client.close()

    run(body)
    assert [(e["Event"], e.get("Uniqueid")) for e in events] == [
        ("FullyBooted", None),
        ("Hangup", "1.1"),
    ]


def test_a_wrong_secret_is_a_one_line_error() -> None:
    async def body(_ami: FakeAmi, port: int) -> None:
        client = AmiClient("127.0.0.1", port, "hotline", "wrong")
        with pytest.raises(
            AmiError, match=r"AMI login refused for user 'hotline' at 127\.0\.0\.1:\d+"
        ):
            await client.connect()

    run(body, accept_login=False)


def test_an_unreachable_asterisk_is_a_one_line_error() -> None:
    async def main() -> None:
        client = AmiClient("127.0.0.1", 1, "hotline", "pw", connect_timeout=1)
        with pytest.raises(AmiError, match=r"cannot reach Asterisk AMI at 127\.0\.0\.1:1"):
            await client.connect()

    asyncio.run(main())


def test_header_values_cannot_inject_a_second_action() -> None:
    seen: list[dict[str, str]] = []

    async def body(ami: FakeAmi, port: int) -> None:
        client = AmiClient("127.0.0.1", port, "hotline", "pw")
        await client.connect()
        await client.action("Setvar", Variable="X", Value="a\r\nAction: Hangup\r\nChannel: all")
        client.close()
        seen.extend(ami.actions)

    run(body)
    assert [a["Action"] for a in seen] == ["Login", "Setvar"]
    assert seen[1]["Value"] == "a  Action: Hangup  Channel: all"


def test_an_action_without_reply_when_the_link_drops_fails_and_is_never_replayed() -> None:
    lost: list[bool] = []

    async def body(ami: FakeAmi, port: int) -> None:
        client = AmiClient(
            "127.0.0.1", port, "hotline", "pw", action_timeout=10, on_lost=lambda: lost.append(True)
        )
        await client.connect()
        pending = asyncio.ensure_future(client.action("Originate", Channel="PJSIP/agent1001"))
        await asyncio.sleep(0.2)
        assert lost == []
        ami.drop()
        with pytest.raises(AmiError, match="connection lost"):
            await pending
        assert lost == [True]  # the controller is told (a site box's seats become unreachable)
        with pytest.raises(AmiError, match="not connected"):
            await client.action("Originate", Channel="PJSIP/agent1001")
        for _ in range(60):  # panoramisk reconnects after 2 s and logs in again
            if ami.logins >= 2 and client.logged_in:
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.5)  # time for a replay after FullyBooted, which must not come
        client.close()
        originates = [a for a in ami.actions if a.get("Action") == "Originate"]
        assert ami.logins == 2
        assert len(originates) == 1

    run(body, answer=lambda action: action.get("Action") != "Originate")


def test_an_action_that_timed_out_is_not_kept() -> None:
    """panoramisk keeps each action until its reply completes it; one whose reply never came
    in time (or came late) was kept for the life of the connection."""

    async def body(ami: FakeAmi, port: int) -> None:
        client = AmiClient("127.0.0.1", port, "hotline", "pw")
        await client.connect()
        with pytest.raises(AmiError, match="no reply within"):
            await client.action("CoreShowChannels", timeout=0.2)
        (late,) = [a for a in ami.actions if a.get("Action") == "CoreShowChannels"]
        ami.push(f"Response: Success\r\nActionID: {late['ActionID']}\r\n\r\n".encode())
        await asyncio.sleep(0.2)
        assert client.manager is not None
        assert client.manager.protocol.responses == {}
        client.close()

    run(body, answer=lambda action: action.get("Action") != "CoreShowChannels")
