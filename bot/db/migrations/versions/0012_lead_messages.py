"""The consumer's messages about a lead (a lead is a conversation)

Revision ID: 0012_lead_messages
Revises: 0011_lead_notices
Create Date: 2026-12-05 20:30:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0012_lead_messages"
down_revision = "0011_lead_notices"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "lead_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("evidence_id", sa.Integer(), nullable=True),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["lead_id"], ["lead.id"]),
        sa.ForeignKeyConstraint(["evidence_id"], ["evidence.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_lead_message_unread", "lead_message", ["lead_id", "read_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_lead_message_unread", table_name="lead_message")
    op.drop_table("lead_message")
