"""The `hotline` command: one parser; each command group registers itself from its module.

Adding a command is one module in hotline/cli with `add_parser(sub)` (which sets `func`, the
function that runs it and returns the exit status) and one entry in `COMMANDS`. A user's
mistake is one of `USER_ERRORS`: one line on stderr, exit status 2, no traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from importlib.metadata import version
from types import ModuleType
from typing import Any

from hotline.cli import (
    agents,
    agi,
    db,
    demo,
    dialplan,
    pbx,
    prompts,
    recordings,
    report,
    sandbox,
    serve,
    surveys,
    top,
    users,
)
from hotline.cli.recordings import RecordingCommandError
from hotline.cli.report import ReportError
from hotline.pbx.ami import AmiError
from hotline.pbx.dialplan import DialplanError
from hotline.sandbox.rootfs import SandboxError
from hotline.store import schema
from hotline.store.db import StoreError
from hotline.supervisor.auth import AuthError
from hotline.supervisor.errors import TopError, WebError
from hotline.tomltables import ConfigError
from ivr.flow import FlowError
from ivr.graph import GraphError
from ivr.prompts import PromptError

DEFAULT_CONFIG = "config/hotline.toml"
# in the order `hotline --help` lists them
COMMANDS: tuple[ModuleType, ...] = (
    serve,
    sandbox,
    dialplan,
    agents,
    agi,
    demo,
    prompts,
    recordings,
    users,
    report,
    top,
    surveys,
    db,
    pbx,
)
USER_ERRORS: tuple[type[Exception], ...] = (
    ConfigError,
    FlowError,
    StoreError,
    AmiError,
    SandboxError,
    PromptError,
    DialplanError,
    GraphError,
    RecordingCommandError,
    AuthError,
    WebError,
    TopError,
    ReportError,
)


class ShowVersion(argparse.Action):
    """`--version`, worked out only when asked (the schema's revisions are files to read)."""

    def __init__(self, option_strings: list[str], dest: str, help: str | None = None) -> None:
        super().__init__(option_strings, dest, nargs=0, help=help)

    def __call__(self, parser: argparse.ArgumentParser, *_args: Any, **_kwargs: Any) -> None:
        print(f"hotline {version('hotline')} (database schema revision {schema.head()})")
        parser.exit()


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
    parser.add_argument(
        "--version", action=ShowVersion, help="the version and the schema revision it needs"
    )
    sub = parser.add_subparsers(dest="command_name", metavar="COMMAND", required=True)
    for command in COMMANDS:
        command.add_parser(sub)
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
