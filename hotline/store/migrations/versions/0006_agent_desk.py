"""issue 18: the agent's desk: agent accounts (web_user.agent_id), wrap-up codes, and indexes
on the caller's number of calls, callbacks and surveys (the desk's pop looks a caller up)

Existing accounts get no agent (they are supervisors, QA or admins); the wrap-up table starts
empty.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 15:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

CALLER_COLUMNS = (("call", "caller_number"), ("callback", "number"), ("survey", "caller_number"))


def upgrade() -> None:
    with op.batch_alter_table("web_user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("agent_id", sa.String(length=40), nullable=True))
    op.create_table(
        "wrap_up",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("linkedid", sa.String(length=64), nullable=False),
        sa.Column("agent_id", sa.String(length=40), nullable=False),
        sa.Column("business", sa.String(length=40), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("note", sa.String(length=1000), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("wrap_up", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_wrap_up_agent_id"), ["agent_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_wrap_up_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_wrap_up_linkedid"), ["linkedid"], unique=False)
        batch_op.create_index("ux_wrap_up_call_agent", ["linkedid", "agent_id"], unique=True)
    for table, column in CALLER_COLUMNS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(batch_op.f(f"ix_{table}_{column}"), [column], unique=False)


def downgrade() -> None:
    for table, column in CALLER_COLUMNS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(f"ix_{table}_{column}"))
    op.drop_table("wrap_up")
    with op.batch_alter_table("web_user", schema=None) as batch_op:
        batch_op.drop_column("agent_id")
