"""issue 16: muted spans of recordings (secure pause)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07 13:00:26.985429
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "recording_mute",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("linkedid", sa.String(length=64), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("recording_mute", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_recording_mute_linkedid"), ["linkedid"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("recording_mute", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_recording_mute_linkedid"))

    op.drop_table("recording_mute")
