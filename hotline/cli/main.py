"""The `hotline` command."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import replace
from importlib.metadata import version
from pathlib import Path
from typing import Any

from hotline.cli import db as db_cmd
from hotline.cli import init as init_cmd
from hotline.cli import pbx as asterisk_cmd
from hotline.cli import report as report_cmd
from hotline.cli import surveys as survey_cmd
from hotline.cli.recordings import RecordingCommandError
from hotline.pbx.ami import AmiError
from hotline.pbx.dialplan import DialplanError
from hotline.sandbox.rootfs import SandboxError
from hotline.settings import Settings, load_settings
from hotline.site import SiteError
from hotline.store import schema
from hotline.store.db import StoreError
from hotline.tomltables import ConfigError
from ivr.flow import FlowError, load_flows
from ivr.graph import GraphError
from ivr.prompts import PromptError
from routing.calendar import Calendar, parse_span

DEFAULT_CONFIG = "config/hotline.toml"
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
    SiteError,
)


def _settings(args: argparse.Namespace) -> Settings:
    return load_settings(Path(args.config))


def _setup_logging(
    settings: Settings | None, verbose: bool = False, to_stderr: bool = True
) -> None:
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)] if to_stderr else []
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
    logging.getLogger("alembic").setLevel(logging.WARNING)  # `hotline db upgrade` says its own


def cmd_serve(args: argparse.Namespace) -> int:
    from hotline.controller.app import serve

    settings = _settings(args)
    if args.agents_always_on_duty:  # the demo's agents work around the clock
        week = Calendar((parse_span("mon-sun 00:00-24:00"),))
        settings = replace(settings, directory=replace(settings.directory, calendar=week))
    _setup_logging(settings, args.verbose)
    asyncio.run(serve(settings))
    return 0


def cmd_sandbox(args: argparse.Namespace) -> int:
    from hotline.sandbox import commands as sandbox_cmd

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
    from hotline.pbx import dialplan
    from ivr.prompts import catalogue_ids

    settings = _settings(args)
    if args.action == "render":
        site = args.target or "main"
        if site != "main" and site not in settings.directory.sites:
            known = ", ".join(sorted(settings.directory.sites)) or "none"
            raise ConfigError(
                f"dialplan render: no site {site!r} in {settings.seats_file} (sites: {known})"
            )
        print(dialplan.render(settings, site), end="")
        return 0
    if args.action == "load":
        for line in dialplan.install(settings):
            print(line)
        print(f"Asterisk: {asyncio.run(dialplan.reload(settings))}")
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
    from ivr.graph import render

    name = args.target or settings.flows.entry
    if name not in flows:
        raise ConfigError(f"dialplan graph: no flow {name!r}; flows: {', '.join(sorted(flows))}")
    out = Path(args.output or f"{name}.svg")
    print(f"wrote {render(flows[name], out)}")
    return 0


def cmd_agent(args: argparse.Namespace) -> int:
    from hotline.cli.agents import change_agent

    settings = _settings(args)
    print(asyncio.run(change_agent(settings, args.agent, args.change, args.reason)))
    return 0


def cmd_agi(args: argparse.Namespace) -> int:
    from hotline.pbx.classic import run_classic

    settings = _settings(args)
    _setup_logging(settings, to_stderr=False)  # stdout is the AGI channel itself
    return run_classic(settings, args.flow)


def cmd_demo(args: argparse.Namespace) -> int:
    from hotline.sandbox.demo import run_demo

    settings = _settings(args)
    return run_demo(settings, calls=args.calls)


def cmd_prompts(args: argparse.Namespace) -> int:
    import time

    from ivr import prompts

    settings = _settings(args).prompts
    catalogue = prompts.load_catalogue(settings.catalogue, settings.languages)
    if args.action == "build":
        formats = prompts.parse_formats(args.format)
        started = time.monotonic()
        summary = prompts.build(
            catalogue,
            settings.build_directory,
            formats=formats,
            only=args.only,
            progress=sys.stderr,
        )
        for line in summary.failed:
            print(f"failed  {line}", file=sys.stderr)
        print(
            f"prompts: {len(summary.built)} built, {summary.up_to_date} up to date, "
            f"{len(summary.failed)} failed in {time.monotonic() - started:.1f} s "
            f"-> {settings.build_directory}"
        )
        return 1 if summary.failed else 0
    referenced: set[str] = set()  # flows' prompt ids: wired by the flow engine
    problems = prompts.check(catalogue, settings.build_directory, referenced)
    for line in problems:
        print(line)
    if not problems:
        print(
            f"ok  {len(catalogue.prompts)} prompts in {', '.join(catalogue.languages)}: "
            f"audio in {settings.build_directory}"
        )
    return 1 if problems else 0


def cmd_recordings(args: argparse.Namespace) -> int:
    from hotline.cli import recordings as recording_cmd

    settings = _settings(args)
    logging.basicConfig(level=logging.WARNING, format="hotline: %(message)s", force=True)
    return recording_cmd.run(args, settings)


def cmd_users(args: argparse.Namespace) -> int:
    from hotline.cli import users as users_cmd

    settings = _settings(args)
    if args.action == "add":
        print(
            users_cmd.add(
                settings, args.username, args.role, args.district, args.phone, args.password_stdin
            )
        )
    elif args.action == "list":
        for line in users_cmd.listing(settings):
            print(line)
    elif args.action in ("disable", "enable"):
        print(users_cmd.disable(settings, args.username, args.action == "disable"))
    elif args.action == "role":
        print(users_cmd.role(settings, args.username, args.role, args.district))
    else:
        print(users_cmd.passwd(settings, args.username, args.password_stdin))
    return 0


def cmd_report_scores(args: argparse.Namespace) -> int:
    """`hotline report scores`: each report of the group has its own function."""
    from hotline.store.db import open_engine, session_factory
    from hotline.supervisor import score_report
    from hotline.supervisor.scoring import load_sheet

    settings = _settings(args)
    try:
        month = score_report.parse_month(args.month)
    except ValueError as exc:
        print(f"hotline: {exc}", file=sys.stderr)
        return 2
    rows = score_report.monthly(
        session_factory(open_engine(settings.database_url)),
        load_sheet(settings.web.score_sheet),
        settings.directory,
        month,
    )
    if args.json:
        data = {"month": score_report.month_label(month), "agents": [r.as_json() for r in rows]}
        print(json.dumps(data, ensure_ascii=False, indent=2))
    elif args.csv:
        sys.stdout.write(score_report.to_csv(rows))
    else:
        for line in score_report.to_text(month, rows):
            print(line)
    return 0


def cmd_top(args: argparse.Namespace) -> int:
    from hotline.cli.top import run_top
    from hotline.cli.users import read_password

    settings = _settings(args)
    password = read_password(args.password_stdin, confirm=False)
    try:
        return asyncio.run(run_top(settings, args.user, password, once=args.once, url=args.url))
    except KeyboardInterrupt:
        return 0


def _supervisor_parsers(sub: Any) -> None:
    """`hotline users ...` and `hotline top`: the supervisors' dashboard from the shell."""
    us = sub.add_parser(
        "users",
        help="the dashboard's accounts: add, list, passwd",
        description="Accounts for the supervisors' dashboard. Roles: supervisor (watch, listen / "
        "whisper / barge, score), qa (watch, score), admin (everything). --district limits a "
        "supervisor to one district's agents. Passwords are read from the terminal (twice) or, "
        "with --password-stdin, as one line of standard input; at least 10 characters.",
    )
    us_sub = us.add_subparsers(dest="action", metavar="ACTION", required=True)
    us_add = us_sub.add_parser("add", help="add an account", description="Add an account.")
    us_add.add_argument("username", help="2-40 letters, digits, '.', '_' or '-'")
    us_add.add_argument("--role", required=True, choices=["supervisor", "qa", "admin"])
    us_add.add_argument(
        "--district", help="an office id of the seat directory (e.g. xihu); default: whole city"
    )
    us_add.add_argument(
        "--phone",
        default="",
        help="the phone ChanSpy rings for listen / whisper / barge, e.g. PJSIP/sup9001",
    )
    us_add.add_argument(
        "--password-stdin", action="store_true", help="read the password from stdin"
    )
    us_sub.add_parser("list", help="list the accounts", description="List the accounts.")
    us_pw = us_sub.add_parser(
        "passwd",
        help="set an account's password",
        description="Set a new password; the account's open sessions are closed.",
    )
    us_pw.add_argument("username")
    us_pw.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    for verb, what in (
        ("disable", "disable an account: it cannot log in; its sessions and streams end now"),
        ("enable", "enable a disabled account again"),
    ):
        us_sub.add_parser(
            verb, help=what, description=what[0].upper() + what[1:] + "."
        ).add_argument("username")
    us_role = us_sub.add_parser(
        "role",
        help="change an account's role and district",
        description="Set an account's role and district (no --district: the whole city); its "
        "open sessions and live streams are closed so the new scope applies at once.",
    )
    us_role.add_argument("username")
    us_role.add_argument("--role", required=True, choices=["supervisor", "qa", "admin"])
    us_role.add_argument("--district", help="an office id of the seat directory (e.g. xihu)")
    us.set_defaults(func=cmd_users)

    rp = sub.add_parser(
        "report",
        help="reports from the stored calls (scores, kpi)",
        description="Reports for the monthly assessment, from the database.",
    )
    rp_sub = rp.add_subparsers(dest="report", metavar="REPORT", required=True)
    rs = rp_sub.add_parser(
        "scores",
        help="scores per agent for one calendar month",
        description="Per agent, for the calls that started in the month (the seat directory's "
        "timezone): calls scored, scores, average total, vetoes and the sheet item with the "
        "lowest average share of its weight. Amended scores count by their amendment.",
    )
    rs.add_argument("--month", required=True, help="YYYY-MM, e.g. 2026-12")
    fmt = rs.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="JSON with stable field names")
    fmt.add_argument("--csv", action="store_true", help="CSV with a header row")
    rs.set_defaults(func=cmd_report_scores)
    report_cmd.add_reports(rp_sub)  # kpi

    top = sub.add_parser(
        "top",
        help="the live board in the terminal (calls, agents, queue)",
        description="Follow the running controller's dashboard in the terminal: live calls, "
        "agents by state, the queue and alerts. Logs in with a dashboard account.",
    )
    top.add_argument("--user", required=True, help="a dashboard account")
    top.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    top.add_argument("--once", action="store_true", help="print the board once and exit")
    top.add_argument("--url", help="the dashboard's address (default: from [web] bind)")
    top.set_defaults(func=cmd_top)


