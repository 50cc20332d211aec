"""`hotline sandbox up|down|status|cli`: the developers' sandbox Asterisk 22 on loopback."""

from __future__ import annotations

import argparse

from hotline.cli.common import Subparsers, settings_of
from hotline.sandbox import commands
from hotline.tomltables import ConfigError


def add_parser(sub: Subparsers) -> None:
    parser = sub.add_parser(
        "sandbox",
        help="the sandbox Asterisk 22 on loopback",
        description="Build (once, cached), configure, start, stop and query the "
        "sandbox Asterisk. Needs root.",
    )
    parser.add_argument(
        "action",
        choices=["up", "down", "status", "cli"],
        help="up: build if needed, start, wait for FullyBooted; down: stop; "
        "status: running or not; cli: run an Asterisk CLI command",
    )
    parser.add_argument("command", nargs="*", help="for 'cli': the Asterisk CLI command")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    settings = settings_of(args)
    if args.action == "up":
        commands.up(settings)
    elif args.action == "down":
        stopped = commands.down(settings)
        print(f"sandbox '{settings.sandbox.name}' " + ("stopped" if stopped else "was not running"))
    elif args.action == "status":
        print(commands.status(settings))
    else:
        if not args.command:
            raise ConfigError(
                "sandbox cli: give the Asterisk CLI command, "
                "e.g. hotline sandbox cli core show channels"
            )
        print(commands.instance_for(settings).cli(" ".join(args.command)), end="")
    return 0
