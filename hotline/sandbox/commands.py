"""`hotline sandbox up|down|status|cli`: the sandbox Asterisk, set up from hotline's settings."""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from hotline.pbx.ami import AmiClient, AmiError
from hotline.pbx.dialplan import SITE_TRUNK_CONTEXT, render, render_features
from hotline.sandbox.asterisk_conf import SandboxSpec, SeatPhone, Trunk
from hotline.sandbox.classic_install import install_classic
from hotline.sandbox.instance import Instance
from hotline.sandbox.rootfs import SandboxError, ensure_rootfs
from hotline.sandbox.settings import load_sandbox_settings
from hotline.settings import Settings, dialplan_parts
from routing.directory import Site


def sandbox_spec(settings: Settings) -> SandboxSpec:
    sandbox = load_sandbox_settings(settings.file)
    return SandboxSpec(
        name=sandbox.name,
        ami_port=settings.ami.port,
        ami_username=settings.ami.username,
        ami_secret=settings.ami.secret,
        ami_admin=(settings.ami.admin_username, settings.ami.admin_secret)
        if settings.ami.admin_username and settings.ami.admin_secret
        else None,
        sip_port=sandbox.sip_port,
        caller_match=sandbox.caller_match,
        callers_contact=sandbox.callers_contact,
        seats=_phones(settings, "main"),
        fallback_seats=settings.dialplan.fallback_seats,
        extensions=render(dialplan_parts(settings)),
        features=render_features(),
        recordings_dir=settings.recordings.asterisk_directory,
        max_channels=sandbox.max_channels,
        trunks=tuple(
            Trunk(
                site.trunk, f"sip:{site.address}:{site.sip_port}", site.address, SITE_TRUNK_CONTEXT
            )
            for site in settings.directory.sites.values()
        ),
    )


def _phones(settings: Settings, site: str) -> tuple[SeatPhone, ...]:
    return tuple(
        SeatPhone(s.endpoint, s.contact)
        for s in settings.directory.seats.values()
        if s.site == site
    )


def site_instances(settings: Settings) -> list[tuple[Site, Instance]]:
    """One more sandbox Asterisk per site with an AMI port: another box with its own seats and
    callers (from the same addresses as the main box's), on its own loopback address, joined
    to the main one by a trunk both ways, its calls entering the same controllers."""
    main = load_sandbox_settings(settings.file)
    out = []
    for site in settings.directory.sites.values():
        if site.ami_port is None:
            continue
        name = f"{main.name}-{site.id}"
        phones = _phones(settings, site.id)
        spec = SandboxSpec(
            name=name,
            ami_port=site.ami_port,
            ami_username=settings.ami.username,
            ami_secret=settings.ami.secret,
            ami_admin=None,
            sip_port=site.sip_port,
            caller_match=main.caller_match,
            callers_contact=None,
            seats=phones,
            fallback_seats=tuple(phone.endpoint for phone in phones),
            extensions=render(dialplan_parts(settings), site.id),
            features=render_features(),
            recordings_dir=settings.recordings.asterisk_directory,
            bind_address=site.address,
            trunks=(
                Trunk(
                    site.main_trunk,
                    f"sip:127.0.0.1:{main.sip_port}",
                    "127.0.0.1",
                    SITE_TRUNK_CONTEXT,
                ),
            ),
            system_name=name,
            max_channels=main.max_channels,
        )
        out.append((site, Instance(main.rootfs, spec)))
    return out


def instance_for(settings: Settings) -> Instance:
    instance = Instance(load_sandbox_settings(settings.file).rootfs, sandbox_spec(settings))
    inside = instance.host_path(settings.recordings.asterisk_directory).resolve()
    if inside != settings.recordings.directory.resolve():
        raise SandboxError(
            f"{settings.file}: [recordings] directory must be {inside} when Asterisk runs in the "
            f"sandbox (asterisk_directory {settings.recordings.asterisk_directory} "
            "seen from the host)"
        )
    return instance


def install_prompts(settings: Settings, instance: Instance) -> int:
    """Copy the built prompt audio to where the sandbox Asterisk plays it from."""
    source = settings.prompts.build_directory
    target = instance.host_path(settings.prompts.asterisk_directory)
    copied = 0
    for file in sorted(source.rglob("*")) if source.is_dir() else []:
        if file.suffix in (".wav", ".ulaw", ".gsm") and file.is_file():
            dest = target / file.relative_to(source)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(file, dest)
            copied += 1
    return copied


def up(
    settings: Settings, say: Callable[[str], None] = print, boot_timeout: float = 60
) -> Instance:
    instance = instance_for(settings)
    sandbox = load_sandbox_settings(settings.file)
    rootfs = sandbox.rootfs
    if ensure_rootfs(rootfs, sandbox.mirror, log=rootfs.with_name(rootfs.name + ".build.log")):
        say(f"built the Asterisk root filesystem in {rootfs}")
    pid = instance.start()
    for site, other in site_instances(settings):
        other.start()
        box_ami = replace(settings.ami, host=site.address, port=site.ami_port or 0)
        asyncio.run(_wait_booted(replace(settings, ami=box_ami), boot_timeout))
        say(f"site '{site.id}' up: SIP udp {site.address}:{site.sip_port}, trunk '{site.trunk}'")
    copied = install_prompts(settings, instance)
    install_classic(settings, instance)
    say(
        f"installed {copied} prompt files"
        if copied
        else "no prompt audio yet: run 'hotline prompts build' (callers would hear silence)"
    )
    asyncio.run(_wait_booted(settings, boot_timeout))
    say(
        f"sandbox '{sandbox.name}' up: pid {pid}, AMI 127.0.0.1:{settings.ami.port}, "
        f"SIP udp 127.0.0.1:{sandbox.sip_port}, logs {instance.home / 'log'}"
    )
    return instance


async def _wait_booted(settings: Settings, timeout: float) -> None:
    """Log in over AMI as the controller will, and wait for Asterisk's FullyBooted event."""
    ami = settings.ami
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        client = AmiClient(ami.host, ami.port, ami.username, ami.secret, connect_timeout=3)
        try:
            await client.connect()
            await client.wait_fully_booted(max(1.0, deadline - time.monotonic()))
            return
        except AmiError as exc:
            last = str(exc)
            if "refused for user" in last:
                raise
            await asyncio.sleep(0.3)
        finally:
            client.close()
    raise SandboxError(f"Asterisk did not become ready within {timeout:g} s ({last})")


def down(settings: Settings) -> bool:
    for _site, other in site_instances(settings):
        other.stop()
    return instance_for(settings).stop()


def status(settings: Settings) -> str:
    instance = instance_for(settings)
    name = load_sandbox_settings(settings.file).name
    pid = instance.pid()
    if pid is None:
        return f"sandbox '{name}': not running"
    uptime = instance.cli("core show uptime").strip().splitlines()
    return f"sandbox '{name}': running, pid {pid}; " + (uptime[0] if uptime else "")


def console_log(settings: Settings) -> Path:
    return instance_for(settings).console_log
