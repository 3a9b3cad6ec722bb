"""The whole journey through real parts: a consumer complains in WeChat (safe mode), staff work the lead in the
console, and each decision's notice and the reply reach the consumer, with the ticket, through the outbox and the
platform's API (the stand-in)."""

from __future__ import annotations

import re

from sqlalchemy import select

from bot.db import get_db
from bot.models import AuditEntry, Lead, LeadEvent
from bot.outbox import run_due
from tests.console_support import Staff, add_staff
from tests.leads_support import OFFLINE_COMPLAINT
from tests.wechat_user import make_wechat


def test_complaint_to_reply_in_the_chat(db_url, standin):
    wx = make_wechat(db_url, "safe", wechat={"api_base_url": standin.url, "timeout": 2.0})
    app, openid = wx.app, "o-journey-consumer-0001"
    standin.user(openid)  # the platform knows the consumer, who has just written (48-hour window open)

    for answer, _step in OFFLINE_COMPLAINT:
        wx.text(openid, answer)
    done = wx.text(openid, "确认").content
    ticket = re.search(r"编号 (\d{8}-\d{4})", done).group(1)
    with get_db(app).scope() as s:
        lead = s.scalar(select(Lead).where(Lead.ticket == ticket))
        lead_id, branch = lead.id, lead.branch
    assert branch == "xiaolan"  # 小榄镇 in the business address

    add_staff(app, "xiaolan-handler", "handler", "xiaolan")
    staff = Staff(app, "xiaolan-handler")
    queue = staff.get("/console/queue").get_data(as_text=True)
    assert ticket in queue and "13800138000" not in queue
    url = f"/console/leads/{lead_id}"
    for to in ("已受理", "调解中"):
        assert staff.post(f"{url}/status", data={"to": to}).status_code == 303
    reply = "您好，您的投诉已受理，我们已联系商家，将在三个工作日内组织调解。"
    assert staff.post(f"{url}/reply", data={"text": reply}).status_code == 303
    staff.post(f"{url}/status", data={"to": "已办结", "outcome": "商家退款25元并道歉，消费者满意。"})

    assert run_due(app) >= 1  # the scheduler's outbox job
    sent = [c.body["text"]["content"] for c in standin.calls("message/custom/send") if c.body["touser"] == openid]
    assert [text.splitlines()[0] for text in sent] == [
        f"【投诉编号 {ticket}】投诉受理告知",
        f"【投诉编号 {ticket}】办理人员答复",
        f"【投诉编号 {ticket}】调解结果告知",
    ]
    assert sent[1].splitlines()[1] == reply and "商家退款25元并道歉" in sent[2]
    assert all('<a href="http://localhost/my/' in text for text in sent)
    with get_db(app).scope() as s:
        lead = s.get(Lead, lead_id)
        kinds = [e.kind for e in s.scalars(select(LeadEvent).where(LeadEvent.lead_id == lead_id))]
        audited = {a.action for a in s.scalars(select(AuditEntry).where(AuditEntry.lead_id == lead_id))}
    assert lead.status == "已办结" and kinds.count("notice_delivered") == 3
    assert lead.next_due is None  # every notice delivered: nothing left in the queue
    assert {"status_change", "reply"} <= audited
    page = staff.get(url).get_data(as_text=True)
    history = page[page.index('id="timeline"') :]
    assert "告知已送达" in page and history.count(reply) == 1  # the delivery does not print the reply a second time
    assert run_due(app) == 0  # nothing is sent twice
    assert len([c for c in standin.calls("message/custom/send") if c.body["touser"] == openid]) == 3
    progress = wx.text(openid, f"进度 {ticket}").content
    assert "已办结" in progress and '<a href="http://localhost/my/' in progress
    app.extensions["db"].engine.dispose()
