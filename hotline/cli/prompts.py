"""`hotline prompts build|check`: the prompt catalogue as audio files for Asterisk."""

from __future__ import annotations

import argparse
import sys
import time

from hotline.cli.common import Subparsers, settings_of
from ivr import prompts
from ivr.flow import load_flows


def add_parser(sub: Subparsers) -> None:
    parser = sub.add_parser(
        "prompts",
        help="build and check the prompts' audio",
        description="The prompt catalogue ([prompts] catalogue) as audio files for Asterisk.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    build = actions.add_parser(
        "build",
        help="write <build_directory>/<language>/<id>.wav (synthesised or converted)",
        description="Write every prompt in every language as 8 kHz mono 16-bit WAV: "
        "synthesised with espeak-ng, or converted from its studio recording. "
        "Only what changed since the last build is remade. Exit 1 if a prompt failed.",
    )
    build.add_argument(
        "--format",
        default="wav",
        metavar="FORMATS",
        help="comma-separated audio formats: wav, ulaw (default: wav)",
    )
    build.add_argument("--only", nargs="+", metavar="ID", help="build only these prompt ids")
    actions.add_parser(
        "check",
        help="list prompts without audio",
        description="List catalogue prompts without current audio, per language, and prompt "
        "ids the flows use but the catalogue lacks. Exit 1 if anything is missing.",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    settings = settings_of(args)
    config = settings.prompts
    catalogue = prompts.load_catalogue(config.catalogue, config.languages)
    if args.action == "build":
        started = time.monotonic()
        summary = prompts.build(
            catalogue,
            config.build_directory,
            formats=prompts.parse_formats(args.format),
            only=args.only,
            progress=sys.stderr,
        )
        for line in summary.failed:
            print(f"failed  {line}", file=sys.stderr)
        print(
            f"prompts: {len(summary.built)} built, {summary.up_to_date} up to date, "
            f"{len(summary.failed)} failed in {time.monotonic() - started:.1f} s "
            f"-> {config.build_directory}"
        )
        return 1 if summary.failed else 0
    # the flows are read without the catalogue's ids, so a prompt they lack is listed here
    flows = load_flows(settings.flows.directory, set(settings.directory.posts))
    referenced = {prompt for flow in flows.values() for prompt in flow.prompt_ids()}
    problems = prompts.check(catalogue, config.build_directory, referenced)
    for line in problems:
        print(line)
    if not problems:
        print(
            f"ok  {len(catalogue.prompts)} prompts in {', '.join(catalogue.languages)}: "
            f"audio in {config.build_directory}"
        )
    return 1 if problems else 0
