"""Accounts, passwords, sessions and CSRF tokens. Storage through SQLAlchemy; no HTTP here.

Passwords: scrypt (hashlib) with a random 16-byte salt, stored as
`scrypt$n$r$p$salt_hex$hash_hex`, so each hash carries its own cost; verification is
constant-time. The cost is OWASP's N=2^15, r=8, p=3 (32 MiB, about 0.3-0.7 s here); a hash made
with a lower cost (hotline before issue 16: N=2^14, p=1) is re-hashed at the user's next
successful log-in.

Sessions: a random token in an HttpOnly cookie; only its sha256 is stored. A session ends after
`session_minutes` unused (the idle expiry slides on use) and in any case `max_hours` after the
log-in (absolute, default 12 h: a page that polls cannot keep it alive for ever). A password
change, a role change and disabling an account close the account's sessions. Each session has
its own CSRF token, which every POST must echo (header or form field).

Account changes from the shell (add, passwd, disable, enable, role) are written to
`account_audit` with the operating-system user who made them.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from hotline.store.db import write
from hotline.store.models import AccountAudit, WebSession, WebUser

ROLES = ("supervisor", "qa", "admin", "agent", "department")
AGENT_ROLE = "agent"  # an agent's own desk (supervisor/desk.py), nothing of the dashboard
# a department's account: the matters handed over to it and their reply form (/dept), nothing else
DEPARTMENT_ROLE = "department"
USERNAME = re.compile(r"^[A-Za-z0-9_.-]{2,40}$")
# a phone the controller may originate ChanSpy to: PJSIP/<endpoint> or PJSIP/<endpoint>/sip:...
PHONE = re.compile(r"^(PJSIP|SIP|IAX2)/[A-Za-z0-9_.-]{1,64}(/sip:[A-Za-z0-9_.@:-]{1,120})?$")
MIN_PASSWORD = 10
MAX_USERNAME = 64  # a longer name is refused before any work (no hashing, no lookup)


@dataclass(frozen=True)
class ScryptCost:
    n: int
    r: int
    p: int

    @property
    def maxmem(self) -> int:
        return 2 * 128 * self.r * self.n * self.p + 2**20


COST = ScryptCost(2**15, 8, 3)  # OWASP's password storage cheat sheet (one of its equal picks)
LEGACY_COST = ScryptCost(2**14, 8, 1)  # what hotline used before: upgraded at next log-in


class AuthError(Exception):
    """A user or password is refused (one line for the user)."""


@dataclass(frozen=True)
class User:
    username: str
    role: str
    district: str | None
    phone: str
    agent_id: str | None = None  # role agent: the agent in the seat directory whose desk it is
    department: str | None = None  # role department: the departments.toml id it answers for

    @property
    def is_department(self) -> bool:
        return self.role == DEPARTMENT_ROLE

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def is_agent(self) -> bool:
        return self.role == AGENT_ROLE


def hash_password(password: str, cost: ScryptCost = COST) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(
        password.encode(),
        salt=salt,
        n=cost.n,
        r=cost.r,
        p=cost.p,
        maxmem=cost.maxmem,
        dklen=32,
    )
    return f"scrypt${cost.n}${cost.r}${cost.p}${salt.hex()}${digest.hex()}"


def cost_of(stored: str) -> ScryptCost | None:
    """The cost a stored hash was made with (None: not one of ours)."""
    try:
        kind, n, r, p, _salt, _digest = stored.split("$")
        return ScryptCost(int(n), int(r), int(p)) if kind == "scrypt" else None
    except ValueError:
        return None


def verify_password(password: str, stored: str) -> bool:
    cost = cost_of(stored)
    if cost is None or cost.n > 2**20 or cost.r > 64 or cost.p > 64:
        return False  # not ours, or a cost that would tie the controller up
    _kind, _n, _r, _p, salt, digest = stored.split("$")
    try:
        got = hashlib.scrypt(
            password.encode(),
            salt=bytes.fromhex(salt),
            n=cost.n,
            r=cost.r,
            p=cost.p,
            maxmem=cost.maxmem,
            dklen=32,
        )
    except ValueError:
        return False
    return hmac.compare_digest(got.hex(), digest)


@cache
def _dummy(cost: ScryptCost) -> str:
    """A hash to verify against for unknown users: the same work as for a real one."""
    return hash_password("not-a-real-password", cost)


def check_new_user(
    username: str,
    password: str,
    role: str,
    district: str | None,
    phone: str,
    districts: set[str],
    agent_id: str | None = None,
    agents: frozenset[str] = frozenset(),
    department: str | None = None,
    departments: frozenset[str] = frozenset(),
) -> None:
    if not USERNAME.match(username):
        raise AuthError(f"user name {username!r}: use 2-40 letters, digits, '.', '_' or '-'")
    check_password(password)
    check_role(role, district, districts, agent_id, agents, department, departments)
    if phone and not PHONE.match(phone):
        raise AuthError(
            f"phone {phone!r}: expected a dial string like PJSIP/sup9001 "
            "(or PJSIP/<endpoint>/sip:user@host:port)"
        )


def check_role(
    role: str,
    district: str | None,
    districts: set[str],
    agent_id: str | None,
    agents: frozenset[str],
    department: str | None = None,
    departments: frozenset[str] = frozenset(),
) -> None:
    """An agent account names its agent (and only it does): the desk shows that agent's calls.
    A department account names its department (and only it does): it sees that department's
    hand-overs."""
    if role not in ROLES:
        raise AuthError(f"role {role!r}: expected one of {', '.join(ROLES)}")
    if district is not None and district not in districts:
        raise AuthError(f"district {district!r}: not an office of the seat directory")
    if role == AGENT_ROLE and not agent_id:
        raise AuthError("role agent: name the agent with --agent ID (e.g. --agent 1001)")
    if role == AGENT_ROLE and agent_id not in agents:
        raise AuthError(f"agent {agent_id!r}: not an agent of the seat directory")
    if role != AGENT_ROLE and agent_id:
        raise AuthError(f"--agent is for role agent only, not {role}")
    if role == DEPARTMENT_ROLE and not department:
        raise AuthError(
            "role department: name the department with --department ID (config/departments.toml)"
        )
    if role == DEPARTMENT_ROLE and department not in departments:
        known = ", ".join(sorted(departments)) or "none configured"
        raise AuthError(f"department {department!r}: not in the departments file (known: {known})")
    if role != DEPARTMENT_ROLE and department:
        raise AuthError(f"--department is for role department only, not {role}")


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AuthError(f"the password must have at least {MIN_PASSWORD} characters")


class Accounts:
    """Users and sessions in the database."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        session_minutes: int = 480,
        max_hours: float = 12.0,
        cost: ScryptCost = COST,
    ) -> None:
        self.sessions = sessions
        self.lifetime = timedelta(minutes=session_minutes)
        self.max_age = timedelta(hours=max_hours)
        self.cost = cost

    # --- users ---------------------------------------------------------------------------

    def add(
        self,
        username: str,
        password: str,
        role: str,
        district: str | None,
        phone: str,
        districts: set[str],
        agent_id: str | None = None,
        agents: frozenset[str] = frozenset(),
        department: str | None = None,
        departments: frozenset[str] = frozenset(),
    ) -> User:
        check_new_user(
            username,
            password,
            role,
            district,
            phone,
            districts,
            agent_id,
            agents,
            department,
            departments,
        )
        with write(self.sessions) as s:
            if s.get(WebUser, username) is not None:
                raise AuthError(f"user {username!r} exists already")
            s.add(
                WebUser(
                    username=username,
                    password=hash_password(password, self.cost),
                    role=role,
                    district=district,
                    phone=phone,
                    created_at=datetime.now(UTC),
                    agent_id=agent_id or None,
                    department=department or None,
                )
            )
        return User(username, role, district, phone, agent_id or None, department or None)

    def set_password(self, username: str, password: str) -> None:
        check_password(password)
        with write(self.sessions) as s:
            row = s.get(WebUser, username)
            if row is None:
                raise AuthError(f"no user {username!r}")
            row.password = hash_password(password, self.cost)
            s.execute(delete(WebSession).where(WebSession.username == username))

    def set_disabled(self, username: str, disabled: bool) -> None:
        """Disable (sessions closed at once) or enable an account."""
        with write(self.sessions) as s:
            row = s.get(WebUser, username)
            if row is None:
                raise AuthError(f"no user {username!r}")
            row.disabled = disabled
            s.execute(delete(WebSession).where(WebSession.username == username))

    def set_role(
        self,
        username: str,
        role: str,
        district: str | None,
        districts: set[str],
        agent_id: str | None = None,
        agents: frozenset[str] = frozenset(),
        department: str | None = None,
        departments: frozenset[str] = frozenset(),
    ) -> tuple[str, str | None]:
        """A new role and district (and agent, for role agent; department, for role
        department); the account's sessions are closed (a browser opened under the old scope
        must not keep it). Returns the old (role, district)."""
        check_role(role, district, districts, agent_id, agents, department, departments)
        with write(self.sessions) as s:
            row = s.get(WebUser, username)
            if row is None:
                raise AuthError(f"no user {username!r}")
            old = (row.role, row.district)
            row.role, row.district, row.agent_id = role, district, agent_id or None
            row.department = department or None
            s.execute(delete(WebSession).where(WebSession.username == username))
        return old

    def record(self, actor: str, action: str, target: str, detail: str = "") -> None:
        """One row of the accounts' audit (who changed which account, how)."""
        with write(self.sessions) as s:
            s.add(
                AccountAudit(
                    at=datetime.now(UTC),
                    actor=actor[:80],
                    action=action[:20],
                    target=target[:MAX_USERNAME],
                    detail=detail[:200],
                )
            )

    def users(self) -> list[User]:
        with self.sessions() as s:
            rows = s.scalars(select(WebUser).order_by(WebUser.username)).all()
            return [_user(r) for r in rows if not r.disabled]

    def user(self, username: str) -> User | None:
        with self.sessions() as s:
            row = s.get(WebUser, username)
            if row is None or row.disabled:
                return None
            return _user(row)

    def authenticate(self, username: str, password: str) -> User | None:
        """The user, or None. A hash of a lower cost than today's is upgraded on success."""
        if len(username) > MAX_USERNAME:
            return None
        with self.sessions() as s:
            row = s.get(WebUser, username)
            stored = row.password if row is not None and not row.disabled else _dummy(self.cost)
            ok = verify_password(password, stored)
            if row is None or row.disabled or not ok:
                return None
            user = _user(row)
            was = cost_of(stored)
            upgrade = (
                was is not None and was.n * was.r * was.p < self.cost.n * self.cost.r * self.cost.p
            )
        if upgrade:
            with write(self.sessions) as s:
                found = s.get(WebUser, username)
                if found is not None and found.password == stored:  # not changed meanwhile
                    found.password = hash_password(password, self.cost)
        return user

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
                    expires_at=now + min(self.lifetime, self.max_age),
                )
            )
        return token, csrf

    def resume(
        self, token: str, now: datetime | None = None, slide: bool = True
    ) -> tuple[User, str] | None:
        """The session's user and CSRF token, or None when unknown, idle too long or older
        than the absolute lifetime. Use slides the idle expiry forward (not the live stream's
        checks: `slide=False`), never past the absolute end."""
        now = now or datetime.now(UTC)
        if not slide:
            with self.sessions() as s:
                row = s.get(WebSession, _digest(token))
                user = s.get(WebUser, row.username) if row is not None else None
                if row is None or user is None or user.disabled or self._over(row, now):
                    return None
                return _user(user), row.csrf
        with write(self.sessions) as s:
            row = s.get(WebSession, _digest(token))
            if row is None:
                return None
            if self._over(row, now):
                s.delete(row)
                return None
            user = s.get(WebUser, row.username)
            if user is None or user.disabled:
                return None
            end = _aware(row.created_at) + self.max_age
            if _aware(row.expires_at) < min(now + self.lifetime, end) - timedelta(minutes=1):
                row.expires_at = min(now + self.lifetime, end)  # slid at most once a minute
            return _user(user), row.csrf

    def _over(self, row: WebSession, now: datetime) -> bool:
        return _aware(row.expires_at) <= now or _aware(row.created_at) + self.max_age <= now

    def close_session(self, token: str) -> None:
        with write(self.sessions) as s:
            s.execute(delete(WebSession).where(WebSession.token_hash == _digest(token)))


def _user(row: WebUser) -> User:
    return User(row.username, row.role, row.district, row.phone, row.agent_id, row.department)


def csrf_ok(expected: str, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(expected.encode(), (given or "").encode())


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _aware(at: datetime) -> datetime:
    """SQLite gives naive datetimes back: they are UTC."""
    return at if at.tzinfo else at.replace(tzinfo=UTC)
