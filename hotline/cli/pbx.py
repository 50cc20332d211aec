"""`hotline asterisk check|render`: hotline on an Asterisk the admin already runs."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Any

from hotline.cli.common import Subparsers, settings_of
from hotline.pbx.ami import AmiClient
from hotline.pbx.install import Finding, check, write_snippets
from hotline.settings import Settings, install_parts


def add_parser(sub: Subparsers) -> None:
    parser = sub.add_parser(
        "asterisk",
        help="check an existing Asterisk for hotline's pieces, or write them out",
        description="check: log in over AMI as [ami] username and report, one line each, "
        "what is present or missing (modules, the AMI user's classes, the dialplan contexts "
        "and AGI address, features.conf, the recordings folder, the FastAGI port), with the "
        "fix; exit 1 if anything is missing. render --out DIR: write the snippets an admin "
        "adds (manager.conf, extensions_hotline.conf and its include, features.conf, the "
        "seats' pjsip.conf), each saying where it goes.",
    )
    parser.add_argument("action", choices=["check", "render"])
    parser.add_argument("--out", type=Path, help="render: the folder to write the snippets to")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    settings = settings_of(args)
    if args.action == "render":
        if args.out is None:
            raise SystemExit("hotline asterisk render: --out DIR is needed")
        for path in write_snippets(install_parts(settings), args.out):
            print(f"wrote {path}")
        return 0
    findings = asyncio.run(_check(settings))
    for finding in findings:
        print(finding)
    missing = [f for f in findings if not f.ok]
    print(f"{len(findings) - len(missing)} present, {len(missing)} missing")
    return 1 if missing else 0


async def _check(settings: Settings) -> list[Finding]:
    ami = settings.ami
    client = AmiClient(
        ami.host,
        ami.port,
        ami.username,
        ami.secret,
        connect_timeout=ami.connect_timeout,
        action_timeout=ami.action_timeout,
    )
    await client.connect()

    async def action(name: str, **headers: Any) -> Any:
        return await client.action(name, **headers)

    try:
        return await check(install_parts(settings), action)
    finally:
        client.close()
