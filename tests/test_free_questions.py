"""Free questions through the webhook, on the shipped notices and lexicon: a question no keyword rule claims is
answered from the notices (key paragraph, link, related links), or honestly not found with the complaint route;
odd messages (empty, emoji, 5,000 characters, other languages) get a kind reply, never an error."""

from __future__ import annotations

import re

import pytest

import notices
from tests.wechat_user import make_wechat

LINK = re.compile(r'<a href="http://localhost/notices/([a-z0-9-]+)">')


@pytest.fixture(params=["plain", "safe"])
def wx(request, db_url):
    wechat = make_wechat(db_url, request.param)
    yield wechat
    wechat.app.extensions["db"].engine.dispose()


def returns_guide(app) -> notices.Notice:
    """The live notice on returns without a reason, found by its keyword (七天无理由, 7日无理由 ...), newest first."""
    store = notices.get_store(app)
    return next(n for n in store.all() if not n.expired and any("无理由" in k for k in n.keywords))


def test_a_free_question_gets_the_returns_guide(wx):
    guide = returns_guide(wx.app)
    result = wx.text("oFree", "网上买的衣服能退吗")
    assert result.status == 200 and result.reply["MsgType"] == "text"
    reply = result.content
    assert reply.startswith(f"这篇《{guide.title}》应该能回答您的问题")
    assert f'<a href="http://localhost/notices/{guide.slug}">点这里查看全文</a>' in reply
    summary, quoted = reply.splitlines()[1:3]  # the guide's summary, then its paragraph nearest the question
    assert summary == guide.summary and "七日内" in summary
    assert quoted.replace(" ", "")[:20] in guide.text.replace(" ", "")
    related = LINK.findall(reply.split("您可能还想看：", 1)[1]) if "您可能还想看：" in reply else []
    assert len(related) <= 2 and guide.slug not in related
    assert len(reply.encode()) <= 2048


def test_a_question_in_traditional_characters_gets_the_same_answer(wx):
    guide = returns_guide(wx.app)
    assert f"/notices/{guide.slug}" in wx.text("oFree", "網上買的衣服能退嗎？").content


def test_a_question_nothing_answers_gets_the_complaint_route(wx):
    reply = wx.text("oFree", "明天会下雨吗").content
    assert reply.startswith("抱歉，没有找到直接相关的内容")
    for route in ("“投诉”", "“举报”", "12315", 'href="http://localhost/notices/search?q='):
        assert route in reply


@pytest.mark.parametrize(
    ("text", "start"),
    [
        ("😀👍", "收到您的表情啦"),
        ("[微笑][强]", "收到您的表情啦"),
        ("   ", "您好！有什么消费方面的问题"),
        ("hello, can you help me?", "您好！本号目前只能用中文回答问题"),
    ],
)
def test_odd_messages_get_a_kind_reply(wx, text, start):
    result = wx.text("oOdd", text)
    assert result.status == 200 and result.content.startswith(start)


def test_a_five_thousand_character_message_gets_a_kind_reply(wx):
    story = ("那天我去店里，店员一直跟我聊天，说了很多家常话，" * 250)[:5000]
    result = wx.text("oLong", story)
    assert result.status == 200
    assert result.content.startswith("您的消息我们收到了，内容比较长")
    assert "“投诉”" in result.content and "12315" in result.content


def test_a_mixed_language_question_is_answered_from_its_chinese(wx):
    guide = returns_guide(wx.app)
    result = wx.text("oMixed", "网上买的T恤size不对，能退吗？")
    assert result.status == 200 and f"/notices/{guide.slug}" in result.content


def test_a_short_keyword_still_gets_its_news_card(wx):
    result = wx.text("oCard", "人脸识别")
    assert result.reply["MsgType"] == "news" and "个人信息" in result.reply["Title"]
