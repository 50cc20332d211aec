"""The Asterisk wire's settings: [ami], [fastagi] and [dialplan], each default written once."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any

from hotline.pbx.agi import LOOPBACK, IPNetwork
from hotline.tomltables import Table, bind_host, bind_port, setting, settings_type

SECRET_ENV = "HOTLINE_AMI_SECRET"
ADMIN_SECRET_ENV = "HOTLINE_AMI_ADMIN_SECRET"


@settings_type
class AmiSettings:
    """[ami]; the secrets may come from the environment instead (`SECRET_ENV`...)."""

    username: str = setting()
    secret: str = setting(expected=f"the AMI secret (or set {SECRET_ENV})")
    host: str = setting(default="127.0.0.1")
    port: int = setting(default=5038, lo=1, hi=65535)
    connect_timeout: float = setting(default=5.0, lo=0.1)
    action_timeout: float = setting(default=5.0, lo=0.1)
    # retry until Asterisk answers instead of exiting
    wait_for_asterisk: bool = setting(default=False)
    # for admin commands only (dialplan load): may reload configuration
    admin_username: str | None = setting(default=None)
    admin_secret: str | None = setting(default=None)

    def __repr__(self) -> str:  # never print the secrets
        return f"AmiSettings({self.username}@{self.host}:{self.port})"


def _networks(t: Table, key: str) -> tuple[IPNetwork, ...]:
    out = []
    for value in t.texts(key):
        try:
            out.append(ipaddress.ip_network(value, strict=False))
        except ValueError:
            expected = 'IP addresses or networks such as "127.0.0.1", "10.1.2.0/24"'
            raise t.error(key, expected, value) from None
    return tuple(out)


@settings_type
class AgiSettings:
    """[fastagi]: where the controller takes Asterisk's AGI sessions."""

    host: str = bind_host(default="127.0.0.1")
    port: int = bind_port(default=4573)
    header_timeout: float = setting(default=5.0, lo=0.1)  # seconds for the agi_* headers
    command_timeout: float = setting(default=300.0, lo=1.0)  # seconds for one AGI command
    max_sessions: int = setting(default=1000, lo=1, hi=100_000)
    # peers allowed to open AGI sessions; absent: the loopback, and the loader adds every
    # site's Asterisk from the seat directory
    allow: tuple[IPNetwork, ...] = setting(
        default=LOOPBACK, read=_networks, dump=lambda s: {"allow": [str(n) for n in s.allow]}
    )


def _address_part(part: int) -> Any:
    def read(t: Table, key: str) -> Any:
        return t.host_port(key)[part]

    return read


def _dump_addresses(d: DialplanSettings) -> dict[str, Any]:
    out: dict[str, Any] = {"agi_address": f"{d.agi_host}:{d.agi_port}"}
    if d.agi_more:
        out["agi_addresses"] = [out["agi_address"], *(f"{h}:{p}" for h, p in d.agi_more)]
    return out


def more_addresses(t: Table, first: tuple[str, int]) -> tuple[tuple[str, int], ...]:
    """[dialplan] agi_addresses: every controller Asterisk may reach, `agi_address` first."""
    if "agi_addresses" not in t:
        return ()
    more: list[tuple[str, int]] = []
    for value in t.texts("agi_addresses"):
        host, sep, port = value.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise t.error("agi_addresses", "'host:port' strings", value)
        if (host, int(port)) != first and (host, int(port)) not in more:
            more.append((host, int(port)))
    return tuple(more)


def _digits(t: Table, key: str) -> str:
    value = t.text(key, expected="the hotline's number in digits, e.g. '12333'")
    if not (value.isascii() and value.isdigit() and len(value) <= 20):
        raise t.error(key, "the hotline's number in digits, e.g. '12333'", value)
    return value


@settings_type
class DialplanSettings:
    """[dialplan]: what `hotline dialplan load` renders for Asterisk."""

    # where Asterisk reaches the controller (absent: the [fastagi] bind address)
    agi_host: str = setting(key="agi_address", read=_address_part(0), dump=_dump_addresses)
    agi_port: int = setting(key="agi_address", read=_address_part(1), dump=lambda d: {})
    fallback_seats: tuple[str, ...] = setting()  # endpoints of the static fallback queue
    # the hotline's number (DID): digits, as it goes into the dialplan and AMI headers
    number: str = setting(default="12333", read=lambda t, key: _digits(t, key))
    # Asterisk's configuration folder, where `dialplan load` writes
    asterisk_config: Path = setting(default=Path("/etc/asterisk"))
    # "fastagi" (the controller) or "classic" (a process per call)
    agi: str = setting(default="fastagi", choices=("fastagi", "classic"))
    # for "classic": the program Asterisk runs, as Asterisk sees it
    classic_command: str = setting(default="/usr/local/bin/hotline-agi")
    # further controllers: the dialplan starts each call at the next address in turn and tries
    # the others when one cannot be reached (AGISTATUS=FAILURE); read with `more_addresses`
    agi_more: tuple[tuple[str, int], ...] = setting(
        default=(), key="agi_addresses", dump=lambda d: {}
    )
