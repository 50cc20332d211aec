"""The matters service: create, note, take, assign, hand over, reply, book a callback, close,
reopen, and the lists by caller, owner and scope. Blocking (SQLAlchemy sessions): async callers
run it in a worker thread.

Every change is one write transaction that also appends the matter's history (MatterEvent),
so the history cannot miss a change. The rules (which action is allowed when, due times,
alerts) are hotline/matters/lifecycle.py's; this module only reads, asks, and writes.

Errors are MatterError with one line for the user; caller numbers never appear in them or in
the history (the views carry the number for routing and show `caller_masked`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, and_, func, or_, select, true, update
from sqlalchemy.orm import Session, sessionmaker

from hotline.matters import lifecycle
from hotline.matters.departments import Department
from hotline.matters.figures import MatterFacts
from hotline.matters.lifecycle import DuePolicy, TransitionError
from hotline.store.db import write
from hotline.store.models import (
    Call,
    Callback,
    Handover,
    Matter,
    MatterCall,
    MatterEvent,
    NoticeSent,
    Ticket,
)
from ivr.masking import mask_number
from routing.directory import Directory

CALLER_DIGITS = 32  # the callback table's number column
SUMMARY_LIMIT = 2000  # the matter table's summary column, and a history line's detail


class MatterError(Exception):
    """A request the matters service refuses (one line for the user)."""


def utc(at: datetime) -> datetime:
    """SQLite hands back naive datetimes: they are UTC."""
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at


def _utc_or_none(at: datetime | None) -> datetime | None:
    return None if at is None else utc(at)


@dataclass(frozen=True)
class MatterView:
    id: int
    number: str
    caller_number: str  # for routing and callbacks; show caller_masked
    caller_name: str
    business: str
    district: str
    category: str
    channel: str
    summary: str
    status: str
    owner: str | None
    created_at: datetime
    created_by: str
    due_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    close_reason: str
    told: str | None
    first_linkedid: str | None

    @property
    def caller_masked(self) -> str:
        return mask_number(self.caller_number)

    @property
    def is_open(self) -> bool:
        return self.status in lifecycle.OPEN_STATUSES

    def overdue(self, now: datetime) -> bool:
        return self.is_open and now >= self.due_at

    @classmethod
    def of(cls, row: Matter) -> MatterView:
        return cls(
            id=row.id,
            number=row.number,
            caller_number=row.caller_number,
            caller_name=row.caller_name,
            business=row.business,
            district=row.district,
            category=row.category,
            channel=row.channel,
            summary=row.summary,
            status=row.status,
            owner=row.owner,
            created_at=utc(row.created_at),
            created_by=row.created_by,
            due_at=utc(row.due_at),
            updated_at=utc(row.updated_at),
            closed_at=_utc_or_none(row.closed_at),
            close_reason=row.close_reason,
            told=row.told,
            first_linkedid=row.first_linkedid,
        )


@dataclass(frozen=True)
class EventView:
    at: datetime
    actor: str
    kind: str
    detail: str
    status: str


@dataclass(frozen=True)
class HandoverView:
    id: int
    department: str
    question: str
    created_at: datetime
    created_by: str
    due_at: datetime
    reply: str
    replied_at: datetime | None
    replied_by: str

    @classmethod
    def of(cls, row: Handover) -> HandoverView:
        return cls(
            row.id,
            row.department,
            row.question,
            utc(row.created_at),
            row.created_by,
            utc(row.due_at),
            row.reply,
            _utc_or_none(row.replied_at),
            row.replied_by,
        )


@dataclass(frozen=True)
class NoticeView:
    id: int
    notice: str
    language: str
    status: str
    sender: str
    created_at: datetime
    sent_at: datetime | None


@dataclass(frozen=True)
class MatterDetail:
    matter: MatterView
    events: list[EventView] = field(default_factory=list)
    handovers: list[HandoverView] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)  # linkedids, oldest first
    notices: list[NoticeView] = field(default_factory=list)
    callbacks: list[int] = field(default_factory=list)  # callback ids booked for it


@dataclass(frozen=True)
class NewMatter:
    """What is known when a matter is raised (by the IVR, an agent or an admin)."""

    caller_number: str
    business: str = ""
    district: str = ""
    category: str = "consultation"
    channel: str = "phone"
    summary: str = ""
    caller_name: str = ""
    linkedid: str | None = None  # the call it was raised in
    # the owner: the agent who took the call (first inquiry); None: by routing policy (the
    # district's post A for the business), else the pool's
    owner: str | None = None


@dataclass(frozen=True)
class Scope:
    """Whose matters a list shows: a district supervisor's district (None: the whole city)."""

    district: str | None = None


