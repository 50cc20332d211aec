"""issue 16: district scope, score integrity, log-in throttle, audited accounts, purposes

Existing recording accesses get an empty purpose. Two amendments of one score, or two first
scores of one call by one scorer, cannot both stay: if an older database holds such a pair (a
race the constraints now prevent), the upgrade stops on it and changes nothing.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-07 12:38:05.798645
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "account_audit",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("target", sa.String(length=64), nullable=False),
        sa.Column("detail", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("account_audit", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_account_audit_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_account_audit_target"), ["target"], unique=False)

    op.create_table(
        "login_throttle",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure", sa.DateTime(timezone=True), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("key"),
    )
    with op.batch_alter_table("login_throttle", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_login_throttle_last_failure"), ["last_failure"], unique=False
        )

    with op.batch_alter_table("recording_access", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("purpose", sa.String(length=200), nullable=False, server_default="")
        )

    with op.batch_alter_table("score", schema=None) as batch_op:
        batch_op.create_index(
            "uq_score_first_per_scorer",
            ["linkedid", "scorer"],
            unique=True,
            sqlite_where=sa.text("amends IS NULL"),
            postgresql_where=sa.text("amends IS NULL"),
        )
        batch_op.create_unique_constraint("uq_score_amends", ["amends"])


def downgrade() -> None:
    with op.batch_alter_table("score", schema=None) as batch_op:
        batch_op.drop_constraint("uq_score_amends", type_="unique")
        batch_op.drop_index(
            "uq_score_first_per_scorer",
            sqlite_where=sa.text("amends IS NULL"),
            postgresql_where=sa.text("amends IS NULL"),
        )

    with op.batch_alter_table("recording_access", schema=None) as batch_op:
        batch_op.drop_column("purpose")

    with op.batch_alter_table("login_throttle", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_login_throttle_last_failure"))

    op.drop_table("login_throttle")
    with op.batch_alter_table("account_audit", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_account_audit_target"))
        batch_op.drop_index(batch_op.f("ix_account_audit_at"))

    op.drop_table("account_audit")
