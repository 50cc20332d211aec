"""The `hotline` command."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from sandbox.rootfs import SandboxError
from store.db import StoreError

from .ami import AmiError
from .config import Settings, load_settings
from .flow import FlowError, load_flows
from .settings import ConfigError

DEFAULT_CONFIG = "config/hotline.toml"
USER_ERRORS = (ConfigError, FlowError, StoreError, AmiError, SandboxError)


def _settings(args: argparse.Namespace) -> Settings:
    return load_settings(Path(args.config))


def _setup_logging(settings: Settings | None, verbose: bool = False) -> None:
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if settings is not None and settings.log_file is not None:
        settings.log_file.parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(settings.log_file, encoding="utf-8"))
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
        handlers=handlers,
        force=True,
    )
    logging.getLogger("panoramisk").setLevel(logging.WARNING)


def cmd_serve(args: argparse.Namespace) -> int:
    from .controller import serve

    settings = _settings(args)
    _setup_logging(settings, args.verbose)
    asyncio.run(serve(settings))
    return 0


def cmd_sandbox(args: argparse.Namespace) -> int:
    from . import sandbox_cmd

    settings = _settings(args)
    if args.action == "up":
        sandbox_cmd.up(settings)
    elif args.action == "down":
        stopped = sandbox_cmd.down(settings)
        print(f"sandbox '{settings.sandbox.name}' " + ("stopped" if stopped else "was not running"))
    elif args.action == "status":
        print(sandbox_cmd.status(settings))
    else:
        if not args.command:
            raise ConfigError(
                "sandbox cli: give the Asterisk CLI command, "
                "e.g. hotline sandbox cli core show channels"
            )
        print(sandbox_cmd.instance_for(settings).cli(" ".join(args.command)), end="")
    return 0


def cmd_dialplan(args: argparse.Namespace) -> int:
    from .dialplan import render_inbound

    settings = _settings(args)
    if args.action == "check":
        directory = Path(args.path) if args.path else settings.flows.directory
        flows = load_flows(directory, set(settings.directory.posts))
        for name, flow in sorted(flows.items()):
            print(f"ok  {flow.file}: flow {name!r}, {len(flow.nodes)} nodes")
    else:
        print(render_inbound(settings), end="")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    settings = _settings(args)
    return run_demo(settings, calls=args.calls)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hotline",
        description="IVR and call routing for the 12333 hotline, driving Asterisk.",
    )
    parser.add_argument(
        "-c",
        "--config",
        default=os.environ.get("HOTLINE_CONFIG", DEFAULT_CONFIG),
        help=f"controller configuration (default: $HOTLINE_CONFIG or {DEFAULT_CONFIG})",
    )
    sub = parser.add_subparsers(dest="command_name", metavar="COMMAND", required=True)

    serve = sub.add_parser(
        "serve",
        help="run the controller (FastAGI server + AMI client)",
        description="Run the controller until SIGTERM or SIGINT.",
    )
    serve.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    serve.set_defaults(func=cmd_serve)

    sb = sub.add_parser(
        "sandbox",
        help="the sandbox Asterisk 22 on loopback",
        description="Build (once, cached), configure, start, stop and query the "
        "sandbox Asterisk. Needs root.",
    )
    sb.add_argument(
        "action",
        choices=["up", "down", "status", "cli"],
        help="up: build if needed, start, wait for FullyBooted; down: stop; "
        "status: running or not; cli: run an Asterisk CLI command",
    )
    sb.add_argument("command", nargs="*", help="for 'cli': the Asterisk CLI command")
    sb.set_defaults(func=cmd_sandbox)

    dp = sub.add_parser(
        "dialplan",
        help="check call flows, render the Asterisk dialplan",
        description="check: validate every flow file and report all problems "
        "with file:line; render: print the Asterisk contexts for the hotline number.",
    )
    dp.add_argument("action", choices=["check", "render"])
    dp.add_argument(
        "path", nargs="?", help="for 'check': a folder of flow files (default: [flows] directory)"
    )
    dp.set_defaults(func=cmd_dialplan)

    demo = sub.add_parser(
        "demo",
        help="sandbox Asterisk + controller + simulated callers and agents",
        description="Start the sandbox and the controller, place simulated calls "
        "(SIPp callers pressing keys, SIPp agents answering) and print what "
        "happened to each call.",
    )
    demo.add_argument("--calls", type=int, default=3, help="number of simulated calls (default 3)")
    demo.set_defaults(func=cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except USER_ERRORS as exc:
        print(f"hotline: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
