"""Indexes for the console's statistics over a year: the lead's kind and branch by id, the period's groups

Revision ID: 0008_console_figures
Revises: 0007_console_indexes
Create Date: 2026-11-29 08:45:00.000000
"""

from alembic import op

revision = "0008_console_figures"
down_revision = "0007_console_indexes"
branch_labels = None
depends_on = None

INDEXES = {
    "ix_lead_id_kind_branch": ("lead", ["id", "kind", "branch"]),
    "ix_lead_period_groups": ("lead", ["kind", "category", "branch", "received_on"]),
}


def upgrade() -> None:
    for name, (table, columns) in INDEXES.items():
        op.create_index(name, table, columns, unique=False)


def downgrade() -> None:
    for name, (table, _columns) in INDEXES.items():
        op.drop_index(name, table_name=table)
