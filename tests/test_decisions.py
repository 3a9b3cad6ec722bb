"""Every decision is a notice, sent and tracked: queued with the status change, delivered to the chat through the
platform (the stand-in) with the ticket, a template message with a link after 48 hours, and a deadline in the queue
until each party has heard of it (Order 121 Art 15, 16, 23, 25; 消费者权益保护法 Art 39)."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from bot import outbox
from bot.db import get_db
from bot.leads.notices import decide
from bot.leads.workflow import Decision
from bot.models import Lead, LeadEvent, OutboxItem
from tests.console_support import Staff, add_lead, add_staff
from tests.decisions_support import (
    TEMPLATE,
    drain,
    file_complaint,
    handler,
    lead,
    notice_app,
    notices,
    path_of,
    received,
    texts,
)
from tests.timekeeping import at

ART39_ROUTES = (
    "与经营者协商和解",
    "请求消费者协会或者依法成立的其他调解组织调解",
    "向有关行政部门投诉",
    "根据与经营者达成的仲裁协议提请仲裁机构仲裁",
    "向人民法院提起诉讼",
)


def _items(app, lead_id):
    with get_db(app).scope() as s:
        return list(s.scalars(select(OutboxItem).where(OutboxItem.lead_id == lead_id)))


def test_the_status_change_and_its_notice_are_one_transaction(app, monkeypatch):
    lead_id = add_lead(app)
    with get_db(app).scope() as s:
        decide(s, app, s.get(Lead, lead_id), "已受理", today=date(2026, 5, 7))
    [notice] = notices(app, lead_id)
    [item] = _items(app, lead_id)
    assert (notice.kind, notice.party, notice.state) == ("accepted", "consumer", "queued")
    accept_due = lead(app, lead_id).accept_due  # Art 15 ¶1: decided and told within 7 working days of receipt
    assert notice.due == accept_due == date(2026, 5, 14)  # 05-09, a 调休 Saturday, is a working day
    assert item.kind == "lead_notice" and json.loads(item.payload) == {"notice_id": notice.id}
    assert lead(app, lead_id).next_due == accept_due  # the Art 15 notice is owed before mediation's 60 days

    other = add_lead(app)

    def unreachable(*args, **kwargs):
        raise RuntimeError("the outbox could not be written")

    monkeypatch.setattr(outbox, "enqueue", unreachable)
    with pytest.raises(RuntimeError), get_db(app).scope() as s:
        decide(s, app, s.get(Lead, other), "不予受理", Decision(ground="16-3"), today=date(2026, 5, 7))
    assert lead(app, other).status == "新线索" and notices(app, other) == [] and _items(app, other) == []
    with get_db(app).scope() as s:
        assert s.scalars(select(LeadEvent).where(LeadEvent.lead_id == other)).all() == []


def test_a_lead_without_a_wechat_user_is_told_offline(app):
    add_staff(app, "h", "handler", "shiqi")
    lead_id = add_lead(app, openid=None)
    staff = Staff(app, "h")
    staff.post(f"/console/leads/{lead_id}/status", data={"to": "已受理"})
    [notice] = notices(app, lead_id)
    assert notice.state == "offline" and notice.outbox_id is None and _items(app, lead_id) == []
    page = staff.get(f"/console/leads/{lead_id}").get_data(as_text=True)
    assert "此线索没有对应的微信用户" in page and 'id="offline-banner"' in page


def test_a_notice_of_another_lead_cannot_be_recorded_through_this_one(app):
    add_staff(app, "h", "handler", "shiqi")
    mine, theirs = add_lead(app, openid=None), add_lead(app, openid=None, branch="dongqu")
    with get_db(app).scope() as s:
        decide(s, app, s.get(Lead, theirs), "已受理", today=date(2026, 5, 7))
    [notice] = notices(app, theirs)
    form = {"method": "电话", "on": "2026-11-30", "by": "李办理"}
    staff = Staff(app, "h")
    answer = staff.post(f"/console/leads/{mine}/notices/{notice.id}/offline", data=form, follow_redirects=True)
    assert "找不到这份告知" in answer.get_data(as_text=True)
    assert staff.post(f"/console/leads/{theirs}/notices/{notice.id}/offline", data=form).status_code == 404
    assert notices(app, theirs)[0].state == "offline"


def test_a_refused_move_in_the_console_writes_no_notice(app):
    add_staff(app, "h", "handler", "shiqi")
    lead_id = add_lead(app)
    staff = Staff(app, "h")
    page = staff.post(f"/console/leads/{lead_id}/status", data={"to": "不予受理"}, follow_redirects=True)
    assert "须选择《办法》第十六条规定的一项理由" in page.get_data(as_text=True)
    assert lead(app, lead_id).status == "新线索" and notices(app, lead_id) == []


def test_acceptance_reaches_the_chat_with_the_ticket(db_url, standin):
    wx = notice_app(db_url, standin)
    lead_id, ticket = file_complaint(wx, standin)
    staff = handler(wx.app)
    staff.post(f"/console/leads/{lead_id}/status", data={"to": "已受理"})
    drain(wx.app)
    [text] = texts(standin)
    first, *body = text.splitlines()
    assert first == f"【投诉编号 {ticket}】投诉受理告知"
    assert "您于2026年11月30日提交的投诉（被投诉人：好再来快餐店）已于2026年11月30日决定受理" in body[0]
    assert "在您和被投诉人都同意的前提下" in text and body[-1].startswith('<a href="http://localhost/my/')
    [notice] = notices(wx.app, lead_id)
    assert (notice.state, notice.channel) == ("sent", "custom")
    found = lead(wx.app, lead_id)
    assert found.next_due == found.mediation_due  # delivered: the acceptance deadline is met
    page = staff.get(f"/console/leads/{lead_id}").get_data(as_text=True)
    assert "已送达（客服消息" in page and "告知已送达" in page
    wx.app.extensions["db"].engine.dispose()


def test_a_refusal_gives_the_ground_and_the_other_routes(db_url, standin):
    wx = notice_app(db_url, standin)
    lead_id, ticket = file_complaint(wx, standin)
    note = "如能提供购物小票，可以补充后重新投诉。"
    handler(wx.app).post(f"/console/leads/{lead_id}/status", data={"to": "不予受理", "ground": "16-3", "note": note})
    drain(wx.app)
    [text] = texts(standin)
    assert text.startswith(f"【投诉编号 {ticket}】不予受理告知\n")
    assert "我局于2026年11月30日决定不予受理" in text
    assert "理由：现有材料不能表明您是为生活消费购买、使用商品或者接受服务的" in text
    assert "《中华人民共和国消费者权益保护法》第三十九条" in text and all(route in text for route in ART39_ROUTES)
    assert f"补充说明：{note}" in text and "可以拨打 12315 热线咨询" in text
    assert lead(wx.app, lead_id).next_due is None  # closed, and the consumer has been told
    wx.app.extensions["db"].engine.dispose()


def test_after_48_hours_a_template_message_opens_the_whole_notice(db_url, standin):
    wx = notice_app(db_url, standin)
    lead_id, ticket = file_complaint(wx, standin)  # the consumer's last message: Monday 10:00
    at(2026, 12, 2, 11)  # 49 hours later
    handler(wx.app).post(f"/console/leads/{lead_id}/status", data={"to": "不予受理", "ground": "16-4"})
    drain(wx.app)
    [(channel, body)] = received(standin)
    assert channel == "template" and body["template_id"] == TEMPLATE
    data = {key: field["value"] for key, field in body["data"].items()}
    assert data == {
        "first": "不予受理告知",
        "keyword1": ticket,
        "keyword2": "不予受理",
        "remark": "您的投诉不予受理，理由和其他解决途径请点击查看。点击查看通知全文。",
    }
    page = wx.app.test_client().get(path_of(body["url"]))
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and ticket in html and "不予受理告知" in html
    assert "已经超过三年" in html and all(route in html for route in ART39_ROUTES)
    assert "13800138000" not in html and "张三丰" not in html  # nothing of the filing's personal data
    assert page.headers["Cache-Control"] == "no-store" and page.headers["Referrer-Policy"] == "no-referrer"
    [notice] = notices(wx.app, lead_id)
    assert (notice.state, notice.channel) == ("sent", "template")
    wx.app.extensions["db"].engine.dispose()


def test_a_long_reply_after_48_hours_is_whole_on_the_lead_page(db_url, standin):
    wx = notice_app(db_url, standin)
    lead_id, ticket = file_complaint(wx, standin)
    at(2026, 12, 3, 9)
    reply = "您好，" + "商家已同意按照购买价格全额退款并当面道歉，" * 20 + "请您留意。"
    assert len(reply) > 400
    handler(wx.app).post(f"/console/leads/{lead_id}/reply", data={"text": reply})
    drain(wx.app)
    [(channel, body)] = received(standin)
    assert channel == "template" and body["data"]["first"]["value"] == "办理人员答复"
    remark = body["data"]["remark"]["value"]
    assert body["data"]["keyword1"]["value"] == ticket and remark.startswith("您好，商家已同意") and len(remark) < 80
    html = wx.app.test_client().get(path_of(body["url"])).get_data(as_text=True)
    assert reply in html
    wx.app.extensions["db"].engine.dispose()


def test_termination_is_owed_to_both_sides_until_both_are_recorded(db_url, standin):
    wx = notice_app(db_url, standin)
    app = wx.app
    lead_id, ticket = file_complaint(wx, standin)
    staff = handler(app)
    url = f"/console/leads/{lead_id}"
    for to in ("已受理", "调解中"):
        staff.post(f"{url}/status", data={"to": to})
    drain(app)
    staff.post(f"{url}/status", data={"to": "终止调解", "ground": "23-3"})
    due = date(2026, 12, 9)  # 7 working days from Monday 2026-11-30 (Art 23 last ¶)
    consumer, business = notices(app, lead_id)[1:]
    assert (consumer.kind, consumer.party, consumer.due, consumer.state) == ("terminated", "consumer", due, "queued")
    assert (business.kind, business.party, business.due, business.state) == (
        "terminated_business", "business", due, "offline"
    )  # fmt: skip
    assert business.text.startswith("好再来快餐店：") and "一方当事人表示无法达成调解协议" in business.text
    assert lead(app, lead_id).next_due == due
    drain(app)
    terminated = texts(standin)[-1]
    assert terminated.startswith(f"【投诉编号 {ticket}】终止调解告知") and "向人民法院提起诉讼" in terminated
    assert "申请仲裁" in terminated and "第二十五条" in terminated
    assert lead(app, lead_id).next_due == due  # the business has not been told yet
    queue = staff.get("/console/queue").get_data(as_text=True)
    assert ticket in queue and "待告知" in queue
    page = staff.get(url).get_data(as_text=True)
    assert 'id="offline-banner"' in page and "被投诉人不通过公众号接收告知" in page
    offline = f"{url}/notices/{business.id}/offline"
    tomorrow = {"method": "电话", "on": "2026-12-01", "by": "李办理"}
    assert "告知日期应在" in staff.post(offline, data=tomorrow, follow_redirects=True).get_data(as_text=True)
    fax = {"method": "传真", "on": "2026-11-30", "by": "李办理"}
    assert "请选择告知方式" in staff.post(offline, data=fax, follow_redirects=True).get_data(as_text=True)
    assert lead(app, lead_id).next_due == due
    staff.post(offline, data={"method": "电话", "on": "2026-11-30", "by": "李办理"})
    assert lead(app, lead_id).next_due is None
    assert ticket not in staff.get("/console/queue").get_data(as_text=True)
    page = staff.get(url).get_data(as_text=True)
    assert "线下：电话，2026-11-30，告知人 李办理" in page and 'id="offline-banner"' not in page
    app.extensions["db"].engine.dispose()


def test_a_consumer_who_left_is_told_another_way(db_url, standin):
    wx = notice_app(db_url, standin)
    app = wx.app
    lead_id, _ = file_complaint(wx, standin)
    standin.user("o-decisions-consumer-01", subscribed=False)  # unfollowed on the platform
    staff = handler(app)
    staff.post(f"/console/leads/{lead_id}/status", data={"to": "已受理"})
    drain(app)
    [notice] = notices(app, lead_id)
    assert notice.state == "failed" and "unsubscribed" in notice.error
    assert lead(app, lead_id).next_due == lead(app, lead_id).accept_due  # still owed
    page = staff.get(f"/console/leads/{lead_id}").get_data(as_text=True)
    assert "发送失败，需线下告知" in page and 'id="offline-banner"' in page and "告知发送失败" in page
    staff.post(f"/console/leads/{lead_id}/notices/{notice.id}/offline", data={"method": "短信", "on": "2026-11-30",
                                                                               "by": "李办理"})  # fmt: skip
    found = lead(app, lead_id)
    assert notices(app, lead_id)[0].state == "recorded" and found.next_due == found.mediation_due
    app.extensions["db"].engine.dispose()


def test_a_busy_platform_is_retried_then_shown_as_failed(db_url, standin):
    wx = notice_app(db_url, standin)
    app = wx.app
    lead_id, _ = file_complaint(wx, standin)
    standin.fail("message/custom/send", errcode=-1, times=3)
    staff = handler(app)
    staff.post(f"/console/leads/{lead_id}/status", data={"to": "已受理"})
    outbox.run_due(app)
    assert "已尝试 1 次" in staff.get(f"/console/leads/{lead_id}").get_data(as_text=True)
    drain(app)
    [notice] = notices(app, lead_id)
    [item] = [i for i in _items(app, lead_id) if i.kind == "lead_notice"]
    assert (notice.state, item.state, item.attempts) == ("failed", "failed", 3) and "-1" in notice.error
    assert [c.fault for c in standin.calls("message/custom/send")] == ["fail"] * 3
    with get_db(app).scope() as s:
        kinds = list(s.scalars(select(LeadEvent.kind).where(LeadEvent.lead_id == lead_id)))
    assert "notice_failed" in kinds
    app.extensions["db"].engine.dispose()


def test_reports_get_art_34_and_outcomes_only_when_the_bureau_tells_them(db_url):
    from bot import create_app
    from tests.conftest import make_config

    app = create_app(make_config(db_url, leads={"tell_reporter_outcome": True}))
    add_staff(app, "h", "handler", "shiqi")
    staff = Staff(app, "h")
    elsewhere = add_lead(app, kind="report")
    staff.post(f"/console/leads/{elsewhere}/status", data={"to": "已转办", "referred_to": "中山市税务局"})
    [notice] = notices(app, elsewhere)
    assert notice.kind == "referred" and "不属于我局的处理权限，我局无法处理" in notice.text
    assert "请向中山市税务局举报" in notice.text and "第三十四条" in notice.text
    named = add_lead(app, kind="report")
    anonymous = add_lead(app, kind="report", name=None, phone=None, extra={"anonymous": True})
    for lead_id in (named, anonymous):
        staff.post(f"/console/leads/{lead_id}/status", data={"to": "核查中"})
        staff.post(f"/console/leads/{lead_id}/status", data={"to": "不予立案", "outcome": "未发现违法事实"})
    assert [n.kind for n in notices(app, named)] == ["report_not_filed"]
    assert "理由：未发现违法事实" in notices(app, named)[0].text
    assert notices(app, anonymous) == []
    app.extensions["db"].engine.dispose()
    quiet = create_app(make_config(db_url))  # the default: Art 36 requires no outcome notice
    report_id = add_lead(quiet, kind="report")
    with get_db(quiet).scope() as s:
        report = s.get(Lead, report_id)
        decide(s, quiet, report, "核查中", today=date(2026, 5, 7))
        decide(s, quiet, report, "已立案", today=date(2026, 5, 8))
    assert lead(quiet, report_id).status == "已立案" and notices(quiet, report_id) == []
    quiet.extensions["db"].engine.dispose()


def test_a_calendar_recompute_keeps_the_deadline_of_a_notice_owed(app):
    from bot.leads.recompute import recompute

    lead_id = add_lead(app)
    with get_db(app).scope() as s:
        decide(s, app, s.get(Lead, lead_id), "已受理", today=date(2026, 5, 7))
    checked, changes = recompute(app)
    assert checked == 1 and [c.field for c in changes if c.field == "next_due"] == []
    assert lead(app, lead_id).next_due == date(2026, 5, 14)


def test_the_link_expires_after_its_days(db_url, standin, clock):
    from bot.leads.links import page_url

    wx = notice_app(db_url, standin)
    lead_id, _ = file_complaint(wx, standin)
    with wx.app.app_context():
        url = page_url(wx.app, lead_id)
    client = wx.app.test_client()
    assert client.get(path_of(url)).status_code == 200
    clock.advance(timedelta(days=29, hours=23))
    assert client.get(path_of(url)).status_code == 200
    clock.advance(timedelta(hours=2))
    assert client.get(path_of(url)).status_code == 404
    wx.app.extensions["db"].engine.dispose()
