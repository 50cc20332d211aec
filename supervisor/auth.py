"""Accounts, passwords, sessions and CSRF tokens. Storage through SQLAlchemy; no HTTP here.

Passwords: scrypt (hashlib) with a random 16-byte salt, stored as
`scrypt$n$r$p$salt_hex$hash_hex`; verification is constant-time. Sessions: a random token in
an HttpOnly cookie; only its sha256 is stored, with an expiry that slides on use. Each session
has its own CSRF token, which every POST must echo (header or form field).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from store.db import write
from store.models import WebSession, WebUser

ROLES = ("supervisor", "qa", "admin")
USERNAME = re.compile(r"^[A-Za-z0-9_.-]{2,40}$")
# a phone the controller may originate ChanSpy to: PJSIP/<endpoint> or PJSIP/<endpoint>/sip:...
PHONE = re.compile(r"^(PJSIP|SIP|IAX2)/[A-Za-z0-9_.-]{1,64}(/sip:[A-Za-z0-9_.@:-]{1,120})?$")
MIN_PASSWORD = 10
_N, _R, _P = 2**14, 8, 1


class AuthError(Exception):
    """A user or password is refused (one line for the user)."""


@dataclass(frozen=True)
class User:
    username: str
    role: str
    district: str | None
    phone: str

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    return f"scrypt${_N}${_R}${_P}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        kind, n, r, p, salt, digest = stored.split("$")
        if kind != "scrypt":
            return False
        got = hashlib.scrypt(
            password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p), dklen=32
        )
    except ValueError:
        return False
    return hmac.compare_digest(got.hex(), digest)


_DUMMY = hash_password("not-a-real-password")  # equal work for unknown users


def check_new_user(
    username: str, password: str, role: str, district: str | None, phone: str, districts: set[str]
) -> None:
    if not USERNAME.match(username):
        raise AuthError(f"user name {username!r}: use 2-40 letters, digits, '.', '_' or '-'")
    check_password(password)
    if role not in ROLES:
        raise AuthError(f"role {role!r}: expected one of {', '.join(ROLES)}")
    if district is not None and district not in districts:
        raise AuthError(f"district {district!r}: not an office of the seat directory")
    if phone and not PHONE.match(phone):
        raise AuthError(
            f"phone {phone!r}: expected a dial string like PJSIP/sup9001 "
            "(or PJSIP/<endpoint>/sip:user@host:port)"
        )


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AuthError(f"the password must have at least {MIN_PASSWORD} characters")


class Accounts:
    """Users and sessions in the database."""

    def __init__(self, sessions: sessionmaker[Session], session_minutes: int = 480) -> None:
        self.sessions = sessions
        self.lifetime = timedelta(minutes=session_minutes)

    # --- users ---------------------------------------------------------------------------

    def add(
        self,
        username: str,
        password: str,
        role: str,
        district: str | None,
        phone: str,
        districts: set[str],
    ) -> User:
        check_new_user(username, password, role, district, phone, districts)
        with write(self.sessions) as s:
            if s.get(WebUser, username) is not None:
                raise AuthError(f"user {username!r} exists already")
            s.add(
                WebUser(
                    username=username,
                    password=hash_password(password),
                    role=role,
                    district=district,
                    phone=phone,
                    created_at=datetime.now(UTC),
                )
            )
        return User(username, role, district, phone)

    def set_password(self, username: str, password: str) -> None:
        check_password(password)
        with write(self.sessions) as s:
            row = s.get(WebUser, username)
            if row is None:
                raise AuthError(f"no user {username!r}")
            row.password = hash_password(password)
            s.execute(delete(WebSession).where(WebSession.username == username))

    def users(self) -> list[User]:
        with self.sessions() as s:
            rows = s.scalars(select(WebUser).order_by(WebUser.username)).all()
            return [User(r.username, r.role, r.district, r.phone) for r in rows if not r.disabled]

    def user(self, username: str) -> User | None:
        with self.sessions() as s:
            row = s.get(WebUser, username)
            if row is None or row.disabled:
                return None
            return User(row.username, row.role, row.district, row.phone)

    def authenticate(self, username: str, password: str) -> User | None:
        with self.sessions() as s:
            row = s.get(WebUser, username)
            stored = row.password if row is not None and not row.disabled else _DUMMY
            ok = verify_password(password, stored)
            if row is None or row.disabled or not ok:
                return None
            return User(row.username, row.role, row.district, row.phone)

    # --- sessions ------------------------------------------------------------------------

    def open_session(self, user: User, now: datetime | None = None) -> tuple[str, str]:
        """A new session: (cookie token, CSRF token)."""
        now = now or datetime.now(UTC)
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        with write(self.sessions) as s:
            s.execute(delete(WebSession).where(WebSession.expires_at < now))
            s.add(
                WebSession(
                    token_hash=_digest(token),
                    username=user.username,
                    csrf=csrf,
                    created_at=now,
                    expires_at=now + self.lifetime,
                )
            )
        return token, csrf

    def resume(self, token: str, now: datetime | None = None) -> tuple[User, str] | None:
        """The session's user and CSRF token, or None when unknown or expired. Use slides the
        expiry forward."""
        now = now or datetime.now(UTC)
        with write(self.sessions) as s:
            row = s.get(WebSession, _digest(token))
            if row is None:
                return None
            if _aware(row.expires_at) <= now:
                s.delete(row)
                return None
            user = s.get(WebUser, row.username)
            if user is None or user.disabled:
                return None
            if _aware(row.expires_at) < now + self.lifetime - timedelta(minutes=1):
                row.expires_at = now + self.lifetime  # slid at most once a minute
            return User(user.username, user.role, user.district, user.phone), row.csrf

    def close_session(self, token: str) -> None:
        with write(self.sessions) as s:
            s.execute(delete(WebSession).where(WebSession.token_hash == _digest(token)))


def csrf_ok(expected: str, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(expected.encode(), (given or "").encode())


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _aware(at: datetime) -> datetime:
    """SQLite gives naive datetimes back: they are UTC."""
    return at if at.tzinfo else at.replace(tzinfo=UTC)
