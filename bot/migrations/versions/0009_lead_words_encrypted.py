"""The consumer's own words on a lead (facts, request) encrypted at rest like the name, phone and address

Revision ID: 0009_lead_words_encrypted
Revises: 0008_console_figures
Create Date: 2026-11-29 10:10:00.000000

No column changes: EncryptedText is stored as text. Existing rows are encrypted in place, in batches, under the
primary data key (bot/privacy.py); the downgrade decrypts them back.
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_lead_words_encrypted"
down_revision = "0008_console_figures"
branch_labels = None
depends_on = None

BATCH = 1000
COLUMNS = ("facts", "request")


def _convert(change) -> None:
    conn = op.get_bind()
    last = 0
    while True:
        rows = conn.execute(
            sa.text("SELECT id, facts, request FROM lead WHERE id > :last ORDER BY id LIMIT :n"),
            {"last": last, "n": BATCH},
        ).all()
        if not rows:
            return
        changed = [{**{name: change(getattr(row, name)) for name in COLUMNS}, "id": row.id} for row in rows]
        conn.execute(sa.text("UPDATE lead SET facts = :facts, request = :request WHERE id = :id"), changed)
        last = rows[-1].id


def upgrade() -> None:
    from bot import privacy

    _convert(lambda value: None if value is None else privacy.encrypt(value))


def downgrade() -> None:
    from bot import privacy

    _convert(lambda value: None if value is None else privacy.decrypt(value))
