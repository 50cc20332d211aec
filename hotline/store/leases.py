"""Leases in the database, for several controllers sharing one (PostgreSQL at scale; SQLite on
one machine works the same way).

- `AgentClaims`: an agent being rung (and then talking) for one call has a row in
  `agent_claim` (the agent id is the key). Another controller's claim on the same agent fails
  until the row is released or its lease has expired; the holder renews its rows every few
  seconds, so a claim outlives a long conversation but not a dead controller.
- `LeaderLease`: one row per name in `scheduler_lease`; its holder renews it before it
  expires; any controller takes it over once it has expired.

Both take a row with one `INSERT ... ON CONFLICT (key) DO UPDATE ... WHERE <expired or mine>
RETURNING ...` (SQLite 3.35+, PostgreSQL 9.5+): one atomic statement, no read-then-write; a row
comes back only if it was taken (a skipped DO UPDATE's rowcount is not reliably 0: seen on
PostgreSQL with psycopg). On PostgreSQL a second concurrent insert of the same key waits for
the first to commit, then re-checks the WHERE against the committed row; on SQLite the write
transaction is `BEGIN IMMEDIATE`. Times come from the controllers' clocks (UTC): keep them in
step (NTP) when the controllers run on several machines. Blocking: call from a worker thread.
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import Callable, Collection
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import DateTime, String, case, delete, or_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from hotline.store.db import write
from hotline.store.models import Base


class AgentClaim(Base):
    """An agent being rung or talking for one call, held by one controller until released or
    expired."""

    __tablename__ = "agent_claim"

    agent_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    holder: Mapped[str] = mapped_column(String(120), index=True)  # the controller
    token: Mapped[str] = mapped_column(String(40))  # this claim (a release never drops a newer one)
    call_id: Mapped[str] = mapped_column(String(64), default="")
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class SchedulerLease(Base):
    """Who runs the timed jobs (callbacks, surveys, recordings upkeep) now."""

    __tablename__ = "scheduler_lease"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    holder: Mapped[str] = mapped_column(String(120))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    since: Mapped[datetime] = mapped_column(DateTime(timezone=True))  # held without a break


def holder_name(label: str) -> str:
    """This controller, as the lease tables name it: the host and a label unique on it (the
    FastAGI port). Stable across restarts: a controller restarted after a crash takes its own
    lease and claims back at once instead of waiting for them to expire."""
    return f"{socket.gethostname()}:{label}"


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _insert(session: Session, table: Any) -> Any:
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"leases need SQLite or PostgreSQL, not {dialect}")


def _changed(result: Any) -> int:
    return int(result.rowcount)


class AgentClaims:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        holder: str,
        lease: timedelta = timedelta(seconds=30),
        now: Callable[[], datetime] = _utcnow,
    ) -> None:
        self.sessions = sessions
        self.holder = holder
        self.lease = lease
        self.now = now

    def take(self, agent_id: str, call_id: str = "") -> str | None:
        """Claim the agent; the claim's token, or None if another controller holds them.

        A row this controller still holds counts as free: the caller (the routing desk)
        already checked the agent against its own claims in memory, so a row of ours is one
        whose release has not reached the database yet."""
        now = self.now()
        token = uuid.uuid4().hex
        values = {
            "holder": self.holder,
            "token": token,
            "call_id": call_id[:64],
            "expires_at": now + self.lease,
        }
        with write(self.sessions) as session:
            stmt = _insert(session, AgentClaim).values(agent_id=agent_id, **values)
            stmt = stmt.on_conflict_do_update(
                index_elements=[AgentClaim.agent_id],
                set_=values,
                where=or_(AgentClaim.expires_at < now, AgentClaim.holder == self.holder),
            )
            # RETURNING, not rowcount: a skipped DO UPDATE is not reliably counted as 0
            return session.execute(stmt.returning(AgentClaim.token)).scalar_one_or_none()

    def release(self, agent_id: str, token: str) -> None:
        with write(self.sessions) as session:
            session.execute(
                delete(AgentClaim).where(AgentClaim.agent_id == agent_id, AgentClaim.token == token)
            )

    def renew(self, tokens: Collection[str]) -> int:
        """Push back the expiry of these claims (the ones still in use); how many. A claim
        left behind (its call cancelled mid-claim) is not renewed and expires."""
        if not tokens:
            return 0
        with write(self.sessions) as session:
            return _changed(
                session.execute(
                    update(AgentClaim)
                    .where(AgentClaim.holder == self.holder, AgentClaim.token.in_(list(tokens)))
                    .values(expires_at=self.now() + self.lease)
                )
            )

    def release_all(self) -> int:
        """On a clean stop: every claim of this controller goes."""
        with write(self.sessions) as session:
            return _changed(
                session.execute(delete(AgentClaim).where(AgentClaim.holder == self.holder))
            )


class LeaderLease:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        holder: str,
        name: str = "scheduler",
        lease: timedelta = timedelta(seconds=15),
        now: Callable[[], datetime] = _utcnow,
    ) -> None:
        self.sessions = sessions
        self.holder = holder
        self.name = name
        self.lease = lease
        self.now = now

    def hold(self) -> bool:
        """Take the lease if it is free or expired, renew it if it is ours; True if we hold it
        for `lease` from now."""
        now = self.now()
        mine = SchedulerLease.holder == self.holder
        with write(self.sessions) as session:
            stmt = _insert(session, SchedulerLease).values(
                name=self.name, holder=self.holder, expires_at=now + self.lease, since=now
            )
            stmt = stmt.on_conflict_do_update(
                index_elements=[SchedulerLease.name],
                set_={
                    "holder": self.holder,
                    "expires_at": now + self.lease,
                    # `since` restarts only when the lease changes hands
                    "since": case((mine, SchedulerLease.since), else_=now),
                },
                where=or_(SchedulerLease.expires_at < now, mine),
            )
            taken = session.execute(stmt.returning(SchedulerLease.holder)).scalar_one_or_none()
            return taken == self.holder

    def give_up(self) -> None:
        """On a clean stop: the lease is free at once for the other controllers."""
        with write(self.sessions) as session:
            session.execute(
                delete(SchedulerLease).where(
                    SchedulerLease.name == self.name, SchedulerLease.holder == self.holder
                )
            )

    def current(self) -> SchedulerLease | None:
        with self.sessions() as session:
            return session.get(SchedulerLease, self.name)
