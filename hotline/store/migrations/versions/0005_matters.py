"""issue 18: matters (工单), their history, calls, hand-overs to departments and notices sent;
callbacks booked for a slot about a matter

Tickets stored before stay tickets (no matter is made for them: their owner and due time
were never known); callbacks stored before belong to no matter.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07 15:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "matter",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("number", sa.String(length=20), nullable=False),
        sa.Column("caller_number", sa.String(length=80), nullable=False),
        sa.Column("caller_name", sa.String(length=160), nullable=False),
        sa.Column("business", sa.String(length=40), nullable=False),
        sa.Column("district", sa.String(length=40), nullable=False),
        sa.Column("category", sa.String(length=20), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("summary", sa.String(length=2000), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("owner", sa.String(length=40), nullable=True),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("due_at", WHEN, nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.Column("closed_at", WHEN, nullable=True),
        sa.Column("close_reason", sa.String(length=400), nullable=False),
        sa.Column("told", sa.String(length=20), nullable=True),
        sa.Column("first_linkedid", sa.String(length=64), nullable=True),
        sa.Column("owner_alerted_at", WHEN, nullable=True),
        sa.Column("supervisor_alerted_at", WHEN, nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("number"),
    )
    for column in ("caller_number", "district", "status", "owner", "created_at", "due_at"):
        op.create_index(op.f(f"ix_matter_{column}"), "matter", [column], unique=False)
    op.create_index(op.f("ix_matter_first_linkedid"), "matter", ["first_linkedid"], unique=False)

    op.create_table(
        "matter_event",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("matter_id", sa.Integer(), nullable=False),
        sa.Column("at", WHEN, nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("detail", sa.String(length=2000), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(["matter_id"], ["matter.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_matter_event_matter_id"), "matter_event", ["matter_id"])
    op.create_index(op.f("ix_matter_event_at"), "matter_event", ["at"])

    op.create_table(
        "matter_call",
        sa.Column("matter_id", sa.Integer(), nullable=False),
        sa.Column("linkedid", sa.String(length=64), nullable=False),
        sa.Column("linked_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(["matter_id"], ["matter.id"]),
        sa.PrimaryKeyConstraint("matter_id", "linkedid"),
    )
    op.create_index(op.f("ix_matter_call_linkedid"), "matter_call", ["linkedid"])

    op.create_table(
        "handover",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("matter_id", sa.Integer(), nullable=False),
        sa.Column("department", sa.String(length=40), nullable=False),
        sa.Column("question", sa.String(length=2000), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("due_at", WHEN, nullable=False),
        sa.Column("reply", sa.String(length=4000), nullable=False),
        sa.Column("replied_at", WHEN, nullable=True),
        sa.Column("replied_by", sa.String(length=80), nullable=False),
        sa.ForeignKeyConstraint(["matter_id"], ["matter.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_handover_matter_id"), "handover", ["matter_id"])
    op.create_index(op.f("ix_handover_department"), "handover", ["department"])
    op.create_index(op.f("ix_handover_due_at"), "handover", ["due_at"])

    op.create_table(
        "notice_sent",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("matter_id", sa.Integer(), nullable=True),
        sa.Column("linkedid", sa.String(length=64), nullable=True),
        sa.Column("notice", sa.String(length=60), nullable=False),
        sa.Column("language", sa.String(length=10), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("text", sa.String(length=2000), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("sender", sa.String(length=20), nullable=False),
        sa.Column("sent_at", WHEN, nullable=True),
        sa.Column("error", sa.String(length=400), nullable=False),
        sa.ForeignKeyConstraint(["matter_id"], ["matter.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    op.create_index(op.f("ix_notice_sent_matter_id"), "notice_sent", ["matter_id"])
    op.create_index(op.f("ix_notice_sent_linkedid"), "notice_sent", ["linkedid"])
    op.create_index(op.f("ix_notice_sent_created_at"), "notice_sent", ["created_at"])
    op.create_index(op.f("ix_notice_sent_status"), "notice_sent", ["status"])

    with op.batch_alter_table("callback", schema=None) as batch_op:
        batch_op.add_column(sa.Column("matter_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("slot_end", WHEN, nullable=True))
        batch_op.create_index(batch_op.f("ix_callback_matter_id"), ["matter_id"], unique=False)
        batch_op.create_foreign_key("fk_callback_matter_id_matter", "matter", ["matter_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("callback", schema=None) as batch_op:
        batch_op.drop_constraint("fk_callback_matter_id_matter", type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_callback_matter_id"))
        batch_op.drop_column("slot_end")
        batch_op.drop_column("matter_id")
    for table in ("notice_sent", "handover", "matter_call", "matter_event", "matter"):
        op.drop_table(table)
