"""Follower bookkeeping: follow with a QR scene, unfollow deletes profile data but keeps leads, the 48-hour window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot import clock
from bot.db import utcnow
from bot.models import DialogueState, Follower, Lead
from bot.wechat.replies import phrase
from tests.wechat_user import make_wechat, recorded


@pytest.fixture(params=["plain", "safe"])
def wx(request, db_url):
    wechat = make_wechat(db_url, request.param)
    yield wechat
    wechat.app.extensions["db"].engine.dispose()


def aware(value: datetime) -> datetime:
    """SQLite hands back naive UTC datetimes; PostgreSQL aware ones."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def follower(app, openid: str) -> Follower | None:
    recorded(app)
    with app.extensions["db"].scope() as s:
        return s.scalar(select(Follower).where(Follower.openid == openid))


def test_subscribe_welcomes_and_keeps_the_qr_scene(wx):
    result = wx.event("oFan", "subscribe", "qrscene_market-poster")
    assert result.reply["Content"] == phrase(wx.app, "welcome")
    assert "{site}" not in result.reply["Content"] and "http://localhost/notices/" in result.reply["Content"]
    row = follower(wx.app, "oFan")
    assert row.subscribed and row.scene == "market-poster" and row.subscribed_at is not None


def test_unsubscribe_deletes_profile_keeps_leads_and_resubscribe_reactivates(wx):
    wx.event("oLeaver", "subscribe", "qrscene_42")
    with wx.app.extensions["db"].scope() as s:
        row = s.scalar(select(Follower).where(Follower.openid == "oLeaver"))
        row.nickname, row.tags, row.topics = "小王", ["消费者"], ["双11", "预付卡"]
        s.add(DialogueState(openid="oLeaver", flow="complaint", step="phone", data='{"phone": "13800138000"}'))
        s.add(
            Lead(ticket="T-1", kind="complaint", openid="oLeaver", received_on=clock.today("Asia/Shanghai"), facts="x")
        )
    assert wx.event("oLeaver", "unsubscribe").body == "success"
    row = follower(wx.app, "oLeaver")
    assert not row.subscribed and row.unsubscribed_at is not None
    assert row.nickname is None and row.tags == [] and row.topics == []
    with wx.app.extensions["db"].scope() as s:
        assert s.get(DialogueState, "oLeaver") is None
        lead = s.scalar(select(Lead).where(Lead.ticket == "T-1"))
        assert lead is not None and lead.openid == "oLeaver"
    # Following again (without a QR code) reactivates the same row and keeps the scene it came from.
    again = wx.event("oLeaver", "subscribe", create_time=clock.timestamp() + 1)
    assert again.reply["Content"] == phrase(wx.app, "welcome")
    row = follower(wx.app, "oLeaver")
    assert row.subscribed and row.unsubscribed_at is None and row.scene == "42"


def test_every_message_moves_the_service_window(wx):
    before = utcnow() - timedelta(seconds=1)
    wx.text("oTalker", "你好")
    first = aware(follower(wx.app, "oTalker").last_message_at)
    assert first >= before
    wx.event("oTalker", "CLICK", "ALERTS")
    assert aware(follower(wx.app, "oTalker").last_message_at) >= first
    # Events the user did not make (a send-job report) or that open nothing (VIEW) do not count.
    with wx.app.extensions["db"].scope() as s:
        s.execute(Follower.__table__.update().values(last_message_at=before - timedelta(days=3)))
    wx.event("oTalker", "VIEW", "http://localhost/notices/")
    wx.event("oTalker", "TEMPLATESENDJOBFINISH")
    assert aware(follower(wx.app, "oTalker").last_message_at) < before


def test_scan_by_a_follower_is_welcomed_back(wx):
    wx.event("oScanner", "subscribe")
    result = wx.event("oScanner", "SCAN", "123123", create_time=clock.timestamp() + 1)
    assert result.reply["Content"] == phrase(wx.app, "welcome_back")
