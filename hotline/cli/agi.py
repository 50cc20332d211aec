"""`hotline agi FLOW`: serve one call as a classic AGI script (pyst2, stdin/stdout).

Asterisk starts a process per call, so `serve_one` is also the lean entry an installed
`hotline-agi` script calls directly: importing this module does not load the other commands."""

from __future__ import annotations

import argparse
from pathlib import Path

from hotline.cli.common import Subparsers, setup_logging
from hotline.pbx.classic import run_classic
from hotline.settings import load_settings


def add_parser(sub: Subparsers) -> None:
    parser = sub.add_parser(
        "agi",
        help="serve one call as a classic AGI script (pyst2, stdin/stdout)",
        description="The process-per-call entry for sites without the controller daemon: "
        "Asterisk runs it per call, e.g. AGI(/usr/local/bin/hotline,-c,/etc/hotline/hotline.toml,"
        "agi,12333). It runs the same flows as FastAGI. Nothing but AGI goes to stdout.",
    )
    parser.add_argument("flow", help="the flow to run, e.g. 12333")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    return serve_one(Path(args.config), args.flow)


def serve_one(config: Path, flow: str) -> int:
    settings = load_settings(config)
    setup_logging(settings, to_stderr=False)  # stdout is the AGI channel itself
    return run_classic(settings, flow)
