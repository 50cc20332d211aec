"""issue 18: the wrap-up codes owed (wrap_up_owed), so the wrap-up hold survives a restart

A new table, empty at the upgrade: no stored call can say whether codes were required when it
was answered, so nobody owes a code for a call answered before this revision (the hold of a
controller running at the upgrade is lost once, as before it).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 22:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "wrap_up_owed",
        sa.Column("linkedid", sa.String(length=64), nullable=False),
        sa.Column("agent_id", sa.String(length=40), nullable=False),
        sa.Column("owed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("linkedid", "agent_id"),
    )
    op.create_index(op.f("ix_wrap_up_owed_agent_id"), "wrap_up_owed", ["agent_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_wrap_up_owed_agent_id"), table_name="wrap_up_owed")
    op.drop_table("wrap_up_owed")
