"""The statistics' step counts: status events indexed by kind and status before time; every copy of the lead's kind

Revision ID: 0013_step_counts
Revises: 0012_lead_messages
Create Date: 2026-12-06 02:10:00.000000
"""

from alembic import op

revision = "0013_step_counts"
down_revision = "0012_lead_messages"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The step counts read the event's copy of its lead's kind only; one written without it (by a process older than
    # 0008) gets it here. A lead's kind never changes, so the copy is final.
    op.execute(
        "UPDATE lead_event SET lead_kind = (SELECT lead.kind FROM lead WHERE lead.id = lead_event.lead_id) "
        "WHERE kind = 'status' AND lead_kind IS NULL"
    )
    op.drop_index("ix_lead_event_steps", table_name="lead_event")
    op.create_index("ix_lead_event_step_counts", "lead_event", ["kind", "lead_kind", "status", "at", "lead_id"])


def downgrade() -> None:
    op.drop_index("ix_lead_event_step_counts", table_name="lead_event")
    op.create_index("ix_lead_event_steps", "lead_event", ["kind", "at", "lead_kind", "status", "lead_id"])
