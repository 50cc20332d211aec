"""`hotline serve`: run the controller until SIGTERM or SIGINT."""

from __future__ import annotations

import argparse
import asyncio
from dataclasses import replace

from hotline.cli.common import Subparsers, settings_of, setup_logging
from hotline.controller.app import serve
from routing.calendar import Calendar, parse_span


def add_parser(sub: Subparsers) -> None:
    parser = sub.add_parser(
        "serve",
        help="run the controller (FastAGI server + AMI client)",
        description="Run the controller until SIGTERM or SIGINT.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_argument(
        "--agents-always-on-duty",
        action="store_true",
        help="ignore the seat directory's hours: agents answer at any time (demos and tests)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    settings = settings_of(args)
    if args.agents_always_on_duty:  # the demo's agents work around the clock
        week = Calendar((parse_span("mon-sun 00:00-24:00"),))
        settings = replace(settings, directory=replace(settings.directory, calendar=week))
    setup_logging(settings, args.verbose)
    asyncio.run(serve(settings))
    return 0
