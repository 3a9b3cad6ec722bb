"""Indexes for the console at 100,000 leads: the queue in deadline order, the statistics' period scans

Revision ID: 0007_console_indexes
Revises: 0006_follower_in_dialogue
Create Date: 2026-11-29 07:55:00.000000
"""

from alembic import op

revision = "0007_console_indexes"
down_revision = "0006_follower_in_dialogue"
branch_labels = None
depends_on = None

INDEXES = {
    "ix_lead_queue": ("lead", ["next_due", "id", "status", "branch"]),
    "ix_lead_received": ("lead", ["received_on", "kind", "category", "branch"]),
    "ix_lead_closed": ("lead", ["closed_on", "status", "category", "branch"]),
    "ix_lead_accepted": ("lead", ["accepted_on", "received_on", "branch"]),
    "ix_lead_event_kind_at": ("lead_event", ["kind", "at", "lead_id", "status"]),
}


def upgrade() -> None:
    for name, (table, columns) in INDEXES.items():
        op.create_index(name, table, columns, unique=False)


def downgrade() -> None:
    for name, (table, _columns) in INDEXES.items():
        op.drop_index(name, table_name=table)
