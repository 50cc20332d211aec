"""issue 15: outcomes, asked-at, call kinds, the decision's A step, answering role, business

Calls stored before keep the outcome they had (answered, abandoned, unknown: the old rows
cannot tell a self-service call from a caller who gave up), with no asked-at time, so the new
KPIs' asking, waiting and abandonment figures leave them out; they are inbound calls. Their
routing decisions get an empty business and reached_a false.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07 13:17:44.517970
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("call", schema=None) as batch_op:
        batch_op.add_column(sa.Column("asked_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("ivr_end", sa.String(length=20), nullable=True))
        batch_op.add_column(
            sa.Column("kind", sa.String(length=20), server_default="inbound", nullable=False)
        )
        batch_op.add_column(sa.Column("serves", sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f("ix_call_kind"), ["kind"], unique=False)
        batch_op.create_index(batch_op.f("ix_call_outcome"), ["outcome"], unique=False)
        batch_op.create_index(batch_op.f("ix_call_serves"), ["serves"], unique=False)

    with op.batch_alter_table("route_decision", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("business", sa.String(length=40), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column("reached_a", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(sa.Column("answered_role", sa.String(length=20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("route_decision", schema=None) as batch_op:
        batch_op.drop_column("answered_role")
        batch_op.drop_column("reached_a")
        batch_op.drop_column("business")

    with op.batch_alter_table("call", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_call_serves"))
        batch_op.drop_index(batch_op.f("ix_call_outcome"))
        batch_op.drop_index(batch_op.f("ix_call_kind"))
        batch_op.drop_column("serves")
        batch_op.drop_column("kind")
        batch_op.drop_column("ivr_end")
        batch_op.drop_column("asked_at")
