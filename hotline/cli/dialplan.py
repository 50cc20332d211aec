"""`hotline dialplan check|render|load|graph`: the call flows, and the Asterisk contexts."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from hotline.cli.common import Subparsers, settings_of
from hotline.pbx import dialplan
from hotline.settings import dialplan_parts
from hotline.tomltables import ConfigError
from ivr.flow import load_flows
from ivr.graph import render
from ivr.prompts import catalogue_ids


def add_parser(sub: Subparsers) -> None:
    parser = sub.add_parser(
        "dialplan",
        help="check, render, load and draw the call flows",
        description="check [FOLDER]: validate every flow and report all problems with file:line "
        "and node; render [SITE]: print the Asterisk contexts for the hotline number (of a "
        "[[site]] box: install them there by hand); load: install "
        "them in Asterisk's configuration (extensions_hotline.conf, included from "
        "extensions.conf) and reload over AMI; graph [FLOW] [-o FILE]: draw a flow (SVG/PNG).",
    )
    parser.add_argument("action", choices=["check", "render", "load", "graph"])
    parser.add_argument(
        "target",
        nargs="?",
        help="check: a folder of flow files (default [flows] directory); "
        "render: a [[site]] id (default the main box); "
        "graph: the flow's name (default the entry flow)",
    )
    parser.add_argument("-o", "--output", help="graph: the picture to write (.svg, .png or .dot)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    settings = settings_of(args)
    if args.action == "render":
        site = args.target or "main"
        if site != "main" and site not in settings.directory.sites:
            known = ", ".join(sorted(settings.directory.sites)) or "none"
            raise ConfigError(
                f"dialplan render: no site {site!r} in {settings.seats_file} (sites: {known})"
            )
        print(dialplan.render(dialplan_parts(settings), site), end="")
        return 0
    if args.action == "load":
        for line in dialplan.install(dialplan_parts(settings)):
            print(line)
        print(f"Asterisk: {asyncio.run(dialplan.reload(settings.ami, settings.file))}")
        return 0
    directory = settings.flows.directory
    if args.action == "check" and args.target:
        directory = Path(args.target)
    prompts = set(catalogue_ids(settings.prompts.catalogue))
    flows = load_flows(
        directory, set(settings.directory.posts), prompts, set(settings.directory.businesses)
    )
    if args.action == "check":
        for name, flow in sorted(flows.items()):
            print(f"ok  {flow.file}: flow {name!r}, {len(flow.nodes)} nodes")
        return 0
    name = args.target or settings.flows.entry
    if name not in flows:
        raise ConfigError(f"dialplan graph: no flow {name!r}; flows: {', '.join(sorted(flows))}")
    out = Path(args.output or f"{name}.svg")
    print(f"wrote {render(flows[name], out)}")
    return 0
