"""Console sign-ins kept on the server, so that signing out ends the session at once

Revision ID: 0010_console_sessions
Revises: 0009_lead_words_encrypted
Create Date: 2026-12-05 18:50:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0010_console_sessions"
down_revision = "0009_lead_words_encrypted"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "console_session",
        sa.Column("id_hash", sa.String(length=64), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["staff_id"], ["staff_user.id"]),
        sa.PrimaryKeyConstraint("id_hash"),
    )
    op.create_index("ix_console_session_staff_id", "console_session", ["staff_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_console_session_staff_id", table_name="console_session")
    op.drop_table("console_session")
