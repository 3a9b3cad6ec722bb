"""A lead is a conversation: after a staff reply the consumer's answer reaches the lead's timeline; 补充 <编号>."""

from __future__ import annotations

import re

from sqlalchemy import select

from bot.db import get_db
from bot.models import DialogueState, Evidence, Lead, LeadMessage
from tests.console_support import Staff, add_staff
from tests.leads_support import OFFLINE_COMPLAINT, text
from tests.timekeeping import at
from tests.wechat_user import make_wechat, sample


def _file(wx, openid: str) -> tuple[str, int]:
    for answer, _step in OFFLINE_COMPLAINT:
        wx.text(openid, answer)
    ticket = re.search(r"编号 (\d{8}-\d{4})", wx.text(openid, "确认").content).group(1)
    with get_db(wx.app).scope() as s:
        return ticket, s.scalar(select(Lead.id).where(Lead.ticket == ticket))


def _messages(app, lead_id: int) -> list[LeadMessage]:
    with get_db(app).scope() as s:
        rows = s.scalars(select(LeadMessage).where(LeadMessage.lead_id == lead_id).order_by(LeadMessage.id)).all()
        s.expunge_all()
        return rows


def test_the_consumers_answer_to_a_staff_reply_reaches_the_lead(db_url):
    wx = make_wechat(db_url, "plain")
    app, openid = wx.app, "o-conversation-0001"
    ticket, lead_id = _file(wx, openid)
    add_staff(app, "xl", "handler", "xiaolan")
    staff = Staff(app, "xl")
    url = f"/console/leads/{lead_id}"
    assert staff.post(f"{url}/reply", data={"text": "请提供购物小票的照片。"}).status_code == 303

    answer = wx.text(openid, "小票找不到了，但是有微信支付记录").content
    assert answer == text("conversation.forwarded", ticket=ticket)
    photo = wx.post(sample("image.xml", openid)).content
    assert photo == text("conversation.photo_forwarded", ticket=ticket)
    said = _messages(app, lead_id)
    assert [m.text for m in said] == ["小票找不到了，但是有微信支付记录", None]
    with get_db(app).scope() as s:
        ev = s.get(Evidence, said[1].evidence_id)
        assert ev.lead_id == lead_id and ev.state == "pending"  # the outbox downloads it

    queue = staff.get("/console/queue").get_data(as_text=True)
    assert "新留言 2" in queue
    page = staff.get(url).get_data(as_text=True)
    assert "消费者留言" in page and "小票找不到了，但是有微信支付记录" in page and "查看照片" in page
    assert "新留言" not in staff.get("/console/queue").get_data(as_text=True)  # read once shown
    assert all(m.read_at is not None for m in _messages(app, lead_id))

    # A command is still a command: 进度 answers with the progress, nothing is forwarded.
    assert ticket in wx.text(openid, "进度").content
    assert len(_messages(app, lead_id)) == 2
    # 结束 stops forwarding; the next free message is the bot's again.
    assert wx.text(openid, "结束").content == text("conversation.ended", ticket=ticket)
    wx.text(openid, "谢谢")
    assert len(_messages(app, lead_id)) == 2
    app.extensions["db"].engine.dispose()


def test_with_two_open_leads_the_consumer_is_asked_which(db_url):
    wx = make_wechat(db_url, "plain")
    app, openid = wx.app, "o-conversation-0002"
    first, first_id = _file(wx, openid)
    second, second_id = _file(wx, openid)
    add_staff(app, "xl", "handler", "xiaolan")
    staff = Staff(app, "xl")
    for lead_id in (first_id, second_id):
        staff.post(f"/console/leads/{lead_id}/reply", data={"text": "请问商家是否已联系您？"})

    question = wx.text(openid, "还没有联系我").content
    assert question.startswith(text("conversation.choose", n=2)) and first in question and second in question
    assert _messages(app, first_id) == [] and _messages(app, second_id) == []
    assert wx.text(openid, first).content == text("conversation.forwarded", ticket=first)
    assert [m.text for m in _messages(app, first_id)] == ["还没有联系我"]
    # The choice holds for what follows.
    wx.text(openid, "商家电话打不通")
    assert [m.text for m in _messages(app, first_id)] == ["还没有联系我", "商家电话打不通"]
    assert _messages(app, second_id) == []
    app.extensions["db"].engine.dispose()


def test_supplement_with_a_ticket_and_to_a_closed_lead(db_url):
    wx = make_wechat(db_url, "plain")
    app, openid = wx.app, "o-conversation-0003"
    ticket, lead_id = _file(wx, openid)

    answer = wx.text(openid, f"补充 {ticket} 商家今天又把价格改回去了").content
    assert answer == text("conversation.forwarded", ticket=ticket)
    assert [m.text for m in _messages(app, lead_id)] == ["商家今天又把价格改回去了"]
    assert wx.text(openid, "补充").content == text("conversation.ask_content", ticket=ticket)
    assert wx.text(openid, "补充 20990101-0001 内容").content == text("progress.not_found", ticket="20990101-0001")

    add_staff(app, "xl", "handler", "xiaolan")
    Staff(app, "xl").post(f"/console/leads/{lead_id}/status", data={"to": "不予受理", "ground": "16-1"})
    with get_db(app).scope() as s:
        status = s.get(Lead, lead_id).status
    assert status == "不予受理"
    closed = wx.text(openid, f"补充 {ticket} 还有一张照片").content
    assert f"编号 {ticket}" in closed and "已经办结" in closed and "投诉" in closed
    assert len(_messages(app, lead_id)) == 1
    # The conversation about a lead that closed since ends with a clear answer.
    later = wx.text(openid, "那我该怎么办").content
    assert "已经办结" in later
    with get_db(app).scope() as s:
        assert s.get(DialogueState, openid) is None
    app.extensions["db"].engine.dispose()


def test_the_conversation_ends_after_its_days_and_a_new_complaint_replaces_it(db_url, clock):
    wx = make_wechat(db_url, "plain")
    app, openid = wx.app, "o-conversation-0004"
    _ticket, lead_id = _file(wx, openid)
    add_staff(app, "xl", "handler", "xiaolan")
    Staff(app, "xl").post(f"/console/leads/{lead_id}/reply", data={"text": "已联系商家。"})
    assert "投诉" in wx.text(openid, "投诉").content  # a command: the complaint dialogue starts over the conversation
    with get_db(app).scope() as s:
        assert s.get(DialogueState, openid).flow == "lead"
    wx.text(openid, "取消")

    Staff(app, "xl").post(f"/console/leads/{lead_id}/reply", data={"text": "商家同意退款。"})
    at(2026, 12, 8, 10, 0)  # eight days later: past [leads] conversation_days
    wx.text(openid, "好的谢谢")
    assert _messages(app, lead_id) == []
    app.extensions["db"].engine.dispose()
