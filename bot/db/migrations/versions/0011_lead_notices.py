"""Notices to the parties of a lead (decisions and replies), each with its deadline and how it was delivered

Revision ID: 0011_lead_notices
Revises: 0010_console_sessions
Create Date: 2026-12-07 09:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0011_lead_notices"
down_revision = "0010_console_sessions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "lead_notice",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("party", sa.String(length=16), nullable=False),
        sa.Column("title", sa.String(length=64), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("due", sa.Date(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=True),
        sa.Column("outbox_id", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("offline_on", sa.Date(), nullable=True),
        sa.Column("offline_by", sa.String(length=64), nullable=True),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["actor_id"], ["staff_user.id"]),
        sa.ForeignKeyConstraint(["lead_id"], ["lead.id"]),
        sa.ForeignKeyConstraint(["outbox_id"], ["outbox_item.id"]),
        sa.ForeignKeyConstraint(["recorded_by_id"], ["staff_user.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_lead_notice_lead_state", "lead_notice", ["lead_id", "state"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_lead_notice_lead_state", table_name="lead_notice")
    op.drop_table("lead_notice")
