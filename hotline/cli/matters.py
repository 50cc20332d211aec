"""`hotline matters list|show|assign|close`, `hotline departments list` and
`hotline notices check`: matters (工单), their departments and the notice catalogue, for
admins at the shell. Caller numbers are shown masked; the actor written to a matter's history
is the operating-system user at the shell."""

from __future__ import annotations

import argparse
import getpass
from datetime import datetime
from zoneinfo import ZoneInfo

from hotline.cli.common import Subparsers, settings_of
from hotline.controller.assembly import load_call_flows, matter_service, open_database
from hotline.matters.lifecycle import STATUSES
from hotline.matters.service import MatterService, MatterView, Scope
from hotline.settings import Settings
from hotline.tomltables import ConfigError
from ivr.flow import NotifyNode


def add_parser(sub: Subparsers) -> None:
    """Three groups: matters, departments, notices."""
    mt = sub.add_parser(
        "matters",
        help="matters (工单): list, show, assign, close",
        description="Matters: complaints, reports, messages and hard questions with an owner "
        "(the first-inquiry agent), a status, a due time and a history. Caller numbers are "
        "shown masked.",
    )
    mt_sub = mt.add_subparsers(dest="action", metavar="ACTION", required=True)
    ls = mt_sub.add_parser(
        "list",
        help="matters, newest first",
        description="Matters, newest first, optionally only one status, district, owner or "
        "the overdue ones (open and past their due time).",
    )
    ls.add_argument("--status", choices=STATUSES, help="only this status")
    ls.add_argument("--district", help="only this district's (an office id, e.g. xihu)")
    ls.add_argument("--owner", help="only this agent's (open ones)")
    ls.add_argument("--department", help="only those handed over to this department")
    ls.add_argument("--overdue", action="store_true", help="only open matters past due")
    ls.add_argument("--limit", type=int, default=50, help="at most this many (default 50)")
    show = mt_sub.add_parser(
        "show",
        help="one matter and its history",
        description="A matter, its history, hand-overs, calls, notices sent and callbacks.",
    )
    show.add_argument("number", help="the matter's number (what the caller heard)")
    assign = mt_sub.add_parser(
        "assign",
        help="give a matter to another owner (audited)",
        description="Change a matter's owner: the only way it changes after the first "
        "inquiry; the reason goes into its history.",
    )
    assign.add_argument("number")
    assign.add_argument("agent", help="the new owner's agent id (seats.toml)")
    assign.add_argument("--reason", required=True, help="why the owner changes")
    close = mt_sub.add_parser(
        "close",
        help="close a matter once the citizen was told",
        description="Close a matter. A matter closes only after the citizen was told: give "
        "how (or why they need not be) as --reason. A matter waiting for a department's reply "
        "cannot close.",
    )
    close.add_argument("number")
    close.add_argument("--reason", required=True, help="how the citizen was told, or why not")
    mt.set_defaults(func=run_matters)

    dp = sub.add_parser(
        "departments",
        help="the departments matters are handed over to",
        description="The departments of [matters] departments (config/departments.toml).",
    )
    dp_sub = dp.add_subparsers(dest="action", metavar="ACTION", required=True)
    dp_sub.add_parser("list", help="list them", description="id, name, district, contact.")
    dp.set_defaults(func=run_departments)

    nt = sub.add_parser(
        "notices",
        help="the one-time notification catalogue",
        description="The one-time notifications (一次性告知) and standard answers of "
        "[matters] notices (config/notices.toml).",
    )
    nt_sub = nt.add_subparsers(dest="action", metavar="ACTION", required=True)
    nt_sub.add_parser(
        "check",
        help="every business item has a notice in zh-CN and English",
        description="Checks that every business of the seat directory (posts and skills) has "
        'a notice (kind = "notice") in each language; exit status 1 when one lacks it.',
    )
    nt.set_defaults(func=run_notices)


def service_of(settings: Settings) -> MatterService:
    """The matters service as the controller builds it (hotline/controller/assembly.py)."""
    return matter_service(settings, open_database(settings))


