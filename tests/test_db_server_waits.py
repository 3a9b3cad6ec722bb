"""PostgreSQL's waits are bounded for request work: a table or row lock held by another session ends a message's
wait with the busy reply inside WeChat's 5 s and /healthz says 503 JSON within 2 s; jobs and migrations keep their
unbounded waits (bot/db/engines.py)."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import create_engine, func, select, text

from bot.db import get_db, read_session, session
from bot.db.migrate import alembic_config, revisions, upgrade
from bot.models import InboundMessage
from bot.wechat.replies import phrase
from tests.wechat_user import AES_KEY, APP_ID, TOKEN, WeChat, make_wechat, recorded

PG = pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)


class Holder:
    """Another session on the same database, in a transaction holding what `statement` locks until released."""

    def __init__(self, db_url: str, statement: str) -> None:
        self.engine = create_engine(db_url)
        self.conn = self.engine.connect()
        self.conn.execute(text(statement))

    def release(self) -> None:
        self.conn.rollback()
        self.conn.close()
        self.engine.dispose()


def _stored(app, openid: str) -> int:
    with get_db(app).scope() as s:
        return s.scalar(select(func.count()).select_from(InboundMessage).where(InboundMessage.openid == openid))


@pytest.mark.wall_clock
@PG
@pytest.mark.parametrize(
    "lock",
    [
        "LOCK TABLE inbound_message IN ACCESS EXCLUSIVE MODE",
        "SELECT * FROM follower WHERE openid = 'oHeld' FOR UPDATE",  # a row lock on this consumer's follower row
    ],
)
def test_a_lock_held_by_another_session_gets_the_busy_reply_in_time(db_url, lock):
    wx = make_wechat(db_url, "safe")
    assert "消费者投诉举报热线" in wx.text("oHeld", "12315").content
    recorded(wx.app)  # the follower row exists now
    holder = Holder(db_url, lock)
    try:
        if "FOR UPDATE" in lock:  # a keyword reply writes nothing before its answer (it reads the row, unlocked)
            started = time.monotonic()
            assert "消费者投诉举报热线" in wx.text("oHeld", "12315").content
            assert time.monotonic() - started < 1.0
        started = time.monotonic()
        answer = wx.text("oHeld", "投诉")
        took = time.monotonic() - started
        assert answer.status == 200 and took < 4.5
        with wx.app.app_context():
            assert answer.content == phrase(wx.app, "busy")
        if "ACCESS EXCLUSIVE" in lock:  # the tables every message writes cannot be written: not healthy
            started = time.monotonic()
            health = wx.app.test_client().get("/healthz")
            assert health.status_code == 503 and time.monotonic() - started < 2.0
            assert health.json["database"] == "locked"
    finally:
        holder.release()
    recorded(wx.app)
    # The keyword replies only: nothing of the refused complaint was kept.
    assert _stored(wx.app, "oHeld") == (2 if "FOR UPDATE" in lock else 1)
    assert "消费者投诉举报热线" in wx.text("oHeld", "12315").content
    assert wx.app.test_client().get("/healthz").status_code == 200


@PG
def test_the_short_timeouts_are_the_requests_only(db_url):
    """Request sessions (writing and reading) carry lock and statement timeouts; jobs and commands do not."""
    wx = make_wechat(db_url, "plain")
    db = get_db(wx.app)
    names = "SELECT current_setting('lock_timeout'), current_setting('statement_timeout')"
    with wx.app.test_request_context():
        assert session().execute(text(names)).one() == ("3s", "4s")
        assert read_session().execute(text(names)).one() == ("3s", "4s")
        assert read_session().execute(text("SHOW transaction_read_only")).scalar() == "on"
    with db.scope() as s:
        assert s.execute(text(names)).one() == ("0", "0")


@pytest.mark.wall_clock
@PG
def test_a_migration_under_load_waits_past_the_request_bounds_and_completes(db_url):
    """A migration waits for a lock held longer than a request may wait (4 s > lock_timeout) while messages keep
    coming, and completes; every message meanwhile is answered in time."""
    wx = make_wechat(db_url, "safe")
    db = get_db(wx.app)
    from alembic import command

    command.downgrade(alembic_config(db), "0009_lead_words_encrypted")  # the next upgrade creates a table
    holder = Holder(db_url, "LOCK TABLE staff_user IN ROW EXCLUSIVE MODE")  # the new table's foreign key waits
    threading.Timer(4.0, holder.release).start()
    answers: list[tuple[int, float]] = []
    done = threading.Event()

    def load() -> None:
        sender = WeChat(wx.app.test_client(), TOKEN, APP_ID, AES_KEY)
        while not done.is_set():
            started = time.monotonic()
            answer = sender.text(f"oLoad{len(answers) % 5}", "12315")
            answers.append((answer.status, time.monotonic() - started))

    worker = threading.Thread(target=load)
    worker.start()
    try:
        started = time.monotonic()
        upgrade(db)
        took = time.monotonic() - started
    finally:
        done.set()
        worker.join(timeout=30)
    current, head = revisions(db)
    assert current == head and took >= 3.5  # brought to the code's head, after waiting past the request bounds
    assert answers and all(status == 200 and seconds < 4.5 for status, seconds in answers)
