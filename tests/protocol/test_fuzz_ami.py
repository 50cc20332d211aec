"""Property-based and fuzz tests of the AMI wrapper (hotline/pbx/ami.py over panoramisk) on
loopback.

Whatever the manager interface sends, and however TCP cuts it: every event reaches
`on_event` once, in order, as plain strings; a UTF-8 character cut at any byte survives;
bytes that are not UTF-8 and blocks that are not messages cost only themselves; and no value
we send can add a header line or a second action (CR/LF are blanked).
"""

from __future__ import annotations

import asyncio

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hotline.pbx.ami import AmiClient, Event
from tests.protocol.test_ami import FakeAmi, run

FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
KEYS = ["CallerIDName", "CallerIDNum", "Channel", "Uniqueid", "Linkedid", "Exten", "Data"]
# a header value as Asterisk sends it: one line, no leading/trailing blanks
VALUE = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"), max_size=40
).map(str.strip)
EVENTS = st.lists(
    st.tuples(
        st.sampled_from(["Newchannel", "Hangup", "UserEvent", "DeviceStateChange", "VarSet"]),
        st.dictionaries(st.sampled_from(KEYS), VALUE, max_size=5),
    ),
    min_size=1,
    max_size=8,
)


def wire(event: str, headers: dict[str, str]) -> bytes:
    lines = [f"Event: {event}", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def received(events: list[Event]) -> list[Event]:
    """What the callback got, without the banner's FullyBooted and panoramisk's body key."""
    return [
        {k: v for k, v in e.items() if k != "content"}
        for e in events
        if e.get("Event") != "FullyBooted"
    ]


async def connected(port: int, events: list[Event]) -> AmiClient:
    client = AmiClient("127.0.0.1", port, "hotline", "pw", on_event=events.append)
    await client.connect()
    await client.wait_fully_booted(2)
    return client


async def push_cut(ami: FakeAmi, data: bytes, cuts: list[int]) -> None:
    last = 0
    for cut in sorted({c % (len(data) + 1) for c in cuts} | {len(data)}):
        if cut > last:
            ami.push(data[last:cut])
            await asyncio.sleep(0.002)
            last = cut


async def settle(events: list[Event], count: int) -> None:
    for _ in range(100):
        if len(received(events)) >= count:
            break
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.02)  # and nothing more arrives


@FUZZ
@given(stream=EVENTS, cuts=st.lists(st.integers(min_value=0, max_value=5000), max_size=15))
def test_every_event_arrives_once_in_order_however_the_stream_is_cut(
    stream: list[tuple[str, dict[str, str]]], cuts: list[int]
) -> None:
    events: list[Event] = []

    async def body(ami: FakeAmi, port: int) -> None:
        client = await connected(port, events)
        await push_cut(ami, b"".join(wire(e, h) for e, h in stream), cuts)
        await settle(events, len(stream))
        client.close()

    run(body)
    got = received(events)
    assert [e["Event"] for e in got] == [e for e, _ in stream]
    for event, (_, headers) in zip(got, stream, strict=True):
        # panoramisk strips each block: an empty value on its last line is dropped (reads
        # the same with .get(key, ""), as the event handlers read them)
        assert set(event) <= {"Event", *headers}
        assert all(event.get(k, "") == v for k, v in headers.items())


def test_a_multibyte_character_cut_at_every_byte_position_survives() -> None:
    name = "张三丰 José Ğ 😀"
    events: list[Event] = []
    data = wire("Newchannel", {"CallerIDName": name})
    start = data.index(name.encode())

    async def body(ami: FakeAmi, port: int) -> None:
        client = await connected(port, events)
        for cut in range(start + 1, start + len(name.encode())):
            await push_cut(ami, data, [cut])
        await settle(events, len(name.encode()) - 1)
        client.close()

    run(body)
    assert [e["CallerIDName"] for e in received(events)] == [name] * (len(name.encode()) - 1)


