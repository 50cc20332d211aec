"""`hotline users add|list|passwd|disable|enable|role`: the dashboard's accounts, from the
server's shell. Every change is written to `account_audit` with the operating-system user who
ran the command (not a name typed on the command line)."""

from __future__ import annotations

import argparse
import getpass
import os
import sys

from hotline.cli.common import Subparsers, settings_of
from hotline.controller.assembly import open_database, web_accounts
from hotline.settings import Settings
from hotline.supervisor.auth import ROLES, Accounts, AuthError, check_role


def read_password(from_stdin: bool, confirm: bool = True) -> str:
    """From standard input (one line, for scripts) or typed twice at the terminal."""
    if from_stdin or not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("password: ")
    if confirm and getpass.getpass("again: ") != first:
        raise AuthError("the two passwords differ")
    return first


def os_user() -> str:
    """Who is at the shell: the login name of the process's real user id."""
    try:
        import pwd

        return pwd.getpwuid(os.getuid()).pw_name
    except (ImportError, KeyError):
        return f"uid:{os.getuid()}" if hasattr(os, "getuid") else "unknown"


def accounts(settings: Settings) -> Accounts:
    return web_accounts(settings, open_database(settings))


def add(
    settings: Settings,
    username: str,
    role: str,
    district: str | None,
    phone: str,
    from_stdin: bool,
    agent_id: str | None = None,
    department: str | None = None,
) -> str:
    offices = set(settings.directory.offices)
    agents = frozenset(settings.directory.agents)
    departments = frozenset(settings.matters.departments)
    # before the password is asked
    check_role(role, district, offices, agent_id, agents, department, departments)
    password = read_password(from_stdin)
    acc = accounts(settings)
    user = acc.add(
        username,
        password,
        role,
        district,
        phone,
        offices,
        agent_id,
        agents,
        department,
        departments,
    )
    detail = f"role={user.role} district={user.district}"
    detail += f" agent={agent_id}" if agent_id else ""
    detail += f" department={department}" if department else ""
    acc.record(os_user(), "add", user.username, detail)
    scope = f", district {user.district}" if user.district else ", whole city"
    desk = f", agent {agent_id}" if agent_id else ""
    desk += f", department {department}" if department else ""
    return f"added {user.username} ({user.role}{scope}{desk}{', phone ' + phone if phone else ''})"


def listing(settings: Settings) -> list[str]:
    rows = accounts(settings).users()
    if not rows:
        return ["no users yet: hotline users add NAME --role admin"]
    return [
        f"{u.username:<20} {u.role:<11} {u.district or 'city':<12} {u.phone or '-'}"
        + (f" agent {u.agent_id}" if u.agent_id else "")
        + (f" department {u.department}" if u.department else "")
        for u in rows
    ]


def passwd(settings: Settings, username: str, from_stdin: bool) -> str:
    password = read_password(from_stdin)
    acc = accounts(settings)
    acc.set_password(username, password)
    acc.record(os_user(), "passwd", username)
    return f"password changed for {username}; their sessions were closed"


def disable(settings: Settings, username: str, disabled: bool) -> str:
    acc = accounts(settings)
    acc.set_disabled(username, disabled)
    acc.record(os_user(), "disable" if disabled else "enable", username)
    if disabled:
        return f"disabled {username}; their sessions and live streams were closed"
    return f"enabled {username}"


def role(
    settings: Settings,
    username: str,
    new_role: str,
    district: str | None,
    agent_id: str | None = None,
    department: str | None = None,
) -> str:
    acc = accounts(settings)
    old_role, old_district = acc.set_role(
        username,
        new_role,
        district,
        set(settings.directory.offices),
        agent_id,
        frozenset(settings.directory.agents),
        department,
        frozenset(settings.matters.departments),
    )
    acc.record(
        os_user(),
        "role",
        username,
        f"{old_role}/{old_district or 'city'} -> {new_role}/{district or 'city'}",
    )
    return f"{username} is now {new_role} ({district or 'whole city'}); their sessions were closed"


def add_parser(sub: Subparsers) -> None:
    parser = sub.add_parser(
        "users",
        help="the dashboard's accounts: add, list, passwd",
        description="Accounts for the supervisors' dashboard and the agents' desk. Roles: "
        "supervisor (watch, listen / whisper / barge, score), qa (watch, score), admin "
        "(everything), agent (their own desk at /desk only, linked with --agent ID), "
        "department (the matters handed over to it and their reply form at /dept only, linked "
        "with --department ID of the departments file). "
        "--district limits a supervisor to one district's agents. Passwords are read from the "
        "terminal (twice) or, with --password-stdin, as one line of standard input; at least "
        "10 characters.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    add_user = actions.add_parser("add", help="add an account", description="Add an account.")
    add_user.add_argument("username", help="2-40 letters, digits, '.', '_' or '-'")
    add_user.add_argument("--role", required=True, choices=list(ROLES))
    add_user.add_argument("--agent", help="role agent: their agent id in the seat directory (1001)")
    add_user.add_argument(
        "--department", help="role department: its id in the departments file (e.g. si-xihu)"
    )
    add_user.add_argument(
        "--district", help="an office id of the seat directory (e.g. xihu); default: whole city"
    )
    add_user.add_argument(
        "--phone",
        default="",
        help="the phone ChanSpy rings for listen / whisper / barge, e.g. PJSIP/sup9001",
    )
    add_user.add_argument(
        "--password-stdin", action="store_true", help="read the password from stdin"
    )
    actions.add_parser("list", help="list the accounts", description="List the accounts.")
    password = actions.add_parser(
        "passwd",
        help="set an account's password",
        description="Set a new password; the account's open sessions are closed.",
    )
    password.add_argument("username")
    password.add_argument(
        "--password-stdin", action="store_true", help="read the password from stdin"
    )
    for verb, what in (
        ("disable", "disable an account: it cannot log in; its sessions and streams end now"),
        ("enable", "enable a disabled account again"),
    ):
        actions.add_parser(
            verb, help=what, description=what[0].upper() + what[1:] + "."
        ).add_argument("username")
    change_role = actions.add_parser(
        "role",
        help="change an account's role and district",
        description="Set an account's role and district (no --district: the whole city); its "
        "open sessions and live streams are closed so the new scope applies at once.",
    )
    change_role.add_argument("username")
    change_role.add_argument("--role", required=True, choices=list(ROLES))
    change_role.add_argument("--agent", help="role agent: their agent id in the seat directory")
    change_role.add_argument("--department", help="role department: its departments file id")
    change_role.add_argument("--district", help="an office id of the seat directory (e.g. xihu)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    settings = settings_of(args)
    if args.action == "add":
        print(
            add(
                settings,
                args.username,
                args.role,
                args.district,
                args.phone,
                args.password_stdin,
                args.agent,
                args.department,
            )
        )
    elif args.action == "list":
        for line in listing(settings):
            print(line)
    elif args.action in ("disable", "enable"):
        print(disable(settings, args.username, args.action == "disable"))
    elif args.action == "role":
        print(role(settings, args.username, args.role, args.district, args.agent, args.department))
    else:
        print(passwd(settings, args.username, args.password_stdin))
    return 0
