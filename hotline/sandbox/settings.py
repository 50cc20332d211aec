"""[sandbox]: the developers' sandbox Asterisk, read by what builds it (not by the controller).

It lives in the controller's own file (config/hotline.toml) so one file describes a sandbox
hotline; `load_settings` leaves the table to this reader.
"""

from __future__ import annotations

from pathlib import Path

from hotline.sandbox.asterisk_conf import DEFAULT_MAX_CHANNELS
from hotline.sandbox.rootfs import DEFAULT_ROOTFS
from hotline.tomltables import Table, load_toml, read_table, setting, settings_type

TABLE = "sandbox"


@settings_type
class SandboxSettings:
    rootfs: Path = setting(default=DEFAULT_ROOTFS)  # built once by mmdebstrap, reused after
    name: str = setting(default="default")
    sip_port: int = setting(default=5060, lo=1, hi=65535)
    # source addresses treated as callers on the trunk
    caller_match: tuple[str, ...] = setting(default=("127.0.0.2",))
    # the trunk's far side, for calls back to callers
    callers_contact: str | None = setting(default=None)
    mirror: str | None = setting(default=None)  # None: take it from the host's apt sources
    # channels with media at once: sizes the RTP port range
    max_channels: int = setting(default=DEFAULT_MAX_CHANNELS, lo=10, hi=10000)


def load_sandbox_settings(config: Path) -> SandboxSettings:
    """[sandbox] of the controller's configuration file (every key checked)."""
    config = config.resolve()
    table = Table(load_toml(config), config, "").table(TABLE, required=False)
    sandbox = read_table(SandboxSettings, table)
    table.refuse_unread()
    return sandbox
