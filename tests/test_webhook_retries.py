"""Retries get the identical reply and no second effect; a failing handler gets an apology, not a 500."""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from bot import clock
from bot.models import Follower, InboundMessage, KeyValue
from bot.wechat.messages import TextReply
from bot.wechat.replies import phrase
from bot.wechat.router import get_router
from tests.browser import serve
from tests.wechat_user import WeChat, event_xml, make_wechat, new_id, recorded, text_xml


def count_effects(ctx, delay: float = 0.0) -> TextReply:
    """A test handler with a visible effect: it bumps a counter row (and may take its time)."""
    row = ctx.session.get(KeyValue, "effects")
    if row is None:
        row = KeyValue(key="effects", value="0")
        ctx.session.add(row)
    row.value = str(int(row.value) + 1)
    ctx.session.flush()
    time.sleep(delay)
    return TextReply(f"第{row.value}次处理 {new_id()}")


def install_counter(app, delay: float = 0.0) -> None:
    get_router(app).keyword("计数")(lambda ctx: count_effects(ctx, delay))


def effects(app) -> int:
    with app.extensions["db"].scope() as s:
        row = s.get(KeyValue, "effects")
        return int(row.value) if row else 0


def inbound_rows(app, openid: str) -> int:
    recorded(app)
    with app.extensions["db"].scope() as s:
        return s.scalar(select(func.count()).select_from(InboundMessage).where(InboundMessage.openid == openid))


@pytest.fixture(params=["plain", "safe"])
def wx(request, db_url):
    wechat = make_wechat(db_url, request.param)
    install_counter(wechat.app)
    yield wechat
    wechat.app.extensions["db"].engine.dispose()


def test_retried_message_gets_identical_reply_and_no_second_effect(wx):
    xml = text_xml("oRetry", "计数", msg_id=new_id())
    first = wx.post(xml)
    assert first.status == 200 and first.content.startswith("第1次处理")
    for _ in range(3):  # WeChat retries up to three times, each with a fresh nonce and signature
        again = wx.post(xml)
        assert again.status == 200 and again.reply == first.reply
        if wx.crypto is None:
            assert again.body == first.body
    assert effects(wx.app) == 1 and inbound_rows(wx.app, "oRetry") == 1


def test_same_msgid_from_another_user_is_a_new_message(wx):
    msg_id = new_id()
    a = wx.post(text_xml("oUserA", "计数", msg_id=msg_id))
    b = wx.post(text_xml("oUserB", "计数", msg_id=msg_id))
    assert a.content.startswith("第1次") and b.content.startswith("第2次")


def test_retried_events_get_identical_reply_and_no_second_effect(wx):
    created = clock.timestamp()
    first = wx.post(event_xml("oEventRetry", "subscribe", "qrscene_poster-1", created))
    again = wx.post(event_xml("oEventRetry", "subscribe", "qrscene_poster-1", created))
    assert first.reply["Content"] == phrase(wx.app, "welcome") and again.reply == first.reply
    get_router(wx.app).menu("COUNT_KEY")(count_effects)
    click = event_xml("oEventRetry", "CLICK", "COUNT_KEY", created + 5)
    c1, c2 = wx.post(click), wx.post(click)
    assert c1.reply == c2.reply and effects(wx.app) == 1
    assert inbound_rows(wx.app, "oEventRetry") == 2
    # The same second, another event of the same user: not a retry.
    other = wx.post(event_xml("oEventRetry", "VIEW", "http://x", created + 5))
    assert other.status == 200 and inbound_rows(wx.app, "oEventRetry") == 3


def test_same_nonce_and_same_message_is_a_duplicate_not_an_error(wx):
    q = wx.query()
    xml = text_xml("oDup", "计数")
    first, second = wx.post(xml, dict(q)), wx.post(xml, dict(q))
    assert second.status == 200 and second.reply == first.reply and effects(wx.app) == 1


