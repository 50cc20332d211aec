"""`hotline users add|list|passwd`: the dashboard's accounts, from the server's shell."""

from __future__ import annotations

import getpass
import sys

from ivr.config import Settings
from store.db import open_engine, session_factory

from .auth import Accounts, AuthError


def read_password(from_stdin: bool, confirm: bool = True) -> str:
    """From standard input (one line, for scripts) or typed twice at the terminal."""
    if from_stdin or not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("password: ")
    if confirm and getpass.getpass("again: ") != first:
        raise AuthError("the two passwords differ")
    return first


def accounts(settings: Settings) -> Accounts:
    return Accounts(
        session_factory(open_engine(settings.database_url)), settings.web.session_minutes
    )


def add(
    settings: Settings,
    username: str,
    role: str,
    district: str | None,
    phone: str,
    from_stdin: bool,
) -> str:
    offices = set(settings.directory.offices)
    if district is not None and district not in offices:
        raise AuthError(f"district {district!r}: not an office of the seat directory")
    password = read_password(from_stdin)
    user = accounts(settings).add(username, password, role, district, phone, offices)
    scope = f", district {user.district}" if user.district else ", whole city"
    return f"added {user.username} ({user.role}{scope}{', phone ' + phone if phone else ''})"


def listing(settings: Settings) -> list[str]:
    rows = accounts(settings).users()
    if not rows:
        return ["no users yet: hotline users add NAME --role admin"]
    return [
        f"{u.username:<20} {u.role:<11} {u.district or 'city':<12} {u.phone or '-'}" for u in rows
    ]


def passwd(settings: Settings, username: str, from_stdin: bool) -> str:
    password = read_password(from_stdin)
    accounts(settings).set_password(username, password)
    return f"password changed for {username}; their sessions were closed"
