"""The console's statistics over a year: status events carry their lead's kind; indexes for the period's groups

Revision ID: 0008_console_figures
Revises: 0007_console_indexes
Create Date: 2026-11-29 08:45:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_console_figures"
down_revision = "0007_console_indexes"
branch_labels = None
depends_on = None

INDEXES = {
    "ix_lead_id_kind_branch": ("lead", ["id", "kind", "branch"]),
    "ix_lead_period_groups": ("lead", ["kind", "category", "branch", "received_on"]),
    "ix_lead_event_steps": ("lead_event", ["kind", "at", "lead_kind", "status", "lead_id"]),
}


def upgrade() -> None:
    op.add_column("lead_event", sa.Column("lead_kind", sa.String(length=16), nullable=True))
    # A lead's kind never changes after it is created, so the copy on its status events is final.
    op.execute(
        "UPDATE lead_event SET lead_kind = (SELECT lead.kind FROM lead WHERE lead.id = lead_event.lead_id) "
        "WHERE kind = 'status'"
    )
    op.drop_index("ix_lead_event_kind_at", table_name="lead_event")
    for name, (table, columns) in INDEXES.items():
        op.create_index(name, table, columns, unique=False)


def downgrade() -> None:
    for name, (table, _columns) in INDEXES.items():
        op.drop_index(name, table_name=table)
    op.create_index("ix_lead_event_kind_at", "lead_event", ["kind", "at", "lead_id", "status"], unique=False)
    with op.batch_alter_table("lead_event") as batch:
        batch.drop_column("lead_kind")
