"""`hotline users add|list|passwd|disable|enable|role`: the dashboard's accounts, from the
server's shell. Every change is written to `account_audit` with the operating-system user who
ran the command (not a name typed on the command line)."""

from __future__ import annotations

import getpass
import os
import sys

from hotline.settings import Settings
from hotline.store.db import open_engine, session_factory
from hotline.supervisor.auth import Accounts, AuthError, check_role


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
    return Accounts(
        session_factory(open_engine(settings.database_url)),
        settings.web.session_minutes,
        settings.web.session_max_hours,
    )


def add(
    settings: Settings,
    username: str,
    role: str,
    district: str | None,
    phone: str,
    from_stdin: bool,
    agent_id: str | None = None,
) -> str:
    offices = set(settings.directory.offices)
    agents = frozenset(settings.directory.agents)
    check_role(role, district, offices, agent_id, agents)  # before the password is asked
    password = read_password(from_stdin)
    acc = accounts(settings)
    user = acc.add(username, password, role, district, phone, offices, agent_id, agents)
    detail = f"role={user.role} district={user.district}"
    acc.record(os_user(), "add", user.username, detail + (f" agent={agent_id}" if agent_id else ""))
    scope = f", district {user.district}" if user.district else ", whole city"
    desk = f", agent {agent_id}" if agent_id else ""
    return f"added {user.username} ({user.role}{scope}{desk}{', phone ' + phone if phone else ''})"


def listing(settings: Settings) -> list[str]:
    rows = accounts(settings).users()
    if not rows:
        return ["no users yet: hotline users add NAME --role admin"]
    return [
        f"{u.username:<20} {u.role:<11} {u.district or 'city':<12} {u.phone or '-'}"
        + (f" agent {u.agent_id}" if u.agent_id else "")
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
) -> str:
    acc = accounts(settings)
    old_role, old_district = acc.set_role(
        username,
        new_role,
        district,
        set(settings.directory.offices),
        agent_id,
        frozenset(settings.directory.agents),
    )
    acc.record(
        os_user(),
        "role",
        username,
        f"{old_role}/{old_district or 'city'} -> {new_role}/{district or 'city'}",
    )
    return f"{username} is now {new_role} ({district or 'whole city'}); their sessions were closed"
