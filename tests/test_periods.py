"""The statutory clock's interruptions: mediation paused for appraisal (Art 22), a report's verification extended
once with approval (Art 35), through the console as a handler meets them."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import select

from bot.db import get_db
from bot.leads.periods import extend_verification, pause_mediation, resume_mediation
from bot.leads.workflow import Decision, TransitionError, transition
from bot.models import AuditEntry, Lead, LeadEvent, LeadNotice
from tests.console_support import Staff, add_lead, add_staff
from tests.timekeeping import at


def test_paused_days_are_added_to_the_sixty_day_limit(app):
    lead_id = add_lead(app, received_on=date(2026, 3, 2))
    with get_db(app).scope() as s:
        lead = s.get(Lead, lead_id)
        transition(s, lead, "已受理", today=date(2026, 3, 3))
        assert lead.mediation_due == date(2026, 5, 6)  # 03-03 + 60 = 05-02, inside 劳动节: 05-06
        pause_mediation(s, lead, date(2026, 3, 10), "委托检测电热水器的安全性能")
        assert lead.next_due is None
        with pytest.raises(TransitionError, match="不能重复中止"):
            pause_mediation(s, lead, date(2026, 3, 11), "again")
        resume_mediation(s, lead, date(2026, 3, 30), 60)  # 20 days of testing
        assert lead.mediation_due == date(2026, 5, 22) and lead.next_due == date(2026, 5, 22)  # 03-03 + 80 days
        kinds = [e.kind for e in s.scalars(select(LeadEvent).where(LeadEvent.lead_id == lead_id))]
        assert kinds[-2:] == ["clock_paused", "clock_resumed"]


def test_verification_is_extended_once_with_an_approver(app):
    lead_id = add_lead(app, kind="report", received_on=date(2026, 9, 30))
    with get_db(app).scope() as s:
        lead = s.get(Lead, lead_id)
        assert lead.verify_due == date(2026, 10, 27)  # 15 working days across 国庆 2026
        with pytest.raises(TransitionError, match="负责人"):
            extend_verification(s, lead, " ", "线索涉及多个平台", 15)
        extend_verification(s, lead, "张局长", "线索涉及多个平台，需调取交易数据", 15)
        assert lead.verify_due == date(2026, 11, 17) and lead.next_due == date(2026, 11, 17)
        with pytest.raises(TransitionError, match="只能延长一次"):
            extend_verification(s, lead, "张局长", "再延", 15)


def test_handler_pauses_and_extends_in_the_console(app):
    add_staff(app, "h", "handler", "shiqi")
    complaint = add_lead(app)
    report = add_lead(app, kind="report")
    staff = Staff(app, "h")
    staff.post(f"/console/leads/{complaint}/status", data={"to": "已受理"})
    page = staff.get(f"/console/leads/{complaint}").get_data(as_text=True)
    assert "中止调解期限" in page
    refused = staff.post(f"/console/leads/{complaint}/pause", data={"reason": ""}, follow_redirects=True)
    assert "请写明鉴定或检测的事项" in refused.get_data(as_text=True)
    staff.post(f"/console/leads/{complaint}/pause", data={"reason": "委托检测"})
    page = staff.get(f"/console/leads/{complaint}").get_data(as_text=True)
    assert "恢复计算调解期限" in page and "调解期限中止（鉴定检测）" in page
    staff.post(f"/console/leads/{complaint}/resume")
    extended = staff.post(
        f"/console/leads/{report}/extend",
        data={"approver": "张局长", "reason": "需调取平台数据"},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "核查期限已延长" in extended and "已经 张局长 批准延长一次" in extended
    with get_db(app).scope() as s:
        actions = {a.action for a in s.scalars(select(AuditEntry))}
    assert {"clock_pause", "clock_resume", "clock_extend"} <= actions


def test_a_lead_closed_while_paused_is_no_longer_paused_and_cannot_be_resumed(app):
    lead_id = add_lead(app, received_on=date(2026, 3, 2))
    with get_db(app).scope() as s:
        lead = s.get(Lead, lead_id)
        transition(s, lead, "已受理", today=date(2026, 3, 3))
        pause_mediation(s, lead, date(2026, 3, 10), "委托检测电热水器")
        event = transition(
            s, lead, "终止调解", Decision(ground="23-4", party="business"), today=date(2026, 3, 20)
        )  # no agreement on who pays for the testing
        assert "paused_since" not in lead.extra and lead.extra["paused_days"] == 10
        assert event.detail["pause_ended"] == "2026-03-10" and lead.next_due is None
        with pytest.raises(TransitionError, match="已结束办理"):
            resume_mediation(s, lead, date(2026, 3, 30), 60)
        assert lead.next_due is None and lead.mediation_due == date(2026, 5, 6)


def test_the_console_neither_offers_nor_accepts_resuming_a_closed_lead(app):
    """A lead closed while paused by an older release still carries `paused_since`: no button, and a 409."""
    add_staff(app, "h", "handler", "shiqi")
    closed = add_lead(app, status="终止调解", next_due=None, extra={"paused_since": "2026-11-20"})
    report = add_lead(app, kind="report", status="不予立案", next_due=None)
    staff = Staff(app, "h")
    page = staff.get(f"/console/leads/{closed}").get_data(as_text=True)
    assert "恢复计算调解期限" not in page and "已暂停" not in page and "延长核查期限" not in page
    answer = staff.post(f"/console/leads/{closed}/resume")
    assert answer.status_code == 409 and "此线索已结束办理（终止调解）" in answer.get_data(as_text=True)
    extended = staff.post(f"/console/leads/{report}/extend", data={"approver": "张局长", "reason": "再查"})
    assert extended.status_code == 409 and "此线索已结束办理（不予立案）" in extended.get_data(as_text=True)
    with get_db(app).scope() as s:
        assert s.get(Lead, closed).next_due is None
        assert s.get(Lead, report).verify_due == date(2026, 5, 26)  # received 05-06, not extended
        assert not s.scalars(select(AuditEntry).where(AuditEntry.action.like("clock_%"))).all()


def test_mediation_entered_while_paused_shows_the_deadline_stopped(app):
    """Accepted 11-30 (limit 2027-01-29), paused 12-10 with 50 days left, into 调解中 on 12-11: no deadline runs."""
    add_staff(app, "h", "handler", "shiqi")
    lead_id = add_lead(app, received_on=date(2026, 11, 27), business_name="检测中的商户")
    staff = Staff(app, "h")
    staff.post(f"/console/leads/{lead_id}/status", data={"to": "已受理"})
    with get_db(app).scope() as s:  # the acceptance notice told by phone: no notice deadline holds the lead
        notice_id = s.scalar(select(LeadNotice.id).where(LeadNotice.lead_id == lead_id))
    told = {"method": "电话", "on": "2026-11-30", "by": "李办理"}
    assert staff.post(f"/console/leads/{lead_id}/notices/{notice_id}/offline", data=told).status_code in (302, 303)
    at(2026, 12, 10)  # a new day, a new sign-in (the console's sessions end when idle)
    staff = Staff(app, "h")
    staff.post(f"/console/leads/{lead_id}/pause", data={"reason": "委托检测"})
    at(2026, 12, 11)
    staff = Staff(app, "h")
    assert staff.post(f"/console/leads/{lead_id}/status", data={"to": "调解中"}).status_code == 303
    with get_db(app).scope() as s:
        lead = s.get(Lead, lead_id)
        assert (lead.status, lead.next_due, lead.mediation_due) == ("调解中", None, date(2027, 1, 29))
    page = staff.get(f"/console/leads/{lead_id}").get_data(as_text=True)
    current = re.search(r'<dd id="current-due">(.*?)</dd>', page, re.S).group(1)
    assert "已暂停" in current and "恢复后还剩 50 日" in current and "2027-01-29" not in current
    queue = staff.get("/console/queue").get_data(as_text=True)
    row = re.search(r"<tr[^>]*>\s*<td[^>]*><a[^>]*>[^<]*</a></td>(?:(?!</tr>).)*检测中的商户.*?</tr>", queue, re.S)
    row = row.group(0)
    assert "已暂停" in row and "恢复后剩 50 日" in row and "2027-01-29" not in row