class ShowVersion(argparse.Action):
    """`--version`, worked out only when asked (the schema's revisions are files to read, and
    the classic AGI entry starts a process per call)."""

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

    serve = sub.add_parser(
        "serve",
        help="run the controller (FastAGI server + AMI client)",
        description="Run the controller until SIGTERM or SIGINT.",
    )
    serve.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    serve.add_argument(
        "--agents-always-on-duty",
        action="store_true",
        help="ignore the seat directory's hours: agents answer at any time (demos and tests)",
    )
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
        help="check, render, load and draw the call flows",
        description="check [FOLDER]: validate every flow and report all problems with file:line "
        "and node; render [SITE]: print the Asterisk contexts for the hotline number (of a "
        "[[site]] box: install them there by hand); load: install "
        "them in Asterisk's configuration (extensions_hotline.conf, included from "
        "extensions.conf) and reload over AMI; graph [FLOW] [-o FILE]: draw a flow (SVG/PNG).",
    )
    dp.add_argument("action", choices=["check", "render", "load", "graph"])
    dp.add_argument(
        "target",
        nargs="?",
        help="check: a folder of flow files (default [flows] directory); "
        "render: a [[site]] id (default the main box); "
        "graph: the flow's name (default the entry flow)",
    )
    dp.add_argument("-o", "--output", help="graph: the picture to write (.svg, .png or .dot)")
    dp.set_defaults(func=cmd_dialplan)

    ag = sub.add_parser(
        "agent",
        help="log an agent in or out, pause or resume (as the seat's *11-*14 do)",
        description="Tells the running controller, through Asterisk (an AMI UserEvent), that an "
        "agent logged in, logged out, paused (with a reason) or resumed.",
    )
    ag.add_argument("change", choices=["login", "logout", "pause", "resume"])
    ag.add_argument("agent", help="the agent's id in the seat directory, e.g. 1001")
    ag.add_argument(
        "--reason", default="other", help="pause: lunch, training, meeting or other (default other)"
    )
    ag.set_defaults(func=cmd_agent)

    agi = sub.add_parser(
        "agi",
        help="serve one call as a classic AGI script (pyst2, stdin/stdout)",
        description="The process-per-call entry for sites without the controller daemon: "
        "Asterisk runs it per call, e.g. AGI(/usr/local/bin/hotline,-c,/etc/hotline/hotline.toml,"
        "agi,12333). It runs the same flows as FastAGI. Nothing but AGI goes to stdout.",
    )
    agi.add_argument("flow", help="the flow to run, e.g. 12333")
    agi.set_defaults(func=cmd_agi)

    demo = sub.add_parser(
        "demo",
        help="sandbox Asterisk + controller + simulated callers and agents",
        description="Start the sandbox and the controller, place simulated calls "
        "(SIPp callers pressing keys, SIPp agents answering) and print what "
        "happened to each call.",
    )
    demo.add_argument(
        "--calls",
        type=int,
        default=6,
        help="number of simulated calls (default 6: one of each story)",
    )
    demo.set_defaults(func=cmd_demo)

    pr = sub.add_parser(
        "prompts",
        help="build and check the prompts' audio",
        description="The prompt catalogue ([prompts] catalogue) as audio files for Asterisk.",
    )
    pr_sub = pr.add_subparsers(dest="action", metavar="ACTION", required=True)
    pr_build = pr_sub.add_parser(
        "build",
        help="write <build_directory>/<language>/<id>.wav (synthesised or converted)",
        description="Write every prompt in every language as 8 kHz mono 16-bit WAV: "
        "synthesised with espeak-ng, or converted from its studio recording. "
        "Only what changed since the last build is remade. Exit 1 if a prompt failed.",
    )
    pr_build.add_argument(
        "--format",
        default="wav",
        metavar="FORMATS",
        help="comma-separated audio formats: wav, ulaw (default: wav)",
    )
    pr_build.add_argument("--only", nargs="+", metavar="ID", help="build only these prompt ids")
    pr_sub.add_parser(
        "check",
        help="list prompts without audio",
        description="List catalogue prompts without current audio, per language, and prompt "
        "ids the flows use but the catalogue lacks. Exit 1 if anything is missing.",
    )
    pr.set_defaults(func=cmd_prompts)
    from hotline.cli import recordings as recording_cmd

    recording_cmd.add_parser(sub).set_defaults(func=cmd_recordings)
    _supervisor_parsers(sub)
    survey_cmd.add_parser(sub)
    db_cmd.add_parser(sub)
    init_cmd.add_parser(sub)
    asterisk_cmd.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except (*USER_ERRORS, *_supervisor_errors()) as exc:
        print(f"hotline: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _supervisor_errors() -> tuple[type[Exception], ...]:
    from hotline.supervisor.auth import AuthError
    from hotline.supervisor.errors import TopError, WebError

    return (AuthError, WebError, TopError, report_cmd.ReportError)


if __name__ == "__main__":
    sys.exit(main())