def test_handler_that_raises_gets_apology_and_leaves_nothing(wx, caplog):
    def broken(ctx):
        ctx.session.add(KeyValue(key="half-done", value="x"))
        ctx.session.flush()
        raise RuntimeError("boom")

    get_router(wx.app).keyword("坏了")(broken)
    msg_id = new_id()
    with caplog.at_level(logging.ERROR, logger="bot.wechat"):
        result = wx.post(text_xml("oBroken13800138000", "坏了", msg_id=msg_id))
    assert result.status == 200 and result.content == phrase(wx.app, "apology")
    failures = [r for r in caplog.records if "handler failed" in r.getMessage()]
    assert failures and msg_id in failures[0].getMessage()
    assert "oBroken" not in failures[0].getMessage()
    recorded(wx.app)
    with wx.app.extensions["db"].scope() as s:
        assert s.get(KeyValue, "half-done") is None
        # The bookkeeping outside the handler stays: the follower's window is open.
        follower = s.scalar(select(Follower).where(Follower.openid == "oBroken13800138000"))
        assert follower is not None and follower.last_message_at is not None
    retry = wx.post(text_xml("oBroken13800138000", "坏了", msg_id=msg_id))
    assert retry.reply == result.reply
    assert wx.text("oBroken13800138000", "计数").content.startswith("第1次处理")


@pytest.mark.parametrize("same_nonce", [True, False], ids=["same-nonce", "fresh-nonce"])
def test_two_copies_at_once_get_one_effect_and_the_same_reply(db_url, same_nonce):
    wx = make_wechat(db_url, "safe")
    install_counter(wx.app, delay=0.3)  # the first copy is still working when the second arrives
    xml = text_xml("oRace", "计数")
    query = wx.query()
    with serve(wx.app) as url:
        remote = WeChat(url, wx.token, wx.app_id, wx.aes_key)
        barrier = threading.Barrier(2)

        def send(_):
            barrier.wait()
            return remote.post(xml, dict(query) if same_nonce else remote.query())

        with ThreadPoolExecutor(2) as pool:
            a, b = pool.map(send, range(2))
    assert (a.status, b.status) == (200, 200)
    assert a.reply == b.reply and a.content.startswith("第1次处理")
    assert effects(wx.app) == 1 and inbound_rows(wx.app, "oRace") == 1
    wx.app.extensions["db"].engine.dispose()


def test_a_retry_in_safe_mode_is_a_look_up_even_while_another_transaction_holds_the_writer(db_url):
    wx = make_wechat(db_url, "safe")
    install_counter(wx.app)
    xml = text_xml("oLookup", "计数", msg_id=new_id())
    first = wx.post(xml)
    engine = wx.app.extensions["db"].engine
    with engine.begin() as conn:  # a long transaction of another request (SQLite: the single writer's lock)
        conn.execute(Follower.__table__.update().values(nickname=None))
        outcome: list = []
        retry = threading.Thread(target=lambda: outcome.append(wx.post(xml)))
        retry.start()
        retry.join(5)
        assert not retry.is_alive()  # answered without waiting for the writer
    assert outcome[0].status == 200 and outcome[0].reply == first.reply
    assert effects(wx.app) == 1 and inbound_rows(wx.app, "oLookup") == 1
    engine.dispose()


def test_a_retry_in_plain_mode_still_records_its_nonce(db_url):
    wx = make_wechat(db_url, "plain")
    xml = text_xml("oPlain", "你好", msg_id=new_id())
    first = wx.post(xml)
    query = wx.query()
    assert wx.post(xml, query).reply == first.reply  # the retry, with a fresh nonce
    recorded(wx.app)
    # The same signed query with another body: the body is not signed in plain mode, the nonce is the only guard
    # against a message with an effect; one without effect could only be answered.
    assert wx.post(text_xml("oPlain", "另一条消息", msg_id=new_id()), query).status == 200
    forged = wx.post(text_xml("oPlain", "投诉", msg_id=new_id()), query)
    assert forged.status == 403
    wx.app.extensions["db"].engine.dispose()
