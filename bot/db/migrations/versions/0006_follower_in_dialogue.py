"""Follower.in_dialogue: whether a dialogue_state row exists, returned by the webhook's follower upsert

Revision ID: 0006_follower_in_dialogue
Revises: 0005_sandbox_chat
Create Date: 2026-11-29 05:45:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_follower_in_dialogue"
down_revision = "0005_sandbox_chat"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("follower", schema=None) as batch_op:
        batch_op.add_column(sa.Column("in_dialogue", sa.Boolean(), server_default=sa.false(), nullable=False))
    # Dialogues open at the time of the upgrade.
    op.execute(
        "UPDATE follower SET in_dialogue = EXISTS "
        "(SELECT 1 FROM dialogue_state WHERE dialogue_state.openid = follower.openid)"
    )


def downgrade() -> None:
    with op.batch_alter_table("follower", schema=None) as batch_op:
        batch_op.drop_column("in_dialogue")