class MatterService:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        directory: Directory,
        departments: dict[str, Department],
        policy: DuePolicy,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.sessions = sessions
        self.directory = directory
        self.departments = departments
        self.policy = policy
        self._clock = now
        self.zone = ZoneInfo(directory.timezone)

    def use_directory(self, directory: Directory) -> None:
        """A reloaded seat directory (owners, posts, the calendar) for what follows."""
        self.directory = directory
        self.zone = ZoneInfo(directory.timezone)

    def now(self) -> datetime:
        """The clock's time in UTC: SQLite keeps a datetime's wall time and drops its zone,
        so every time stored is UTC."""
        return self._clock().astimezone(UTC)

    # --- raising ----------------------------------------------------------------------

    def policy_owner(self, business: str, district: str) -> str | None:
        """The routing policy's owner for a matter nobody answered: the district's post A for
        that business; None (the pool) when the district has no such post."""
        post = self.directory.post_index.get((business, district)) if business else None
        return post.a if post is not None else None

    def due_for(self, category: str, opened: datetime) -> datetime:
        due = lifecycle.due_at(self.policy, self.directory.calendar, self.zone, category, opened)
        return due.astimezone(UTC)

    def create(self, new: NewMatter, actor: str) -> MatterView:
        with write(self.sessions) as session:
            return MatterView.of(self.create_in(session, new, actor))

    def create_in(self, session: Session, new: NewMatter, actor: str) -> Matter:
        """`create` inside the caller's write transaction (the ticket desk stores the IVR's
        ticket with it, all or nothing)."""
        if new.channel not in lifecycle.CHANNELS:
            raise MatterError(f"channel must be one of {', '.join(lifecycle.CHANNELS)}")
        if new.category not in lifecycle.CATEGORIES:
            raise MatterError(f"category must be one of {', '.join(lifecycle.CATEGORIES)}")
        now = self.now()
        owner = new.owner or self.policy_owner(new.business, new.district)
        if owner is not None and owner not in self.directory.agents:
            raise MatterError(f"owner {owner!r} is not an agent in the seat directory")
        row = Matter(
            number="",
            caller_number=new.caller_number,
            caller_name=new.caller_name,
            business=new.business,
            district=new.district,
            category=new.category,
            channel=new.channel,
            summary=new.summary,
            status="open",
            owner=owner,
            created_at=now,
            created_by=actor,
            due_at=self.due_for(new.category, now),
            updated_at=now,
            first_linkedid=new.linkedid,
        )
        session.add(row)
        session.flush()
        # digits only, said back to the caller: the local day and the row's id
        row.number = f"{now.astimezone(self.zone):%y%m%d}{row.id:04d}"
        owner_text = f"owner {owner}" if owner else "owner: the pool"
        self._event(session, row, actor, "created", f"{new.channel}, {owner_text}", now)
        if new.linkedid:
            session.add(MatterCall(matter_id=row.id, linkedid=new.linkedid, linked_at=now))
        return row

    # --- the life of a matter ---------------------------------------------------------

    def note(self, number: str, actor: str, text: str) -> MatterView:
        if not text.strip():
            raise MatterError("a note needs some text")
        return self._act(number, actor, "note", "note", text.strip())

    def take(self, number: str, actor: str) -> MatterView:
        """Someone starts work on it (open or reopened -> in_progress)."""
        return self._act(number, actor, "take", "taken", "")

    def take_over(self, number: str, actor: str, agent_id: str, reason: str = "") -> MatterView:
        """Agent `agent_id` takes the matter on: it becomes theirs and work starts (open or
        reopened -> in_progress), in one step of the history. From the pool it is simply
        theirs; from another owner it is the first-inquiry rule's explicit change of owner,
        so it needs a reason."""
        if agent_id not in self.directory.agents:
            raise MatterError(f"agent {agent_id!r} is not in the seat directory")
        with write(self.sessions) as session:
            row = self._row(session, number)
            self._allow(row, "assign")
            startable = row.status in lifecycle.TRANSITIONS["take"][0]
            if row.owner == agent_id and not startable:
                raise MatterError(f"matter {number} is yours and {row.status} already")
            if row.owner != agent_id:
                if row.owner is not None and not reason.strip():
                    raise MatterError(
                        f"matter {number} is {row.owner}'s: taking it over needs a reason "
                        "(first-inquiry responsibility)"
                    )
                why = reason.strip() or "taken from the pool"
                before = row.owner or "the pool"
                self._event(session, row, actor, "assigned", f"{before} -> {agent_id}: {why}")
                row.owner = agent_id
            if startable:
                row.status = lifecycle.next_status(row.status, "take")
                self._event(session, row, actor, "taken", "")
            return MatterView.of(row)

    def update_summary(self, number: str, actor: str, summary: str) -> MatterView:
        """Restate what the citizen needs (the old wording stays in the history)."""
        text = summary.strip()
        if not text:
            raise MatterError("a summary needs some text")
        if len(text) > SUMMARY_LIMIT:
            raise MatterError(f"a summary is at most {SUMMARY_LIMIT} characters")
        with write(self.sessions) as session:
            row = self._row(session, number)
            self._allow(row, "update_summary")
            if row.summary == text:
                return MatterView.of(row)
            before = row.summary
            row.summary = text
            detail = f"{text} (was: {before})" if before else text
            self._event(session, row, actor, "summary", detail[:SUMMARY_LIMIT])
            return MatterView.of(row)

    def assign(self, number: str, actor: str, owner: str, reason: str) -> MatterView:
        """The one way an owner changes: explicit, with a reason, in the history."""
        if owner not in self.directory.agents:
            raise MatterError(f"owner {owner!r} is not an agent in the seat directory")
        if not reason.strip():
            raise MatterError("a change of owner needs a reason (first-inquiry responsibility)")
        with write(self.sessions) as session:
            row = self._row(session, number)
            self._allow(row, "assign")
            before = row.owner or "the pool"
            row.owner = owner
            self._event(session, row, actor, "assigned", f"{before} -> {owner}: {reason}")
            return MatterView.of(row)

    def hand_over(
        self,
        number: str,
        actor: str,
        department: str,
        question: str,
        due_at: datetime | None = None,
    ) -> HandoverView:
        """Send the matter to a department with a question; due by `due_at` (default: the
        matter's category rule counted from now)."""
        if department not in self.departments:
            known = ", ".join(sorted(self.departments)) or "none configured"
            raise MatterError(f"unknown department {department!r} (known: {known})")
        if not question.strip():
            raise MatterError("a hand-over needs the question the department should answer")
        now = self.now()
        with write(self.sessions) as session:
            row = self._row(session, number)
            self._allow(row, "hand_over")
            due = due_at.astimezone(UTC) if due_at else self.due_for(row.category, now)
            handover = Handover(
                matter_id=row.id,
                department=department,
                question=question.strip(),
                created_at=now,
                created_by=actor,
                due_at=due,
            )
            session.add(handover)
            session.flush()
            row.status = lifecycle.next_status(row.status, "hand_over")
            self._event(session, row, actor, "handed_over", f"to {department}: {question.strip()}")
            return HandoverView.of(handover)

    def reply(
        self, number: str, actor: str, text: str, department: str | None = None
    ) -> MatterView:
        """The department's reply to the open hand-over (entered by the department's account
        or the owner): the owner is now to tell the citizen (status answered). `department`:
        a department's account answers only a hand-over made to it."""
        if not text.strip():
            raise MatterError("a reply needs its text")
        now = self.now()
        with write(self.sessions) as session:
            row = self._row(session, number)
            self._allow(row, "reply")
            handover = session.scalars(
                select(Handover)
                .where(Handover.matter_id == row.id, Handover.replied_at.is_(None))
                .order_by(Handover.id.desc())
            ).first()
            if handover is None:
                raise MatterError(f"matter {number} has no hand-over waiting for a reply")
            if department is not None and handover.department != department:
                raise MatterError(f"matter {number} is not waiting for a reply from {department}")
            handover.reply, handover.replied_at, handover.replied_by = text.strip(), now, actor
            row.status = lifecycle.next_status(row.status, "reply")
            self._event(
                session,
                row,
                actor,
                "replied",
                f"{handover.department}: {text.strip()} (owner to tell the citizen)",
            )
            return MatterView.of(row)

    def close(self, number: str, actor: str, told: str, reason: str = "") -> MatterView:
        """Close once the citizen was told: `told` = callback (a callback reached them) or
        reason (a person wrote how or why)."""
        now = self.now()
        with write(self.sessions) as session:
            row = self._row(session, number)
            try:
                lifecycle.check_close(row.status, told, reason)
            except TransitionError as exc:
                raise MatterError(f"matter {number}: {exc}") from None
            self._close(session, row, actor, told, reason.strip(), now)
            return MatterView.of(row)

    def reopen(self, number: str, actor: str, reason: str) -> MatterView:
        if not reason.strip():
            raise MatterError("reopening needs a reason")
        with write(self.sessions) as session:
            row = self._row(session, number)
            self._allow(row, "reopen")
            row.status = lifecycle.next_status(row.status, "reopen")
            row.closed_at, row.told, row.close_reason = None, None, ""
            row.owner_alerted_at = row.supervisor_alerted_at = None
            session.execute(update(Ticket).where(Ticket.number == row.number).values(status="open"))
            self._event(session, row, actor, "reopened", reason.strip())
            return MatterView.of(row)

    def link_call(self, number: str, linkedid: str, actor: str = "system") -> None:
        """A later call about the matter (its recording goes with it)."""
        with write(self.sessions) as session:
            row = self._row(session, number)
            if session.get(MatterCall, (row.id, linkedid)) is None:
                session.add(MatterCall(matter_id=row.id, linkedid=linkedid, linked_at=self.now()))
                self._event(session, row, actor, "call_linked", linkedid)

    # --- callbacks at a chosen time ---------------------------------------------------

    def book_callback(
        self, number: str, actor: str, start: datetime, end: datetime | None = None
    ) -> int:
        """A callback to the citizen about the matter from `start` (inside the office hours,
        not in the past), placed once by the controller's callback dispatcher; its outcome
        comes back through `callback_outcome`. Returns the callback's id."""
        now = self.now()
        if start.tzinfo is None:
            raise MatterError("a callback time needs its time zone")
        start = start.astimezone(UTC)
        end = end.astimezone(UTC) if end is not None else None
        if start < now:
            raise MatterError("a callback cannot be booked in the past")
        if end is not None and end <= start:
            raise MatterError("a callback slot ends after it starts")
        if not self.directory.calendar.is_open(start.astimezone(self.zone)):
            hours = self.directory.calendar.hours_text() or "none configured"
            raise MatterError(f"a callback is booked inside the office hours ({hours})")
        with write(self.sessions) as session:
            row = self._row(session, number)
            self._allow(row, "book_callback")
            digits = row.caller_number.lstrip("+")
            if not digits.isdigit() or len(digits) > CALLER_DIGITS:
                raise MatterError(f"matter {number} has no number to call back")
            post = self.directory.post_index.get((row.business, row.district))
            callback = Callback(
                linkedid=row.first_linkedid or f"matter-{row.number}",
                number=digits,
                post=post.id if post is not None else "",
                business=row.business,
                district=row.district,
                # its place in the line is taken at the slot's start
                queued_at=start,
                next_attempt_at=start,
                matter_id=row.id,
                slot_end=end,
                agent_id=row.owner,
            )
            session.add(callback)
            session.flush()
            local = start.astimezone(self.zone)
            self._event(
                session, row, actor, "callback_booked", f"#{callback.id} at {local:%Y-%m-%d %H:%M}"
            )
            return callback.id

    def book_after_hours(
        self, caller: str, business: str, district: str, linkedid: str, slot_hours: int = 1
    ) -> tuple[MatterView, datetime, datetime]:
        """The IVR's after-hours "call me back": a matter for the request (owner by routing
        policy) and a callback in the first `slot_hours` of the next working interval.
        Returns the matter and the slot (start, end)."""
        start = lifecycle.next_opening(self.directory.calendar, self.zone, self.now())
        end = start + timedelta(hours=slot_hours)
        new = NewMatter(
            caller_number=caller,
            business=business,
            district=district,
            category="consultation",
            channel="ivr_message",
            summary="callback asked for after hours",
            linkedid=linkedid,
        )
        matter = self.create(new, "ivr")
        self.book_callback(matter.number, "ivr", start, end)
        return matter, start.astimezone(UTC), end.astimezone(UTC)

    def callback_outcome(self, callback_id: int, status: str, actor: str = "system") -> None:
        """A booked callback's result (Asterisk's DIALSTATUS for the citizen's leg). An answered
        callback told the citizen: the matter closes, unless a department still owes its reply."""
        now = self.now()
        with write(self.sessions) as session:
            callback = session.get(Callback, callback_id)
            if callback is None or callback.matter_id is None:
                return
            row = session.get(Matter, callback.matter_id)
            if row is None:
                return
            self._event(session, row, actor, "callback", f"#{callback_id} {status}", now)
            if status == "ANSWER" and row.status in lifecycle.TRANSITIONS["close"][0]:
                self._close(session, row, actor, "callback", f"callback #{callback_id}", now)

    # --- reading ----------------------------------------------------------------------

    def get(self, number: str) -> MatterDetail:
        with self.sessions() as session:
            row = self._row(session, number)
            events = session.scalars(
                select(MatterEvent)
                .where(MatterEvent.matter_id == row.id)
                .order_by(MatterEvent.at, MatterEvent.id)
            ).all()
            handovers = session.scalars(
                select(Handover).where(Handover.matter_id == row.id).order_by(Handover.id)
            ).all()
            calls = session.scalars(
                select(MatterCall.linkedid)
                .where(MatterCall.matter_id == row.id)
                .order_by(MatterCall.linked_at)
            ).all()
            notices = session.scalars(
                select(NoticeSent).where(NoticeSent.matter_id == row.id).order_by(NoticeSent.id)
            ).all()
            callbacks = session.scalars(
                select(Callback.id).where(Callback.matter_id == row.id).order_by(Callback.id)
            ).all()
            return MatterDetail(
                MatterView.of(row),
                [EventView(utc(e.at), e.actor, e.kind, e.detail, e.status) for e in events],
                [HandoverView.of(h) for h in handovers],
                list(calls),
                [
                    NoticeView(
                        n.id,
                        n.notice,
                        n.language,
                        n.status,
                        n.sender,
                        utc(n.created_at),
                        _utc_or_none(n.sent_at),
                    )
                    for n in notices
                ],
                list(callbacks),
            )

    def for_caller(self, caller_number: str, open_only: bool = True) -> list[MatterView]:
        """The caller's matters, newest first (none for an empty number)."""
        if not caller_number:
            return []
        query = select(Matter).where(Matter.caller_number == caller_number)
        return self._list(query, open_only)

    def for_owner(self, agent_id: str, open_only: bool = True) -> list[MatterView]:
        return self._list(select(Matter).where(Matter.owner == agent_id), open_only)

    def to_tell(self, agent_id: str) -> list[MatterView]:
        """The owner's reminders: matters a department answered, whose citizen the owner is
        still to call back (status answered), oldest first."""
        query = select(Matter).where(Matter.owner == agent_id, Matter.status == "answered")
        return list(reversed(self._list(query, open_only=False)))

    def search(
        self,
        scope: Scope = Scope(),
        status: str | None = None,
        overdue: bool = False,
        department: str | None = None,
        limit: int = 200,
    ) -> list[MatterView]:
        """Matters in the scope, newest first: by status, only the overdue ones, or only those
        handed over to a department."""
        query = select(Matter)
        if scope.district is not None:
            query = query.where(Matter.district == scope.district)
        if status is not None:
            if status not in lifecycle.STATUSES:
                raise MatterError(f"status must be one of {', '.join(lifecycle.STATUSES)}")
            query = query.where(Matter.status == status)
        if overdue:
            query = query.where(
                Matter.status.in_(lifecycle.OPEN_STATUSES), Matter.due_at <= self.now()
            )
        if department is not None:
            query = query.where(
                Matter.id.in_(select(Handover.matter_id).where(Handover.department == department))
            )
        return self._list(query, open_only=False, limit=limit)

    def handed_to(self, matter_ids: list[int]) -> dict[int, list[str]]:
        """The departments each of these matters was handed over to, in hand-over order."""
        if not matter_ids:
            return {}
        found: dict[int, list[str]] = {}
        with self.sessions() as session:
            rows = session.execute(
                select(Handover.matter_id, Handover.department)
                .where(Handover.matter_id.in_(matter_ids))
                .order_by(Handover.id)
            )
            for matter_id, department in rows:
                if department not in found.setdefault(matter_id, []):
                    found[matter_id].append(department)
        return found

    def counts(self, scope: Scope = Scope()) -> dict[str, dict[str, int]]:
        """The open matters in the scope by status and by district, the overdue ones by
        district, and the hand-overs waiting for a reply by department (the supervisors'
        overview: whole counts, not one page of a list)."""
        open_ = Matter.status.in_(lifecycle.OPEN_STATUSES)
        in_scope = Matter.district == scope.district if scope.district is not None else true()
        with self.sessions() as session:

            def grouped(column: Any, *where: Any) -> dict[str, int]:
                query = select(column, func.count()).where(open_, in_scope, *where)
                return {str(k or ""): n for k, n in session.execute(query.group_by(column))}

            waiting = (
                select(Handover.department, func.count())
                .join(Matter, Matter.id == Handover.matter_id)
                .where(open_, in_scope, Handover.replied_at.is_(None))
                .group_by(Handover.department)
            )
            return {
                "status": grouped(Matter.status),
                "district": grouped(Matter.district),
                "overdue": grouped(Matter.district, Matter.due_at <= self.now()),
                "department": {k: n for k, n in session.execute(waiting)},
            }

    def facts(self, since: datetime, until: datetime, scope: Scope = Scope()) -> list[MatterFacts]:
        """What the figures need of each matter opened or closed in [since, until)."""
        query = (
            select(Matter, Call.ended_at)
            .outerjoin(Call, Call.linkedid == Matter.first_linkedid)
            .where(
                or_(
                    and_(Matter.created_at >= since, Matter.created_at < until),
                    and_(Matter.closed_at >= since, Matter.closed_at < until),
                )
            )
        )
        if scope.district is not None:
            query = query.where(Matter.district == scope.district)
        with self.sessions() as session:
            return [
                MatterFacts(
                    m.number,
                    m.business,
                    m.district,
                    utc(m.created_at),
                    utc(m.due_at),
                    _utc_or_none(m.closed_at),
                    m.status in lifecycle.OPEN_STATUSES,
                    _utc_or_none(ended),
                )
                for m, ended in session.execute(query.order_by(Matter.id)).all()
            ]

    # --- overdue alerts ---------------------------------------------------------------

    def raise_alerts(self) -> list[tuple[lifecycle.Alert, MatterView]]:
        """The alerts due now, each raised once (stamped on its row and written to the matter's
        history): an overdue matter's, and a hand-over's whose department has not replied by
        its due time; the owner's first, the district supervisor's past the second limit."""
        now = self.now()
        raised: list[tuple[lifecycle.Alert, MatterView]] = []
        with write(self.sessions) as session:
            rows = session.scalars(
                select(Matter).where(
                    Matter.status.in_(lifecycle.OPEN_STATUSES),
                    Matter.due_at <= now,
                    Matter.supervisor_alerted_at.is_(None),
                )
            ).all()
            late = session.execute(
                select(Handover, Matter)
                .join(Matter, Matter.id == Handover.matter_id)
                .where(
                    Handover.replied_at.is_(None),
                    Handover.due_at <= now,
                    Handover.supervisor_alerted_at.is_(None),
                    Matter.status.in_(lifecycle.OPEN_STATUSES),
                )
            ).all()
            by_number = {row.number: row for row in rows}
            handovers = {matter.number: handover for handover, matter in late}
            matters_of = by_number | {matter.number: matter for _h, matter in late}
            facts = [
                lifecycle.Overdue(
                    r.number,
                    utc(r.due_at),
                    r.owner_alerted_at is not None,
                    r.supervisor_alerted_at is not None,
                )
                for r in rows
            ] + [
                lifecycle.Overdue(
                    number,
                    utc(h.due_at),
                    h.owner_alerted_at is not None,
                    h.supervisor_alerted_at is not None,
                    "handover",
                )
                for number, h in handovers.items()
            ]
            for alert in lifecycle.alerts_due(
                facts, now, self.directory.calendar, self.zone, self.policy
            ):
                row = matters_of[alert.number]
                stamped: Matter | Handover = (
                    handovers[alert.number] if alert.kind == "handover" else row
                )
                if alert.to == "owner":
                    stamped.owner_alerted_at = now
                    who = f"owner {row.owner}" if row.owner else "the pool (no owner)"
                else:
                    stamped.supervisor_alerted_at = now
                    who = f"supervisor of {row.district or 'the city'}"
                if alert.kind == "handover":
                    what = f"{handovers[alert.number].department} has not replied"
                    kind = f"alert_handover_{alert.to}"
                else:
                    what, kind = "overdue", f"alert_{alert.to}"
                self._event(session, row, "system", kind, f"{what}: {who}", now)
                raised.append((alert, MatterView.of(row)))
        return raised

    def alerts_since(self, since: datetime) -> list[tuple[lifecycle.Alert, MatterView, datetime]]:
        """The alerts raised at `since` or later, as their stamps in the store say (whichever
        controller's clock raised them), each with when it was raised, oldest first: every
        controller's board shows them, not only the leader's."""
        stamps = (
            ("owner", Matter.owner_alerted_at, Handover.owner_alerted_at),
            ("supervisor", Matter.supervisor_alerted_at, Handover.supervisor_alerted_at),
        )
        found: list[tuple[lifecycle.Alert, MatterView, datetime]] = []
        with self.sessions() as session:
            for to, on_matter, on_handover in stamps:
                for row in session.scalars(select(Matter).where(on_matter >= since)):
                    at = utc(getattr(row, on_matter.key))
                    found.append((lifecycle.Alert(row.number, to), MatterView.of(row), at))
                late = session.execute(
                    select(Handover, Matter)
                    .join(Matter, Matter.id == Handover.matter_id)
                    .where(on_handover >= since)
                )
                for handover, row in late:
                    at = utc(getattr(handover, on_handover.key))
                    alert = lifecycle.Alert(row.number, to, "handover")
                    found.append((alert, MatterView.of(row), at))
        return sorted(found, key=lambda raised: raised[2])

    # --- rows -------------------------------------------------------------------------

    def _list(self, query: Select[Matter], open_only: bool, limit: int = 200) -> list[MatterView]:
        if open_only:
            query = query.where(Matter.status.in_(lifecycle.OPEN_STATUSES))
        with self.sessions() as session:
            rows = session.scalars(query.order_by(Matter.id.desc()).limit(limit)).all()
            return [MatterView.of(r) for r in rows]

    def _act(self, number: str, actor: str, action: str, kind: str, detail: str) -> MatterView:
        with write(self.sessions) as session:
            row = self._row(session, number)
            self._allow(row, action)
            row.status = lifecycle.next_status(row.status, action)
            self._event(session, row, actor, kind, detail)
            return MatterView.of(row)

    @staticmethod
    def _row(session: Session, number: str) -> Matter:
        row = session.scalars(select(Matter).where(Matter.number == number)).first()
        if row is None:
            raise MatterError(f"no matter numbered {number!r}")
        return row

    @staticmethod
    def _allow(row: Matter, action: str) -> None:
        try:
            lifecycle.next_status(row.status, action)
        except TransitionError as exc:
            raise MatterError(f"matter {row.number}: {exc}") from None

    def _close(
        self, session: Session, row: Matter, actor: str, told: str, reason: str, now: datetime
    ) -> None:
        row.status = lifecycle.next_status(row.status, "close")
        row.closed_at, row.told, row.close_reason = now, told, reason
        # the IVR's ticket of the same number follows (its status was `open` for ever)
        session.execute(update(Ticket).where(Ticket.number == row.number).values(status="closed"))
        self._event(session, row, actor, "closed", f"told by {told}: {reason}".rstrip(": "), now)

    def record(self, session: Session, row: Matter, actor: str, kind: str, detail: str) -> None:
        """A line in the matter's history written in the caller's transaction (a notice sent,
        by hotline/matters/notify.py)."""
        self._event(session, row, actor, kind, detail)

    def _event(
        self,
        session: Session,
        row: Matter,
        actor: str,
        kind: str,
        detail: str,
        at: datetime | None = None,
    ) -> None:
        at = at or self.now()
        row.updated_at = at
        session.add(
            MatterEvent(
                matter_id=row.id, at=at, actor=actor, kind=kind, detail=detail, status=row.status
            )
        )