@FUZZ
@given(
    junk=st.lists(
        st.one_of(
            st.binary(max_size=200),  # not UTF-8, no header shape
            VALUE.map(str.encode),  # text without "Key: value"
            st.just(b"Response: Success\r\nActionID: nobody-sent-this"),  # a stray reply
        ),
        min_size=1,
        max_size=4,
    ),
    bad_value=st.binary(min_size=1, max_size=30).filter(
        lambda b: b"\r" not in b and b"\n" not in b
    ),
)
def test_junk_blocks_and_bytes_that_are_not_utf8_cost_only_themselves(
    junk: list[bytes], bad_value: bytes
) -> None:
    events: list[Event] = []
    # each junk block is framed like a message (Asterisk ends every block with a blank line)
    blocks = [j.replace(b"\r\n\r\n", b"") + b"\r\n\r\n" for j in junk]
    blocks = [b for b in blocks if b"Event: Shutdown" not in b]
    good = wire("Newchannel", {"Channel": "PJSIP/callers-00000001", "CallerIDName": "李四"})

    async def body(ami: FakeAmi, port: int) -> None:
        client = await connected(port, events)
        for block in blocks:
            ami.push(block)
            ami.push(b"Event: VarSet\r\nValue: " + bad_value + b"\r\nUniqueid: 1.1\r\n\r\n")
            ami.push(good)
        await settle(events, 2 * len(blocks))
        assert client.logged_in  # the link stays up
        client.close()

    run(body)
    got = received(events)
    newchannels = [e for e in got if e.get("Event") == "Newchannel"]
    assert newchannels == [
        {"Event": "Newchannel", "Channel": "PJSIP/callers-00000001", "CallerIDName": "李四"}
    ] * len(blocks)
    varsets = [e for e in got if e.get("Event") == "VarSet"]
    assert [e["Uniqueid"] for e in varsets] == ["1.1"] * len(blocks)
    expected = bad_value.decode("utf-8", "replace")
    assert all(e.get("Value", "") == expected for e in varsets)
    assert all(type(v) is str for e in got for v in e.values())


def test_a_one_megabyte_event_is_delivered_and_the_stream_goes_on() -> None:
    events: list[Event] = []

    async def body(ami: FakeAmi, port: int) -> None:
        client = await connected(port, events)
        ami.push(wire("UserEvent", {"Data": "x" * 1_000_000}))
        ami.push(wire("Hangup", {"Uniqueid": "1.2"}))
        await settle(events, 2)
        client.close()

    run(body)
    assert [len(e.get("Data", "")) for e in received(events)] == [1_000_000, 0]
    assert received(events)[1] == {"Event": "Hangup", "Uniqueid": "1.2"}


@FUZZ
@given(
    value=st.lists(
        st.one_of(
            st.sampled_from(["\r", "\n", "\r\n", ": ", "Action: Originate", "\x85", "\u2028"]),
            st.characters(blacklist_categories=("Cs",)),
        ),
        max_size=30,
    ).map("".join)
)
def test_no_header_value_adds_a_line_or_an_action(value: str) -> None:
    seen: list[dict[str, str]] = []

    async def body(ami: FakeAmi, port: int) -> None:
        client = AmiClient("127.0.0.1", port, "hotline", "pw")
        await client.connect()
        await client.action(
            "UserEvent", UserEvent="HotlineNote", Data=value, Variable=[f"A={value}", "B=1"]
        )
        client.close()
        seen.extend(ami.actions)

    run(body)
    assert [a["Action"] for a in seen] == ["Login", "UserEvent"]
    sent = seen[1]
    assert set(sent) == {"Action", "ActionID", "UserEvent", "Data", "Variable"}
    blanked = value.replace("\r", " ").replace("\n", " ")
    assert sent["Data"] == blanked


def ast_escape_c(text: str) -> str:
    """Asterisk's ast_escape_c (main/utils.c), as AMI applies it to caller names."""
    table = dict(zip("\a\b\f\n\r\t\v\\'\"?", "abfnrtv\\'\"?", strict=True))
    return "".join("\\" + table[c] if c in table else c for c in text)


@FUZZ
@given(
    name=st.lists(st.one_of(st.sampled_from(['"', "\\", "'", "?", '\\"', "张"]), VALUE), max_size=8)
    .map("".join)
    .filter(lambda s: not set(s) & set("\a\b\f\n\r\t\v"))  # (control: next test)
)
def test_caller_names_arrive_as_the_caller_sent_them(name: str) -> None:
    """AMI C-escapes caller names; the adapter undoes it for printable characters."""
    events: list[Event] = []
    name = name.strip()

    async def body(ami: FakeAmi, port: int) -> None:
        client = await connected(port, events)
        escaped = ast_escape_c(name)
        ami.push(
            wire("Newchannel", {"CallerIDName": escaped, "ConnectedLineName": escaped})
            + wire("DialBegin", {"DestCallerIDName": escaped, "Uniqueid": "1.1"})
        )
        await settle(events, 2)
        client.close()

    run(body)
    got = received(events)
    assert got[0].get("CallerIDName", "") == name
    assert got[0].get("ConnectedLineName", "") == name
    assert got[1].get("DestCallerIDName", "") == name


def test_escaped_control_characters_in_a_name_stay_two_plain_characters() -> None:
    events: list[Event] = []

    async def body(ami: FakeAmi, port: int) -> None:
        client = await connected(port, events)
        ami.push(wire("Newchannel", {"CallerIDName": ast_escape_c("a\nAction: Hangup\r\tb")}))
        await settle(events, 1)
        client.close()

    run(body)
    assert received(events)[0]["CallerIDName"] == "a\\nAction: Hangup\\r\\tb"
