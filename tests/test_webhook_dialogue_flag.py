"""The follower's in_dialogue flag: the webhook's follower upsert returns it, so a message outside a dialogue needs
no dialogue look-up; it must follow every way a dialogue starts and ends, whichever process or code path did it."""

from __future__ import annotations

from sqlalchemy import select

from bot.db import get_db
from bot.models import DialogueState, Follower
from tests.leads_support import PROMPT, Chat, text
from tests.wechat_user import event_xml, make_wechat, recorded


def flag(app, openid: str) -> bool | None:
    recorded(app)
    with get_db(app).scope() as s:
        return s.execute(select(Follower.in_dialogue).where(Follower.openid == openid)).scalar_one_or_none()


def test_the_flag_follows_start_cancel_and_submit_through_the_webhook(db_url):
    wx = make_wechat(db_url, "safe")
    openid = "o-flag-1"
    assert "12315" in wx.text(openid, "12315").content  # a keyword reply: the follower exists, not in a dialogue
    assert flag(wx.app, openid) is False
    assert PROMPT["online"] in wx.text(openid, "投诉").content
    assert flag(wx.app, openid) is True
    assert PROMPT["business"] in wx.text(openid, "2").content  # the next message is the dialogue's
    assert wx.text(openid, "取消").content == text("control.cancelled")
    assert flag(wx.app, openid) is False
    assert "12315" in wx.text(openid, "12315").content  # and afterwards keywords work again
    wx.app.extensions["db"].engine.dispose()


def test_unsubscribing_clears_the_flag(db_url):
    wx = make_wechat(db_url, "plain")
    openid = "o-flag-2"
    wx.text(openid, "投诉")
    assert flag(wx.app, openid) is True
    wx.post(event_xml(openid, "unsubscribe"))
    assert flag(wx.app, openid) is False
    with get_db(wx.app).scope() as s:
        assert s.get(DialogueState, openid) is None
    wx.app.extensions["db"].engine.dispose()


def test_a_dialogue_opened_elsewhere_is_seen_by_the_next_webhook_message(db_url):
    """Another instance (here: the router called directly, with no follower row yet) opened the dialogue."""
    wx = make_wechat(db_url, "plain")
    openid = "o-flag-3"
    chat = Chat(wx.app, openid)
    assert PROMPT["online"] in chat.send("投诉")
    assert flag(wx.app, openid) is None  # no follower row: nothing to flag yet
    # The webhook's first message creates the follower, which learns of the open dialogue from dialogue_state.
    assert PROMPT["business"] in wx.text(openid, "2").content
    assert flag(wx.app, openid) is True
    wx.app.extensions["db"].engine.dispose()


def test_a_second_app_on_the_same_database_sees_the_first_ones_dialogue(db_url):
    first, second = make_wechat(db_url, "plain"), make_wechat(db_url, "plain")
    openid = "o-flag-4"
    assert PROMPT["online"] in first.text(openid, "投诉").content
    assert PROMPT["business"] in second.text(openid, "2").content
    assert first.text(openid, "取消").content == text("control.cancelled")
    assert "12315" in second.text(openid, "12315").content
    for wx in (first, second):
        wx.app.extensions["db"].engine.dispose()