def run_matters(args: argparse.Namespace) -> int:
    settings = settings_of(args)
    service = service_of(settings)
    zone = ZoneInfo(settings.directory.timezone)
    actor = f"shell:{getpass.getuser()}"
    if args.action == "list":
        return _list(args, settings, service, zone)
    if args.action == "show":
        print(_show(service, args.number, zone), end="")
    elif args.action == "assign":
        m = service.assign(args.number, actor, args.agent, args.reason)
        print(f"matter {m.number}: owner {m.owner}")
    else:
        m = service.close(args.number, actor, "reason", args.reason)
        print(f"matter {m.number}: closed")
    return 0


def _when(at: datetime | None, zone: ZoneInfo) -> str:
    return "-" if at is None else f"{at.astimezone(zone):%Y-%m-%d %H:%M}"


def _line(m: MatterView, zone: ZoneInfo, now: datetime) -> str:
    late = " OVERDUE" if m.overdue(now) else ""
    return (
        f"{m.number}  {m.status:<11} {m.category:<12} {m.business or '-':<10} "
        f"{m.district or '-':<10} owner={m.owner or 'pool':<6} caller={m.caller_masked:<13} "
        f"due={_when(m.due_at, zone)}{late}"
    )


def _list(
    args: argparse.Namespace, settings: Settings, service: MatterService, zone: ZoneInfo
) -> int:
    if args.district is not None and args.district not in settings.directory.offices:
        raise ConfigError(f"matters list: --district {args.district!r} is not an office")
    if args.owner:
        found = service.for_owner(args.owner)
    else:
        found = service.search(
            Scope(args.district), args.status, args.overdue, args.department, args.limit
        )
    now = service.now()
    for m in found:
        print(_line(m, zone, now))
    if not found:
        print("no matters")
    return 0


def _show(service: MatterService, number: str, zone: ZoneInfo) -> str:
    d = service.get(number)
    m = d.matter
    out = [
        f"matter {m.number}  {m.status}  ({m.channel}, {m.category})",
        f"  caller     {m.caller_masked} {m.caller_name}".rstrip(),
        f"  business   {m.business or '-'}   district {m.district or '-'}",
        f"  owner      {m.owner or 'the pool'}",
        f"  opened     {_when(m.created_at, zone)} by {m.created_by}",
        f"  due        {_when(m.due_at, zone)}",
        f"  closed     {_when(m.closed_at, zone)} {m.told or ''} {m.close_reason}".rstrip(),
        f"  summary    {m.summary}",
        f"  calls      {', '.join(d.calls) or '-'}",
    ]
    for h in d.handovers:
        out.append(
            f"  hand-over  #{h.id} to {h.department} due {_when(h.due_at, zone)}: {h.question}"
        )
        if h.replied_at is not None:
            out.append(f"     reply   {_when(h.replied_at, zone)} {h.replied_by}: {h.reply}")
    for n in d.notices:
        out.append(f"  notice     {n.notice} ({n.language}) {n.status} by {n.sender}")
    out.append("  history")
    for e in d.events:
        out.append(f"    {_when(e.at, zone)}  {e.actor:<14} {e.kind:<16} {e.detail}")
    return "\n".join(out) + "\n"


def run_departments(args: argparse.Namespace) -> int:
    settings = settings_of(args)
    departments = settings.matters.departments
    if not departments:
        print("no departments: set [matters] departments in the configuration")
    for d in departments.values():
        print(f"{d.id:<24} {d.district:<10} {d.contact:<16} {d.name} {d.name_en}".rstrip())
    return 0


def run_notices(args: argparse.Namespace) -> int:
    settings = settings_of(args)
    catalogue = settings.matters.notices
    problems = catalogue.check(settings.directory.businesses)
    flows, _prompts = load_call_flows(settings)
    for flow in flows.values():
        for node in flow.nodes.values():
            if isinstance(node, NotifyNode) and node.notice not in catalogue.notices:
                problems.append(
                    f"{flow.file}: node {node.id!r}: notice {node.notice!r} is not in the catalogue"
                )
    for line in problems:
        print(f"missing: {line}")
    if problems:
        return 1
    count = sum(1 for n in catalogue.notices.values() if n.kind == "notice")
    businesses = len(settings.directory.businesses)
    print(f"ok  {count} notices cover all {businesses} business items in zh-CN and en")
    return 0
