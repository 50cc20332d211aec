"""Tables. A call keys on Asterisk's linkedid; each leg (a channel: the caller's, an agent's)
on its uniqueid. Times are UTC."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, false, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    pass


class Call(Base):
    __tablename__ = "call"

    linkedid: Mapped[str] = mapped_column(String(64), primary_key=True)
    channel: Mapped[str] = mapped_column(String(120), default="")  # the caller's channel
    # indexed: the agent's desk looks a caller's calls up when it pops
    caller_number: Mapped[str] = mapped_column(String(80), default="", index=True)
    caller_name: Mapped[str] = mapped_column(String(160), default="")
    did: Mapped[str] = mapped_column(String(80), default="")
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # when Asterisk answered the caller's line (the IVR picks up, the recording begins); an
    # agent's answer is on the leg that rang them (Leg.answered_at)
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # live | self_service | ivr_abandoned | answered | abandoned | callback_booked | overflow
    # | fallback | unknown: decided by ivr/outcome.py (README "How a call ends")
    outcome: Mapped[str] = mapped_column(String(20), default="live", index=True)
    recording: Mapped[str | None] = mapped_column(String(255))
    # when the caller asked for a person (0, or the flow routed), stamped at that moment: waits
    # and the 15-s answer rate count from it, time in hotline's line included
    asked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # the IVR's summary (ivr/outcome.py IVR_ENDS); None while (or when) no IVR reported
    ivr_end: Mapped[str | None] = mapped_column(String(20))
    # inbound (a citizen called 12333) | callback (our call back to a caller who booked one) |
    # survey (our satisfaction-survey call); the last two name the call they serve
    # (server defaults: a controller of the previous version can still write to this table)
    kind: Mapped[str] = mapped_column(
        String(20), default="inbound", server_default="inbound", index=True
    )
    serves: Mapped[str | None] = mapped_column(String(64), index=True)

    legs: Mapped[list[Leg]] = relationship(back_populates="call", order_by="Leg.ring_at")


class Leg(Base):
    """An agent-side channel dialled for a call (one per ring attempt)."""

    __tablename__ = "leg"

    uniqueid: Mapped[str] = mapped_column(String(64), primary_key=True)
    linkedid: Mapped[str] = mapped_column(ForeignKey("call.linkedid"), index=True)
    channel: Mapped[str] = mapped_column(String(120))
    endpoint: Mapped[str] = mapped_column(String(80))
    agent_id: Mapped[str | None] = mapped_column(String(40))
    ring_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Asterisk's DIALSTATUS: ANSWER, BUSY, NOANSWER, CANCEL, CHANUNAVAIL, CONGESTION
    dial_status: Mapped[str | None] = mapped_column(String(20))

    call: Mapped[Call] = relationship(back_populates="legs")


class IvrStep(Base):
    """One node of a call's walk through the IVR (inputs of PIN-like nodes masked)."""

    __tablename__ = "ivr_step"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # no foreign key: the AGI session may end before the AMI writer has stored the call row
    linkedid: Mapped[str] = mapped_column(String(64), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    node: Mapped[str] = mapped_column(String(80))
    outcome: Mapped[str] = mapped_column(String(80))  # e.g. digit:1, timeout, input:******, hangup
    entered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    duration_ms: Mapped[int] = mapped_column(Integer)


class Ticket(Base):
    """A complaint, report or message left in the IVR, with its voice recording."""

    __tablename__ = "ticket"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    number: Mapped[str] = mapped_column(String(20), unique=True, default="")
    linkedid: Mapped[str] = mapped_column(String(64), index=True)
    caller_number: Mapped[str] = mapped_column(String(80))
    category: Mapped[str] = mapped_column(String(20))  # message | complaint | report
    recording: Mapped[str] = mapped_column(String(255))
    seconds: Mapped[float] = mapped_column(default=0.0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(20), default="open")


class RouteDecision(Base):
    """Why a call went where it went: the router's chain and what each ring gave."""

    __tablename__ = "route_decision"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    linkedid: Mapped[str] = mapped_column(String(64), index=True)
    decided_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    post: Mapped[str] = mapped_column(String(80), default="")
    # the business the caller asked a person for (from their menu choices): a matter's owner
    # is looked up per business (hotline/matters/ownership.py)
    business: Mapped[str] = mapped_column(String(40), default="")
    # e.g. "post pension-xihu A 2001 talking -> post pension-xihu B: 2002 -> then queue |
    #       rang: 2002 NOANSWER, 2003 ANSWER"
    chain: Mapped[str] = mapped_column(String(2000))
    answered_by: Mapped[str | None] = mapped_column(String(40))
    # the AB-fallback rate's denominator: the routing reached the post's A step (A rung, or
    # passed over as away or busy), and the rung that answered (routing.router.ROLES)
    reached_a: Mapped[bool] = mapped_column(default=False, server_default=false())
    answered_role: Mapped[str | None] = mapped_column(String(20))


class Callback(Base):
    """A caller who chose to be called back, keeping their place in line.

    status: pending -> dialing -> done | pending (retry) | failed. The move to 'dialing' is
    one conditional UPDATE, so a callback is placed once even with two dispatchers."""

    __tablename__ = "callback"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    linkedid: Mapped[str] = mapped_column(String(64), index=True)
    # digits only, checked before storing
    number: Mapped[str] = mapped_column(String(32), index=True)
    post: Mapped[str] = mapped_column(String(80), default="")
    business: Mapped[str] = mapped_column(String(40), default="")
    district: Mapped[str] = mapped_column(String(40), default="")
    queued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    agent_id: Mapped[str | None] = mapped_column(String(40))
    result: Mapped[str] = mapped_column(String(40), default="")
    # a callback booked for a time slot about a matter (the desk, the IVR after hours): placed
    # from the slot's start (its next_attempt_at and queued_at), its outcome written to the
    # matter; None for a caller who kept their place in the line
    matter_id: Mapped[int | None] = mapped_column(ForeignKey("matter.id"), index=True)
    slot_end: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Recording(Base):
    """A call's recording in the catalogue (one row per call, keyed on its linkedid).

    Written when the call has ended and Asterisk closed the file, or by the reconciliation
    pass for a file nobody catalogued (a crash). `path` and the per-party paths are relative
    to the recordings folder. `state`: ok | repaired (the WAV header was rewritten from the
    bytes on disk) | flagged (unreadable: needs a person) | archived | missing | corrupt |
    purged."""

    __tablename__ = "recording"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # no foreign key: after a crash the file may be catalogued before (or without) a call row
    linkedid: Mapped[str] = mapped_column(String(64), unique=True)
    path: Mapped[str] = mapped_column(String(255))
    format: Mapped[str] = mapped_column(String(20), default="wav")
    seconds: Mapped[float] = mapped_column(default=0.0)
    bytes: Mapped[int] = mapped_column(Integer, default=0)
    sha256: Mapped[str] = mapped_column(String(64), default="")
    state: Mapped[str] = mapped_column(String(20), default="ok", index=True)
    note: Mapped[str] = mapped_column(String(400), default="")
    caller_path: Mapped[str | None] = mapped_column(String(255))  # what the caller said
    agent_path: Mapped[str | None] = mapped_column(String(255))  # what the caller heard
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    caller_number: Mapped[str] = mapped_column(String(80), default="", index=True)
    agents: Mapped[str] = mapped_column(String(200), default="")  # agent ids, comma-separated
    post: Mapped[str] = mapped_column(String(80), default="")
    district: Mapped[str] = mapped_column(String(40), default="")
    category: Mapped[str] = mapped_column(String(20), default="general")  # general | complaint...
    catalogued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    keep_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    legal_hold: Mapped[bool] = mapped_column(default=False)
    hold_reason: Mapped[str] = mapped_column(String(200), default="")
    archive_path: Mapped[str | None] = mapped_column(String(255))
    archive_format: Mapped[str | None] = mapped_column(String(20))
    archive_seconds: Mapped[float | None] = mapped_column()
    archive_sha256: Mapped[str | None] = mapped_column(String(64))
    playback_path: Mapped[str | None] = mapped_column(String(255))  # loudness-normalised
    processed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # QA measures from the audio (seconds; ratio = caller talk / agent-side talk)
    caller_talk: Mapped[float | None] = mapped_column()
    agent_talk: Mapped[float | None] = mapped_column()
    talk_ratio: Mapped[float | None] = mapped_column()
    overlap: Mapped[float | None] = mapped_column()
    long_silences: Mapped[int | None] = mapped_column(Integer)  # silences/holds > 30 s
    longest_silence: Mapped[float | None] = mapped_column()
    purged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class MutedSpan(Base):
    """A stretch of a call's recording muted on purpose (secure pause): a PIN being keyed,
    an ID read back. Kept by linkedid (the call, hence its recording) with wall-clock times;
    the catalogue shows them as seconds from the recording's start."""

    __tablename__ = "recording_mute"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    linkedid: Mapped[str] = mapped_column(String(64), index=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    kind: Mapped[str] = mapped_column(String(20))  # pin | secret | id | phone


class RecordingAccess(Base):
    """Who asked for which recording, when, to do what, and whether it was granted.

    Every attempt is written, refused ones included (a traversal attempt, a missing file)."""

    __tablename__ = "recording_access"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    recording_id: Mapped[int | None] = mapped_column(Integer, index=True)
    user: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(40))  # listen | download | export | purge | hold
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    granted: Mapped[bool] = mapped_column(default=False)
    detail: Mapped[str] = mapped_column(String(400), default="")
    purpose: Mapped[str] = mapped_column(String(200), default="")  # why, as the user gave it


# --- the supervisors' web (hotline/supervisor/) ---------------------------------------------------


class WebUser(Base):
    """A supervisor, QA, admin or agent account. `password` is an scrypt hash with its salt and
    cost (see hotline/supervisor/auth.py); `district` limits a district supervisor to their
    district; `agent_id` links an agent's account to their agent in the seat directory (their
    desk); `department` links a department's account to its department (its hand-overs)."""

    __tablename__ = "web_user"

    username: Mapped[str] = mapped_column(String(40), primary_key=True)
    password: Mapped[str] = mapped_column(String(300))
    role: Mapped[str] = mapped_column(String(20))  # supervisor | qa | admin | agent | department
    district: Mapped[str | None] = mapped_column(String(40))  # None: the whole city
    phone: Mapped[str] = mapped_column(String(120), default="")  # e.g. PJSIP/sup9001
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    disabled: Mapped[bool] = mapped_column(default=False)
    agent_id: Mapped[str | None] = mapped_column(String(40))  # role agent: whose desk
    # role department: the departments.toml id whose hand-overs the account answers
    department: Mapped[str | None] = mapped_column(String(40))


class WrapUp(Base):
    """The wrap-up code an agent chose for a call they answered (the desk); with `[routing]
    wrap_up_required` the agent is offered no call before it is entered."""

    __tablename__ = "wrap_up"
    __table_args__ = (Index("ux_wrap_up_call_agent", "linkedid", "agent_id", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    linkedid: Mapped[str] = mapped_column(String(64), index=True)
    agent_id: Mapped[str] = mapped_column(String(40), index=True)
    business: Mapped[str] = mapped_column(String(40), default="")
    code: Mapped[str] = mapped_column(String(40))
    note: Mapped[str] = mapped_column(String(1000), default="")
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class WrapUpOwed(Base):
    """A wrap-up code owed: the agent answered the call while `[routing] wrap_up_required` was
    on and has entered no code since. Written when the leg is answered, deleted when the agent
    enters a code; a restarted controller holds exactly the agents who have one (an answered
    leg alone cannot say whether codes were required when it was answered)."""

    __tablename__ = "wrap_up_owed"

    linkedid: Mapped[str] = mapped_column(String(64), primary_key=True)
    agent_id: Mapped[str] = mapped_column(String(40), primary_key=True, index=True)
    owed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class WebSession(Base):
    """A logged-in browser. Only the token's sha256 is stored; the CSRF token is per session."""

    __tablename__ = "web_session"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    username: Mapped[str] = mapped_column(ForeignKey("web_user.username"), index=True)
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class AccountAudit(Base):
    """Changes to the dashboard's accounts: who (the operating-system user at the shell, or
    the web user), what, to which account, when."""

    __tablename__ = "account_audit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    actor: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(20))  # add | passwd | disable | enable | role
    target: Mapped[str] = mapped_column(String(64), index=True)
    detail: Mapped[str] = mapped_column(String(200), default="")


class LoginThrottle(Base):
    """Failed log-ins per key, shared by every controller on the database
    (hotline/supervisor/throttle.py).

    `key` is a sha256 of either `addr:<client address>` or `pair:<address>|<user name>`: no
    attempted name (people type passwords into it) is stored, and the row's size is fixed."""

    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class MonitorSession(Base):
    """The audit of live monitoring: who listened to / whispered to / barged into which call.

    One row per ChanSpy origination, refused attempts included (`result` says why)."""

    __tablename__ = "monitor_session"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(40), index=True)
    mode: Mapped[str] = mapped_column(String(10))  # listen | whisper | barge
    linkedid: Mapped[str] = mapped_column(String(64), index=True)
    agent_id: Mapped[str | None] = mapped_column(String(40))
    spied_channel: Mapped[str] = mapped_column(String(120), default="")
    phone: Mapped[str] = mapped_column(String(120), default="")
    action_id: Mapped[str] = mapped_column(String(64), default="")
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    result: Mapped[str] = mapped_column(String(200), default="requested")


class Score(Base):
    """A call's score on the quantified sheet. Never updated: an amendment is a new row whose
    `amends` names the row it corrects (the newest row of a chain is the call's score).

    The database keeps the rules, not a check-then-insert: `amends` is unique (a score is
    amended once: of two racing amendments one fails), and a scorer's first score of a call
    is unique per (call, scorer) (further changes are amendments)."""

    __tablename__ = "score"
    __table_args__ = (
        Index(
            "uq_score_first_per_scorer",
            "linkedid",
            "scorer",
            unique=True,
            sqlite_where=text("amends IS NULL"),
            postgresql_where=text("amends IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    linkedid: Mapped[str] = mapped_column(String(64), index=True)
    agent_id: Mapped[str] = mapped_column(String(40), index=True)
    scorer: Mapped[str] = mapped_column(String(40))
    sheet: Mapped[str] = mapped_column(String(40))  # the sheet's id and version
    items: Mapped[str] = mapped_column(String(4000))  # JSON: item id -> points given
    vetoed: Mapped[bool] = mapped_column(default=False)
    total: Mapped[float] = mapped_column()
    comment: Mapped[str] = mapped_column(String(1000), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    amends: Mapped[int | None] = mapped_column(ForeignKey("score.id"), unique=True)


class Survey(Base):
    """A caller's satisfaction rating of one call: one row per call at most (unique)."""

    __tablename__ = "survey"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    linkedid: Mapped[str] = mapped_column(String(64), unique=True)  # the rated call
    caller_number: Mapped[str] = mapped_column(String(80), default="", index=True)
    agent_id: Mapped[str | None] = mapped_column(String(40), index=True)
    post: Mapped[str] = mapped_column(String(80), default="")
    district: Mapped[str] = mapped_column(String(40), default="")
    rating: Mapped[str] = mapped_column(String(20))  # very_satisfied | satisfied | dissatisfied
    reason: Mapped[str] = mapped_column(String(40), default="")  # a dissatisfied caller's reason
    comment: Mapped[str] = mapped_column(String(255), default="")  # voice comment file name
    channel: Mapped[str] = mapped_column(String(20))  # in-call | survey-call
    rated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class SurveyJob(Base):
    """A queued survey call for a call whose in-call survey did not happen.

    status: pending -> dialing -> answered | pending (retry) | failed; skipped (with the
    reason) when no survey call may go; rated when the caller rated in the call after all;
    unknown when the controller stopped while dialing (not redialled: at most once).
    The move to 'dialing' is one conditional UPDATE: one call per attempt, whoever ticks."""

    __tablename__ = "survey_job"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    linkedid: Mapped[str] = mapped_column(String(64), unique=True)  # one job per call
    number: Mapped[str] = mapped_column(String(32))
    agent_id: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    last_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    result: Mapped[str] = mapped_column(String(80), default="")


class ReviewItem(Base):
    """A dissatisfied rating, for the agent's supervisor to review (return visit)."""

    __tablename__ = "review_item"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    linkedid: Mapped[str] = mapped_column(String(64), unique=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("survey.id"))
    agent_id: Mapped[str | None] = mapped_column(String(40))
    office: Mapped[str] = mapped_column(String(40), default="")  # whose supervisor reviews
    recording: Mapped[str | None] = mapped_column(String(255))  # the call's recording
    reason: Mapped[str] = mapped_column(String(40), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(20), default="open", index=True)


class DoNotCall(Base):
    """Numbers that must never receive a survey call."""

    __tablename__ = "do_not_call"

    number: Mapped[str] = mapped_column(String(32), primary_key=True)
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    note: Mapped[str] = mapped_column(String(200), default="")


# --- matters (工单: hotline/matters/) --------------------------------------------------------


class Matter(Base):
    """What a caller needs done, with its owner (the first-inquiry agent), status and due time.

    `number` is what the caller hears (digits: the day and the row's id, e.g. 2612070004);
    status and the allowed moves are hotline/matters/lifecycle.py's. The owner changes only by
    an audited assignment (a MatterEvent of kind `assigned`); None: the pool's, nobody's yet."""

    __tablename__ = "matter"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    caller_number: Mapped[str] = mapped_column(String(80), default="", index=True)
    caller_name: Mapped[str] = mapped_column(String(160), default="")
    business: Mapped[str] = mapped_column(String(40), default="")
    district: Mapped[str] = mapped_column(String(40), default="", index=True)
    category: Mapped[str] = mapped_column(String(20), default="consultation")
    channel: Mapped[str] = mapped_column(String(20), default="phone")
    summary: Mapped[str] = mapped_column(String(2000), default="")
    status: Mapped[str] = mapped_column(String(20), default="open", index=True)
    owner: Mapped[str | None] = mapped_column(String(40), index=True)  # an agent id
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    created_by: Mapped[str] = mapped_column(String(80), default="")
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    close_reason: Mapped[str] = mapped_column(String(400), default="")
    told: Mapped[str | None] = mapped_column(String(20))  # callback | reason
    # the call that raised it: first-contact resolution is a close before that call ended
    first_linkedid: Mapped[str | None] = mapped_column(String(64), index=True)
    owner_alerted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    supervisor_alerted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class MatterEvent(Base):
    """A matter's history: who did what, when. Never updated."""

    __tablename__ = "matter_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    matter_id: Mapped[int] = mapped_column(ForeignKey("matter.id"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    actor: Mapped[str] = mapped_column(String(80))  # an agent id, a web user, "ivr", "system"
    # created | note | taken | assigned | summary | handed_over | replied | callback_booked |
    # callback | notice | closed | reopened | alert_owner | alert_supervisor | call_linked
    kind: Mapped[str] = mapped_column(String(20))
    detail: Mapped[str] = mapped_column(String(2000), default="")
    status: Mapped[str] = mapped_column(String(20))  # the matter's status after it


class MatterCall(Base):
    """A call about a matter (its recording is the call's, by linkedid)."""

    __tablename__ = "matter_call"

    matter_id: Mapped[int] = mapped_column(ForeignKey("matter.id"), primary_key=True)
    linkedid: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)
    linked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Handover(Base):
    """A matter sent to a department (转办) with a question and a due time, and its reply."""

    __tablename__ = "handover"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    matter_id: Mapped[int] = mapped_column(ForeignKey("matter.id"), index=True)
    department: Mapped[str] = mapped_column(String(40), index=True)  # a departments.toml id
    question: Mapped[str] = mapped_column(String(2000))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(80))
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    reply: Mapped[str] = mapped_column(String(4000), default="")
    replied_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    replied_by: Mapped[str] = mapped_column(String(80), default="")
    # a reply past due alerts the owner, then the district supervisor, each once
    owner_alerted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    supervisor_alerted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class NoticeSent(Base):
    """A one-time notification (一次性告知) sent to a citizen: the SMS outbox and its record.

    status: pending -> sent | failed. `key` is the idempotency key the gateway sees: one
    delivery per key however often it is retried. `number` is the citizen's (needed to send;
    shown masked everywhere)."""

    __tablename__ = "notice_sent"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    matter_id: Mapped[int | None] = mapped_column(ForeignKey("matter.id"), index=True)
    linkedid: Mapped[str | None] = mapped_column(String(64), index=True)  # the call it was asked in
    notice: Mapped[str] = mapped_column(String(60))  # the catalogue's notice id
    language: Mapped[str] = mapped_column(String(10), default="zh-CN")
    number: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(String(2000))
    key: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    created_by: Mapped[str] = mapped_column(String(80), default="")
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    sender: Mapped[str] = mapped_column(String(20), default="")  # outbox | http
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    error: Mapped[str] = mapped_column(String(400), default="")
