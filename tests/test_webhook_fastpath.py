"""A message without effect is answered before anything is written; its record follows, in batches.

What a consumer sees is the same reply; what the database holds is the same rows, a moment later. A message with an
effect (a dialogue's answer, a complaint) is still stored before it is answered.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy import text as sql

from bot.db import get_db
from bot.db.later import Later
from bot.models import DialogueState, Follower, InboundMessage, KeyValue
from bot.wechat.replies import phrase
from tests.leads_support import PROMPT
from tests.wechat_user import make_wechat, new_id, recorded, text_xml


@pytest.fixture(params=["plain", "safe"])
def wx(request, db_url):
    wechat = make_wechat(db_url, request.param)
    wechat.app.extensions["webhook"].inbox.later.interval = 30.0  # the records wait until the test writes them
    yield wechat
    get_db(wechat.app).engine.dispose()


def stored(app, openid: str) -> tuple[int, Follower | None]:
    with get_db(app).scope() as s:
        rows = s.scalar(select(func.count()).select_from(InboundMessage).where(InboundMessage.openid == openid))
        return rows, s.scalar(select(Follower).where(Follower.openid == openid))


def test_a_keyword_reply_is_answered_first_and_recorded_afterwards(wx):
    later = wx.app.extensions["webhook"].inbox.later
    reply = wx.post(text_xml("oFast", "12315", msg_id=new_id()))
    assert reply.content.startswith("消费者投诉举报热线")
    assert stored(wx.app, "oFast") == (0, None) and later.pending() == 1  # nothing written before the answer
    recorded(wx.app)
    rows, follower = stored(wx.app, "oFast")
    assert rows == 1 and follower is not None and follower.last_message_at is not None and not follower.in_dialogue


def test_a_retry_of_a_message_without_effect_gets_the_identical_reply(wx, clock):
    for text in ("12315", "双11", "今天天气怎么样", "进度"):  # a keyword, a news card, not found, a look-up
        xml = text_xml("oAgain", text, msg_id=new_id())
        first = wx.post(xml)
        clock.advance(timedelta(seconds=5))  # WeChat retries after 5 s without an answer
        assert wx.post(xml).reply == first.reply  # before its record is written: computed again, the same
        recorded(wx.app)
        assert wx.post(xml).reply == first.reply  # afterwards: the stored reply
    recorded(wx.app)
    assert stored(wx.app, "oAgain")[0] == 4


def test_one_batch_writes_every_record_its_nonce_and_each_sender_once(wx):
    later = wx.app.extensions["webhook"].inbox.later
    queries = [wx.query() for _ in range(6)]
    for n, query in enumerate(queries):  # three senders, two messages each, all in one batch
        wx.post(text_xml(f"oBatch{n % 3}", "12315", msg_id=new_id()), query)
    assert later.pending() == 6
    recorded(wx.app)
    for n in range(3):
        rows, follower = stored(wx.app, f"oBatch{n}")
        assert rows == 2 and follower is not None and follower.last_message_at is not None
    if not wx.aes_key:  # plain mode: the signature does not cover the body: the batch remembered each query's nonce
        replay = wx.post(text_xml("oBatch0", "投诉", msg_id=new_id()), queries[0])
        assert replay.status == 403 and stored(wx.app, "oBatch0")[0] == 2


def test_a_message_in_a_dialogue_is_stored_before_its_answer(wx):
    assert PROMPT["online"] in wx.text("oTalking", "投诉").content
    assert stored(wx.app, "oTalking")[0] == 1  # the complaint's start: durable, nothing queued
    reply = wx.text("oTalking", "12315")  # in the dialogue, the dialogue answers
    assert not reply.content.startswith("消费者投诉举报热线")
    assert stored(wx.app, "oTalking")[0] == 2 and wx.app.extensions["webhook"].inbox.later.pending() == 0


def test_a_keyword_reply_answers_while_the_writer_is_held_and_a_complaint_gets_the_busy_reply(db_url):
    wx = make_wechat(db_url, "safe")
    engine = get_db(wx.app).engine
    results: dict[str, tuple] = {}

    def send(name: str, text: str) -> None:
        started = time.monotonic()
        results[name] = (wx.text(f"o{name}", text), time.monotonic() - started)

    with engine.begin() as conn:  # another session's long transaction holds what every stored message writes
        if engine.dialect.name == "postgresql":  # reads go on; an insert waits for the request's lock_timeout
            conn.execute(sql("LOCK TABLE inbound_message IN EXCLUSIVE MODE"))
        else:  # SQLite's single writer
            conn.execute(Follower.__table__.update().values(nickname=None))
        for name, text in (("Keyword", "12315"), ("Complaint", "投诉")):
            worker = threading.Thread(target=send, args=(name, text))
            worker.start()
            worker.join(8)
    keyword, took = results["Keyword"]
    assert keyword.content.startswith("消费者投诉举报热线") and took < 1.0
    complaint, took = results["Complaint"]
    with wx.app.app_context():
        assert complaint.content == phrase(wx.app, "busy") and took < 4.5
    recorded(wx.app)
    with get_db(wx.app).scope() as s:
        assert s.get(DialogueState, "oComplaint") is None
        assert s.scalar(select(func.count()).select_from(InboundMessage)) == 1  # the keyword's record
    engine.dispose()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_writer_batches_and_falls_back_inline_when_full(db_url, app):
    db = get_db(app)
    batches: list[tuple[str, int]] = []

    def write(conn, items):
        batches.append((threading.current_thread().name, len(items)))
        conn.execute(KeyValue.__table__.insert(), [{"key": k, "value": "x"} for k in items])

    later = Later(db.transaction, write, interval=0.05, batch=200)
    for n in range(500):
        later.put(f"batched-{n}")
    deadline = time.monotonic() + 10
    while later.pending() and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.2)
    assert sum(n for _, n in batches) == 500 and len(batches) < 20 and max(n for _, n in batches) <= 200
    assert {name for name, _ in batches} == {"later-writes"}

    gate, entered = threading.Event(), threading.Event()

    def slow_database(work):
        if threading.current_thread().name == "later-writes":
            entered.set()
            gate.wait(10)  # the database is slow: the thread is stuck on its batch
        return db.transaction(work)

    full = Later(slow_database, write, interval=0.01, batch=2, limit=3)
    full.put("full-0")
    assert entered.wait(5)
    batches.clear()
    for n in range(1, 5):
        full.put(f"full-{n}")  # three wait in the queue; the fourth is written by its caller
    assert batches == [("MainThread", 1)] and full.pending() == 3
    gate.set()
    full.flush()
    with db.scope() as s:
        assert s.scalar(select(func.count()).select_from(KeyValue).where(KeyValue.key.like("full-%"))) == 5


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_stale_queue_is_written_inline(db_url, app):
    """The queue holds nothing older than max_age: past it, the caller writes, so a crash loses no more."""
    callers: list[str] = []
    later = Later(get_db(app).transaction, lambda conn, items: callers.append(threading.current_thread().name))
    later.max_age, later.interval = 0.05, 30.0
    later.put("first")
    time.sleep(0.1)
    later.put("second")
    assert callers == ["MainThread"] and later.pending() == 1
    later.flush()
