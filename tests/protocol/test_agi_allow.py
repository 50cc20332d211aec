"""[fastagi] allow: only listed peers get an AGI conversation; others are cut before a byte is
read (issue 16, item 8). Real sockets on loopback: 127.0.0.3 plays the allowed Asterisk, the
test's own 127.0.0.1 a stranger on the controller's network."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from pathlib import Path

import pytest

from hotline.pbx.agi import AgiSession, FastAgiServer, allowed
from hotline.settings import load_settings
from hotline.tomltables import ConfigError
from tests.conftest import write_config
from tests.protocol.test_fastagi import headers

ASTERISK = "127.0.0.3"


async def _talk(port: int, source: str, send: bytes) -> bytes:
    """Connect from `source`, send `send`, and read until the server ends the connection."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))
    writer.write(send)
    got = b""
    try:
        while chunk := await reader.read(4096):
            got += chunk
    except ConnectionResetError:
        pass
    writer.close()
    return got


def test_a_peer_outside_the_allow_list_is_cut_before_its_headers_are_read(
    caplog: pytest.LogCaptureFixture,
) -> None:
    served: list[str] = []

    async def handler(session: AgiSession) -> None:
        served.append(session.headers["agi_uniqueid"])
        await session.command("ANSWER")

    async def main() -> tuple[bytes, bytes]:
        allow = [ipaddress.ip_network(ASTERISK)]
        # header_timeout is long: a stranger's silent connection ends only because it is cut
        server = FastAgiServer(handler, "127.0.0.1", 0, 600.0, 2.0, 10, allow)
        await server.start()
        assert server.server is not None
        port = server.server.sockets[0].getsockname()[1]
        try:
            stranger = await asyncio.wait_for(_talk(port, "127.0.0.1", b""), 30)
            talker = await asyncio.wait_for(_talk(port, "127.0.0.1", headers()), 30)
            assert served == []
            reader, writer = await asyncio.open_connection(
                "127.0.0.1", port, local_addr=(ASTERISK, 0)
            )
            writer.write(headers())
            command = await asyncio.wait_for(reader.readline(), 30)
            writer.close()
        finally:
            await server.close(grace=0.5)
        assert command == b"ANSWER\n"
        return stranger, talker

    caplog.set_level(logging.INFO)
    stranger, talker = asyncio.run(main())
    assert (stranger, talker) == (b"", b"")
    assert served == ["1795.1"]
    refused = [r.getMessage() for r in caplog.records if "peer-not-allowed" in r.getMessage()]
    assert refused == ["event=agi.refused reason=peer-not-allowed peer=127.0.0.1"] * 2


@pytest.mark.parametrize(
    ("peer", "ok"),
    [
        ("127.0.0.1", True),
        ("::ffff:127.0.0.1", True),  # an IPv4 peer on a dual-stack socket
        ("::1", True),
        ("10.1.2.9", True),
        ("10.1.3.9", False),
        ("192.168.1.1", False),
        ("", False),
        ("not-an-address", False),
    ],
)
def test_allow_matches_addresses_and_networks(peer: str, ok: bool) -> None:
    allow = [ipaddress.ip_network(n) for n in ("127.0.0.0/8", "::1", "10.1.2.0/24")]
    assert allowed(peer, allow) is ok


def test_allow_defaults_to_the_loopback_and_each_sites_asterisk(tmp_path: Path) -> None:
    settings = load_settings(write_config(tmp_path))
    sites = [s.address for s in settings.directory.sites.values()]
    assert settings.agi.allow == tuple(
        ipaddress.ip_network(n) for n in ("127.0.0.0/8", "::1", *sites)
    )


def test_allow_is_read_from_the_fastagi_table_and_a_bad_entry_is_named(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    text = config.read_text()
    config.write_text(text.replace("[fastagi]\n", '[fastagi]\nallow = ["10.1.2.0/24"]\n'))
    assert load_settings(config).agi.allow == (ipaddress.ip_network("10.1.2.0/24"),)
    config.write_text(text.replace("[fastagi]\n", '[fastagi]\nallow = ["asterisk.local"]\n'))
    with pytest.raises(ConfigError) as caught:
        load_settings(config)
    assert str(caught.value).endswith(
        'allow: expected IP addresses or networks such as "127.0.0.1", "10.1.2.0/24", '
        "got 'asterisk.local'"
    )
