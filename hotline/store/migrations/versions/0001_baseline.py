"""baseline: the schema of 2026-12-07

Revision ID: 0001
Revises: (none: the first)
Create Date: 2026-12-07 11:56:32.133238
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agent_claim",
        sa.Column("agent_id", sa.String(length=40), nullable=False),
        sa.Column("holder", sa.String(length=120), nullable=False),
        sa.Column("token", sa.String(length=40), nullable=False),
        sa.Column("call_id", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("agent_id"),
    )
    with op.batch_alter_table("agent_claim", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_agent_claim_holder"), ["holder"], unique=False)

    op.create_table(
        "call",
        sa.Column("linkedid", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=120), nullable=False),
        sa.Column("caller_number", sa.String(length=80), nullable=False),
        sa.Column("caller_name", sa.String(length=160), nullable=False),
        sa.Column("did", sa.String(length=80), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("recording", sa.String(length=255), nullable=True),
        sa.PrimaryKeyConstraint("linkedid"),
    )
    op.create_table(
        "callback",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("linkedid", sa.String(length=64), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("post", sa.String(length=80), nullable=False),
        sa.Column("business", sa.String(length=40), nullable=False),
        sa.Column("district", sa.String(length=40), nullable=False),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("agent_id", sa.String(length=40), nullable=True),
        sa.Column("result", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("callback", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_callback_linkedid"), ["linkedid"], unique=False)
        batch_op.create_index(batch_op.f("ix_callback_queued_at"), ["queued_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_callback_status"), ["status"], unique=False)

    op.create_table(
        "do_not_call",
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("number"),
    )
    op.create_table(
        "ivr_step",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("linkedid", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("node", sa.String(length=80), nullable=False),
        sa.Column("outcome", sa.String(length=80), nullable=False),
        sa.Column("entered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("ivr_step", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ivr_step_linkedid"), ["linkedid"], unique=False)

    op.create_table(
        "monitor_session",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("username", sa.String(length=40), nullable=False),
        sa.Column("mode", sa.String(length=10), nullable=False),
        sa.Column("linkedid", sa.String(length=64), nullable=False),
        sa.Column("agent_id", sa.String(length=40), nullable=True),
        sa.Column("spied_channel", sa.String(length=120), nullable=False),
        sa.Column("phone", sa.String(length=120), nullable=False),
        sa.Column("action_id", sa.String(length=64), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("result", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("monitor_session", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_monitor_session_linkedid"), ["linkedid"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_monitor_session_requested_at"), ["requested_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_monitor_session_username"), ["username"], unique=False)

    op.create_table(
        "recording",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("linkedid", sa.String(length=64), nullable=False),
        sa.Column("path", sa.String(length=255), nullable=False),
        sa.Column("format", sa.String(length=20), nullable=False),
        sa.Column("seconds", sa.Double(), nullable=False),
        sa.Column("bytes", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("note", sa.String(length=400), nullable=False),
        sa.Column("caller_path", sa.String(length=255), nullable=True),
        sa.Column("agent_path", sa.String(length=255), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("caller_number", sa.String(length=80), nullable=False),
        sa.Column("agents", sa.String(length=200), nullable=False),
        sa.Column("post", sa.String(length=80), nullable=False),
        sa.Column("district", sa.String(length=40), nullable=False),
        sa.Column("category", sa.String(length=20), nullable=False),
        sa.Column("catalogued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("keep_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("legal_hold", sa.Boolean(), nullable=False),
        sa.Column("hold_reason", sa.String(length=200), nullable=False),
        sa.Column("archive_path", sa.String(length=255), nullable=True),
        sa.Column("archive_format", sa.String(length=20), nullable=True),
        sa.Column("archive_seconds", sa.Double(), nullable=True),
        sa.Column("archive_sha256", sa.String(length=64), nullable=True),
        sa.Column("playback_path", sa.String(length=255), nullable=True),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("caller_talk", sa.Double(), nullable=True),
        sa.Column("agent_talk", sa.Double(), nullable=True),
        sa.Column("talk_ratio", sa.Double(), nullable=True),
        sa.Column("overlap", sa.Double(), nullable=True),
        sa.Column("long_silences", sa.Integer(), nullable=True),
        sa.Column("longest_silence", sa.Double(), nullable=True),
        sa.Column("purged_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("linkedid"),
    )
    with op.batch_alter_table("recording", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_recording_caller_number"), ["caller_number"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_recording_keep_until"), ["keep_until"], unique=False)
        batch_op.create_index(batch_op.f("ix_recording_started_at"), ["started_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_recording_state"), ["state"], unique=False)

    op.create_table(
        "recording_access",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("recording_id", sa.Integer(), nullable=True),
        sa.Column("user", sa.String(length=80), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("granted", sa.Boolean(), nullable=False),
        sa.Column("detail", sa.String(length=400), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("recording_access", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_recording_access_at"), ["at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_recording_access_recording_id"), ["recording_id"], unique=False
        )

    op.create_table(
        "route_decision",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("linkedid", sa.String(length=64), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("post", sa.String(length=80), nullable=False),
        sa.Column("chain", sa.String(length=2000), nullable=False),
        sa.Column("answered_by", sa.String(length=40), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("route_decision", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_route_decision_linkedid"), ["linkedid"], unique=False)

    op.create_table(
        "scheduler_lease",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("holder", sa.String(length=120), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "score",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("linkedid", sa.String(length=64), nullable=False),
        sa.Column("agent_id", sa.String(length=40), nullable=False),
        sa.Column("scorer", sa.String(length=40), nullable=False),
        sa.Column("sheet", sa.String(length=40), nullable=False),
        sa.Column("items", sa.String(length=4000), nullable=False),
        sa.Column("vetoed", sa.Boolean(), nullable=False),
        sa.Column("total", sa.Double(), nullable=False),
        sa.Column("comment", sa.String(length=1000), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("amends", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["amends"],
            ["score.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("score", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_score_agent_id"), ["agent_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_score_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_score_linkedid"), ["linkedid"], unique=False)

    op.create_table(
        "survey",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("linkedid", sa.String(length=64), nullable=False),
        sa.Column("caller_number", sa.String(length=80), nullable=False),
        sa.Column("agent_id", sa.String(length=40), nullable=True),
        sa.Column("post", sa.String(length=80), nullable=False),
        sa.Column("district", sa.String(length=40), nullable=False),
        sa.Column("rating", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.Column("comment", sa.String(length=255), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("rated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("linkedid"),
    )
    with op.batch_alter_table("survey", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_survey_agent_id"), ["agent_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_survey_rated_at"), ["rated_at"], unique=False)

    op.create_table(
        "survey_job",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("linkedid", sa.String(length=64), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("agent_id", sa.String(length=40), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("result", sa.String(length=80), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("linkedid"),
    )
    with op.batch_alter_table("survey_job", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_survey_job_next_attempt_at"), ["next_attempt_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_survey_job_status"), ["status"], unique=False)

    op.create_table(
        "ticket",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("number", sa.String(length=20), nullable=False),
        sa.Column("linkedid", sa.String(length=64), nullable=False),
        sa.Column("caller_number", sa.String(length=80), nullable=False),
        sa.Column("category", sa.String(length=20), nullable=False),
        sa.Column("recording", sa.String(length=255), nullable=False),
        sa.Column("seconds", sa.Double(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("number"),
    )
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ticket_linkedid"), ["linkedid"], unique=False)

    op.create_table(
        "web_user",
        sa.Column("username", sa.String(length=40), nullable=False),
        sa.Column("password", sa.String(length=300), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("district", sa.String(length=40), nullable=True),
        sa.Column("phone", sa.String(length=120), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("username"),
    )
    op.create_table(
        "leg",
        sa.Column("uniqueid", sa.String(length=64), nullable=False),
        sa.Column("linkedid", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=120), nullable=False),
        sa.Column("endpoint", sa.String(length=80), nullable=False),
        sa.Column("agent_id", sa.String(length=40), nullable=True),
        sa.Column("ring_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("dial_status", sa.String(length=20), nullable=True),
        sa.ForeignKeyConstraint(
            ["linkedid"],
            ["call.linkedid"],
        ),
        sa.PrimaryKeyConstraint("uniqueid"),
    )
    with op.batch_alter_table("leg", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_leg_linkedid"), ["linkedid"], unique=False)

    op.create_table(
        "review_item",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("linkedid", sa.String(length=64), nullable=False),
        sa.Column("survey_id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.String(length=40), nullable=True),
        sa.Column("office", sa.String(length=40), nullable=False),
        sa.Column("recording", sa.String(length=255), nullable=True),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(
            ["survey_id"],
            ["survey.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("linkedid"),
    )
    with op.batch_alter_table("review_item", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_review_item_status"), ["status"], unique=False)

    op.create_table(
        "web_session",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("username", sa.String(length=40), nullable=False),
        sa.Column("csrf", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["username"],
            ["web_user.username"],
        ),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    with op.batch_alter_table("web_session", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_web_session_expires_at"), ["expires_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_web_session_username"), ["username"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("web_session", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_web_session_username"))
        batch_op.drop_index(batch_op.f("ix_web_session_expires_at"))

    op.drop_table("web_session")
    with op.batch_alter_table("review_item", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_review_item_status"))

    op.drop_table("review_item")
    with op.batch_alter_table("leg", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_leg_linkedid"))

    op.drop_table("leg")
    op.drop_table("web_user")
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ticket_linkedid"))

    op.drop_table("ticket")
    with op.batch_alter_table("survey_job", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_survey_job_status"))
        batch_op.drop_index(batch_op.f("ix_survey_job_next_attempt_at"))

    op.drop_table("survey_job")
    with op.batch_alter_table("survey", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_survey_rated_at"))
        batch_op.drop_index(batch_op.f("ix_survey_agent_id"))

    op.drop_table("survey")
    with op.batch_alter_table("score", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_score_linkedid"))
        batch_op.drop_index(batch_op.f("ix_score_created_at"))
        batch_op.drop_index(batch_op.f("ix_score_agent_id"))

    op.drop_table("score")
    op.drop_table("scheduler_lease")
    with op.batch_alter_table("route_decision", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_route_decision_linkedid"))

    op.drop_table("route_decision")
    with op.batch_alter_table("recording_access", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_recording_access_recording_id"))
        batch_op.drop_index(batch_op.f("ix_recording_access_at"))

    op.drop_table("recording_access")
    with op.batch_alter_table("recording", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_recording_state"))
        batch_op.drop_index(batch_op.f("ix_recording_started_at"))
        batch_op.drop_index(batch_op.f("ix_recording_keep_until"))
        batch_op.drop_index(batch_op.f("ix_recording_caller_number"))

    op.drop_table("recording")
    with op.batch_alter_table("monitor_session", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_monitor_session_username"))
        batch_op.drop_index(batch_op.f("ix_monitor_session_requested_at"))
        batch_op.drop_index(batch_op.f("ix_monitor_session_linkedid"))

    op.drop_table("monitor_session")
    with op.batch_alter_table("ivr_step", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ivr_step_linkedid"))

    op.drop_table("ivr_step")
    op.drop_table("do_not_call")
    with op.batch_alter_table("callback", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_callback_status"))
        batch_op.drop_index(batch_op.f("ix_callback_queued_at"))
        batch_op.drop_index(batch_op.f("ix_callback_linkedid"))

    op.drop_table("callback")
    op.drop_table("call")
    with op.batch_alter_table("agent_claim", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_agent_claim_holder"))

    op.drop_table("agent_claim")
