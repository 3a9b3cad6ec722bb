"""The consumer's own words on a lead (facts, request) encrypted at rest like the name, phone and address

Revision ID: 0009_lead_words_encrypted
Revises: 0008_console_figures
Create Date: 2026-11-29 10:10:00.000000

No column changes: encrypted columns are stored as text. The upgrade encrypts the values still in the clear, in
batches, under the primary data key (bot/privacy.py); it can run again (a value already a token is left alone), and a
lead written in the clear by the old release while it runs is still read (LegacyEncryptedText) until `flask
rotate-keys` encrypts it. This release also writes every encrypted column as AES-GCM tokens, which releases before it
cannot read: the downgrade turns the words back into clear text and every AES-GCM token of every encrypted column
into a Fernet token, so that the previous release reads the database as it left it.
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_lead_words_encrypted"
down_revision = "0008_console_figures"
branch_labels = None
depends_on = None

BATCH = 1000
WORDS = ("facts", "request")
# Every encrypted column at this revision (table: columns); all these tables have an integer `id`.
ENCRYPTED = {
    "lead": ("name", "phone", "address", "facts", "request"),
    "follower": ("nickname",),
    "inbound_message": ("reply",),
    "outbox_item": ("payload",),
    "sandbox_message": ("payload",),
}


def _convert(table: str, columns: tuple[str, ...], change) -> None:
    """Apply `change` to every non-NULL value of `columns`, a batch of rows at a time; rows it leaves alone are not
    written."""
    conn = op.get_bind()
    listed = ", ".join(columns)
    assign = ", ".join(f"{c} = :{c}" for c in columns)
    last = 0
    while True:
        rows = conn.execute(
            sa.text(f"SELECT id, {listed} FROM {table} WHERE id > :last ORDER BY id LIMIT :n"),
            {"last": last, "n": BATCH},
        ).all()
        if not rows:
            return
        changed = []
        for row in rows:
            old = {c: getattr(row, c) for c in columns}
            new = {c: None if v is None else change(v) for c, v in old.items()}
            if new != old:
                changed.append({**new, "id": row.id})
        if changed:
            conn.execute(sa.text(f"UPDATE {table} SET {assign} WHERE id = :id"), changed)
        last = rows[-1].id


def upgrade() -> None:
    from bot import privacy

    _convert("lead", WORDS, lambda v: v if privacy.is_token(v) else privacy.encrypt(v))


def downgrade() -> None:
    from bot import privacy

    _convert("lead", WORDS, lambda v: privacy.decrypt(v) if privacy.is_token(v) else v)
    for table, columns in ENCRYPTED.items():
        remaining = tuple(c for c in columns if not (table == "lead" and c in WORDS))
        _convert(table, remaining, privacy.to_fernet)
