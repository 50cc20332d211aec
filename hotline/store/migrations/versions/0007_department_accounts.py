"""issue 18: department accounts (web_user.department) and hand-over due alerts (the stamps on
handover that keep each alert raised once)

Existing accounts get no department (they are supervisors, QA, admins or agents); existing
hand-overs start unalerted: one past its due time alerts its owner at the next tick.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 19:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("web_user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("department", sa.String(length=40), nullable=True))
    with op.batch_alter_table("handover", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("owner_alerted_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("supervisor_alerted_at", sa.DateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("handover", schema=None) as batch_op:
        batch_op.drop_column("supervisor_alerted_at")
        batch_op.drop_column("owner_alerted_at")
    with op.batch_alter_table("web_user", schema=None) as batch_op:
        batch_op.drop_column("department")
