"""Personal data at rest: encrypted, masked, and re-encrypted under a new key by `flask rotate-keys`."""

from __future__ import annotations

import base64

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select, text

from bot import create_app, privacy
from bot.db import get_db
from bot.models import Lead
from bot.privacy import mask_phone, mask_text
from tests.conftest import TEST_DATA_KEY, make_config
from tests.console_support import add_lead


def test_personal_data_is_not_stored_in_the_clear(app):
    lead_id = add_lead(app, phone="13800138000", name="张三丰")
    with get_db(app).scope() as s:
        stored = s.execute(text("SELECT phone, name, facts, request FROM lead WHERE id = :i"), {"i": lead_id}).one()
        assert "13800138000" not in stored.phone and "张三丰" not in stored.name
        assert "牛奶" not in stored.facts and "退款" not in stored.request  # the consumer's own words too
        lead = s.get(Lead, lead_id)
        assert (lead.phone, lead.facts, lead.request) == (
            "13800138000",
            "买到过期牛奶，店员说可以退但一直没退。",
            "退款并赔偿",
        )


def test_rotate_keys_moves_every_row_to_the_new_key(db_url):
    old_app = create_app(make_config(db_url))
    lead_id = add_lead(old_app, phone="13800138000", name="张三丰")
    old_app.extensions["db"].engine.dispose()
    new_key = Fernet.generate_key().decode()
    app = create_app(make_config(db_url, app={"data_key": f"{new_key},{TEST_DATA_KEY}"}))
    result = app.test_cli_runner().invoke(args=["rotate-keys"])
    assert result.exit_code == 0 and "re-encrypted" in result.output
    app.extensions["db"].engine.dispose()
    only_new = create_app(make_config(db_url, app={"data_key": new_key}))  # the old key is gone
    with get_db(only_new).scope() as s:
        lead = s.execute(select(Lead).where(Lead.id == lead_id)).scalar_one()
        assert (lead.phone, lead.name) == ("13800138000", "张三丰")
    only_new.extensions["db"].engine.dispose()


def test_masking():
    assert mask_phone("13800138000") == "138****8000"
    assert mask_text("电话13800138000，备用 139 0013 9000") == "电话138****8000，备用 139****9000"


def test_values_are_aes_gcm_tokens_and_older_fernet_tokens_still_read():
    privacy.configure(TEST_DATA_KEY)
    token = privacy.encrypt("张三丰 13800138000")
    assert token.startswith("gcm1.") and "13800138000" not in token
    assert privacy.encrypt("张三丰 13800138000") != token  # a fresh nonce each time
    assert privacy.decrypt(token) == "张三丰 13800138000"
    legacy = Fernet(TEST_DATA_KEY.encode()).encrypt("李四".encode()).decode()  # as written before AES-GCM
    assert privacy.decrypt(legacy) == "李四"
    rotated = privacy.rotate(legacy)
    assert rotated.startswith("gcm1.") and privacy.decrypt(rotated) == "李四"


def test_a_tampered_or_foreign_token_is_refused_not_misread():
    privacy.configure(TEST_DATA_KEY)
    token = privacy.encrypt("13800138000")
    raw = bytearray(base64.urlsafe_b64decode(token[len("gcm1.") :]))
    raw[-1] ^= 1  # one bit of the tag
    for bad in ("gcm1." + base64.urlsafe_b64encode(bytes(raw)).decode(), "gcm1.!!!", "gcm1.", "not a token"):
        with pytest.raises(ValueError, match="cannot be decrypted"):
            privacy.decrypt(bad)
    privacy.configure(Fernet.generate_key().decode())  # another bureau's key: the key id is unknown
    try:
        with pytest.raises(ValueError, match="cannot be decrypted"):
            privacy.decrypt(token)
    finally:
        privacy.configure(TEST_DATA_KEY)


def test_upgrade_encrypts_the_words_of_leads_written_before(tmp_path):
    """Leads stored before migration 0009 kept facts and request in the clear: the upgrade encrypts them in place. A
    lead the old release writes in the clear while the upgrade runs is still read, and `rotate-keys` encrypts it. The
    downgrade gives the words back in the clear and every AES-GCM token as a Fernet token, which the previous
    release (Fernet only) reads."""
    from alembic import command

    from bot.db import Database
    from bot.db.migrate import alembic_config, head_revision

    url = f"sqlite:///{tmp_path / 'old.db'}"
    privacy.configure(TEST_DATA_KEY)
    db = Database(url)
    command.upgrade(alembic_config(db), "0008_console_figures")
    insert = text(
        "INSERT INTO lead (ticket, kind, status, category, business_name, facts, request, received_at,"
        " received_on, extra, updated_at) VALUES (:ticket, 'complaint', '新线索', '其他', '某店', :facts, '退款',"
        " '2026-05-06 01:00:00', '2026-05-06', '{}', '2026-05-06 01:00:00')"
    )
    with db.engine.begin() as conn:
        conn.execute(insert, {"ticket": "T-OLD", "facts": "店主电话13800138000不接"})
    command.upgrade(alembic_config(db), "head")
    with db.engine.connect() as conn:
        stored = conn.execute(text("SELECT facts, request FROM lead WHERE ticket = 'T-OLD'")).one()
    assert stored.facts.startswith("gcm1.") and "13800138000" not in stored.facts and stored.request != "退款"
    with db.engine.begin() as conn:  # the old release, still running, writes a lead in the clear
        conn.execute(insert, {"ticket": "T-LATE", "facts": "写在升级之后"})
    with db.sessions() as s:
        leads = {lead.ticket: lead for lead in s.execute(select(Lead)).scalars()}
        assert (leads["T-OLD"].facts, leads["T-OLD"].request) == ("店主电话13800138000不接", "退款")
        assert leads["T-LATE"].facts == "写在升级之后"
        day = leads["T-OLD"].received_on
        s.add(Lead(ticket="T-NEW", kind="complaint", received_on=day, facts="新版", phone="13900139000"))
        s.commit()
    app = create_app(make_config(url))
    assert app.test_cli_runner().invoke(args=["rotate-keys"]).exit_code == 0
    with db.engine.connect() as conn:
        late = conn.execute(text("SELECT facts FROM lead WHERE ticket = 'T-LATE'")).scalar_one()
    assert late.startswith("gcm1.") and privacy.decrypt(late) == "写在升级之后"
    back = app.test_cli_runner().invoke(args=["db", "downgrade", "0008_console_figures"])
    assert back.exit_code == 0 and f"schema at 0008_console_figures (was {head_revision(db)})" in back.output
    app.extensions["db"].engine.dispose()
    with db.engine.connect() as conn:
        rows = {r.ticket: r for r in conn.execute(text("SELECT ticket, facts, request, phone FROM lead"))}
    assert (rows["T-OLD"].facts, rows["T-OLD"].request) == ("店主电话13800138000不接", "退款")
    assert rows["T-NEW"].facts == "新版" and rows["T-NEW"].phone.startswith("gAAAAA")
    assert Fernet(TEST_DATA_KEY.encode()).decrypt(rows["T-NEW"].phone.encode()).decode() == "13900139000"
    db.engine.dispose()
