"""Log-in throttling that cannot be turned into a lock-out: counted per (client address, user
name) and per client address, never per name alone, and kept in the database so that every
controller on it counts the same failures.

- `PAIR`: after 5 failed log-ins of one name from one address, that pair waits 30 s, then 60 s,
  120 s, ... (doubling with each further failure, at most an hour). The same user from another
  address is not affected: an attacker cannot lock a supervisor out.
- `ADDRESS`: after 20 failures from one address (whatever the names: password spraying) the
  address waits the same doubling delays.
- While a key waits, attempts are refused without checking the password (and not counted). A
  key forgets its failures 24 h after the last one; a successful log-in clears its pair.

The client address is the TCP peer (`request.remote`): behind a reverse proxy every browser has
the proxy's address, so put the proxy's per-client limits in front (docs/SECURITY.md).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from hotline.store.db import write
from hotline.store.models import LoginThrottle


@dataclass(frozen=True)
class Rule:
    free: int  # failures allowed before the first wait
    base_seconds: float  # the first wait; each further failure doubles it
    cap_seconds: float


PAIR = Rule(5, 30.0, 3600.0)
ADDRESS = Rule(20, 30.0, 3600.0)
FORGET = timedelta(hours=24)


def wait_after(rule: Rule, failures: int) -> timedelta | None:
    """How long a key waits after its `failures`-th failure (None: no wait yet). Pure."""
    if failures < rule.free:
        return None
    steps = min(failures - rule.free, 20)  # 2**20 * 30 s is far past any cap
    return timedelta(seconds=min(rule.base_seconds * 2**steps, rule.cap_seconds))


def _key(kind: str, address: str, name: str = "") -> str:
    return hashlib.sha256(f"{kind}:{address}|{name}".encode()).hexdigest()


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=UTC)


class Throttle:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def _keys(self, address: str, name: str) -> dict[str, Rule]:
        return {_key("pair", address, name): PAIR, _key("addr", address): ADDRESS}

    def wait_until(self, address: str, name: str, now: datetime | None = None) -> datetime | None:
        """When this address may try this name again; None: it may now."""
        now = now or datetime.now(UTC)
        with self.sessions() as s:
            until = [
                _aware(row.locked_until)
                for key in self._keys(address, name)
                if (row := s.get(LoginThrottle, key)) is not None and row.locked_until is not None
            ]
        later = [u for u in until if u > now]
        return max(later) if later else None

    def failed(self, address: str, name: str, now: datetime | None = None) -> None:
        now = now or datetime.now(UTC)
        for _ in range(2):  # two controllers inserting one new key: the loser retries
            try:
                with write(self.sessions) as s:
                    for key, rule in self._keys(address, name).items():
                        row = s.get(LoginThrottle, key)
                        if row is None:
                            row = LoginThrottle(key=key, failures=0, last_failure=now)
                            s.add(row)
                        elif now - _aware(row.last_failure) > FORGET:
                            row.failures = 0
                        row.failures += 1
                        row.last_failure = now
                        wait = wait_after(rule, row.failures)
                        row.locked_until = now + wait if wait else None
                    s.execute(
                        delete(LoginThrottle).where(LoginThrottle.last_failure < now - FORGET)
                    )
                return
            except IntegrityError:
                continue

    def succeeded(self, address: str, name: str) -> None:
        with write(self.sessions) as s:
            s.execute(delete(LoginThrottle).where(LoginThrottle.key == _key("pair", address, name)))
