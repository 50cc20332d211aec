"""`hotline demo`: the sandbox Asterisk, the controller and simulated callers and agents."""

from __future__ import annotations

import argparse

from hotline.cli.common import Subparsers, settings_of
from hotline.sandbox.demo import run_demo


def add_parser(sub: Subparsers) -> None:
    parser = sub.add_parser(
        "demo",
        help="sandbox Asterisk + controller + simulated callers and agents",
        description="Start the sandbox and the controller, place simulated calls "
        "(SIPp callers pressing keys, SIPp agents answering) and print what "
        "happened to each call.",
    )
    parser.add_argument(
        "--calls",
        type=int,
        default=6,
        help="number of simulated calls (default 6: one of each story)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    return run_demo(settings_of(args), calls=args.calls)
