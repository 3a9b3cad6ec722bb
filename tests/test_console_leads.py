"""Working a lead: the status flow and what the law needs, deadlines across 调休, the queue order, actions, signs."""

from __future__ import annotations

import json
import re
from datetime import date

import pytest
from sqlalchemy import select

from bot.db import get_db
from bot.leads.settings import LeadsSettings
from bot.leads.workflow import FLOWS, Decision, TransitionError, transition
from bot.models import AuditEntry, Lead, LeadEvent, LeadNotice, OutboxItem
from tests.console_support import OTHER_PHONE, PHONE, Staff, add_evidence, add_lead, add_staff
from tests.timekeeping import at


def _lead(app, lead_id) -> Lead:
    with get_db(app).scope() as s:
        return s.get(Lead, lead_id)


def _events(app, lead_id, kind=None):
    with get_db(app).scope() as s:
        stmt = select(LeadEvent).where(LeadEvent.lead_id == lead_id)
        if kind:
            stmt = stmt.where(LeadEvent.kind == kind)
        return s.scalars(stmt.order_by(LeadEvent.id)).all()


def _audit(app, action):
    with get_db(app).scope() as s:
        return s.scalars(select(AuditEntry).where(AuditEntry.action == action)).all()


# ------------------------------------------------------------------ the flow itself


def test_flow_refuses_illegal_moves_and_missing_grounds(app):
    lead_id = add_lead(app)
    with get_db(app).scope() as s:
        lead = s.get(Lead, lead_id)
        with pytest.raises(TransitionError, match="不能变更为“已办结”"):
            transition(s, lead, "已办结", Decision(outcome="x"), today=date(2026, 5, 7))
        with pytest.raises(TransitionError, match="第十六条"):
            transition(s, lead, "不予受理", Decision(ground="23-1"), today=date(2026, 5, 7))
        with pytest.raises(TransitionError, match="转往的部门"):
            transition(s, lead, "已转办", Decision(referred_to="  "), today=date(2026, 5, 7))
        with pytest.raises(TransitionError, match="不能变更为“核查中”"):
            transition(s, lead, "核查中", today=date(2026, 5, 7))  # a report's step, not a complaint's
        assert lead.status == "新线索"
        event = transition(s, lead, "不予受理", Decision(ground="16-3"), today=date(2026, 5, 7))
        assert lead.status == "不予受理" and lead.next_due is None and lead.closed_on == date(2026, 5, 7)
        assert event.detail["ground_text"].startswith("不是为生活消费需要")


def test_a_lead_enters_each_status_at_most_once():
    """No path through either flow comes back to a status it has left, so a status event is one lead's only entry into
    that status: the statistics count events as leads (bot/console/figures.py)."""
    for kind, flow in FLOWS.items():
        paths = [["新线索"]]
        while paths:
            path = paths.pop()
            for to in flow.get(path[-1], ()):
                assert to not in path, (kind, path, to)
                paths.append([*path, to])


def test_complaint_deadlines_move_across_national_day(app):
    """Accepted 2026-09-25: 60 calendar days -> 11-24; terminated 09-29: notice due 10-14 (10-10 is a 调休 Saturday)."""
    lead_id = add_lead(app, received_on=date(2026, 9, 18))
    with get_db(app).scope() as s:
        lead = s.get(Lead, lead_id)
        transition(s, lead, "已受理", today=date(2026, 9, 25))
        assert (lead.accepted_on, lead.mediation_due, lead.next_due) == (date(2026, 9, 25),) + (date(2026, 11, 24),) * 2
        transition(s, lead, "调解中", today=date(2026, 9, 28))
        assert lead.next_due == date(2026, 11, 24)
        with pytest.raises(TransitionError, match="第二十三条"):
            transition(s, lead, "终止调解", today=date(2026, 9, 29))
        event = transition(s, lead, "终止调解", Decision(ground="23-3"), today=date(2026, 9, 29))
        assert event.detail["notify_due"] == "2026-10-14" and lead.next_due is None


def test_report_flow(app):
    lead_id = add_lead(app, kind="report", received_on=date(2026, 2, 11))
    with get_db(app).scope() as s:
        lead = s.get(Lead, lead_id)
        # 15 working days from 02-11 across the Spring Festival (02-14 and 02-28 are 调休 Saturdays).
        assert lead.verify_due == date(2026, 3, 10)
        transition(s, lead, "核查中", today=date(2026, 2, 12))
        assert lead.next_due == date(2026, 3, 10)
        with pytest.raises(TransitionError, match="不予立案须写明理由"):
            transition(s, lead, "不予立案", today=date(2026, 2, 20))
        transition(s, lead, "已立案", today=date(2026, 2, 26))
        transition(s, lead, "已办结", Decision(outcome="罚款 5000 元"), today=date(2026, 4, 1))
        assert (lead.status, lead.outcome, lead.next_due) == ("已办结", "罚款 5000 元", None)


# ------------------------------------------------------------------ the queue


def test_queue_order_and_days_left_across_spring_festival(app):
    """Today 02-12: 7 working days from 01-30 ended 02-10 (overdue); from 02-05 they end 02-14, a 调休 Saturday."""
    at(2026, 2, 12)
    add_staff(app, "h", "handler", "shiqi")
    ids = {
        "later": add_lead(app, received_on=date(2026, 2, 11), business_name="乙"),
        "none": add_lead(app, kind="report", status="已立案", next_due=None, business_name="戊"),
        "overdue": add_lead(app, received_on=date(2026, 1, 30), business_name="甲"),
        "report": add_lead(app, kind="report", received_on=date(2026, 2, 9), business_name="丁"),
        "saturday": add_lead(app, received_on=date(2026, 2, 5), business_name="丙"),
        "closed": add_lead(app, status="不予受理", next_due=None, business_name="己"),
        "elsewhere": add_lead(app, branch="dongqu", received_on=date(2026, 1, 2), business_name="庚"),
    }
    assert _lead(app, ids["saturday"]).next_due == date(2026, 2, 14)
    assert _lead(app, ids["later"]).next_due == date(2026, 2, 27)
    page = Staff(app, "h").get("/console/queue").get_data(as_text=True)
    rows = re.findall(r"<tr class=\"(overdue)?\">(.*?)</tr>", page, re.S)
    names = [re.findall(r"<td[^>]*>(.*?)</td>", r[1])[3] for r in rows]
    assert names == ["甲", "丙", "乙", "丁", "戊"]
    assert rows[0][0] == "overdue" and "超期 2 个工作日" in rows[0][1]
    assert "剩 2 个工作日" in rows[1][1] and "剩 6 个工作日" in rows[2][1]
    overdue_only = Staff(app, "h").get("/console/queue?overdue=1").get_data(as_text=True)
    assert '<strong id="total">1</strong>' in overdue_only


def test_queue_filters_search_and_paging(db_url):
    from bot import create_app
    from tests.conftest import make_config

    app = create_app(make_config(db_url, console={"page_size": 2}))
    me = add_staff(app, "h", "handler", "shiqi")
    for i in range(5):
        add_lead(
            app, business_name=f"商户{i}", category="食品安全" if i % 2 else "预付卡", assignee_id=me if i < 2 else None
        )
    add_lead(app, business_name="100%纯果汁店")
    staff = Staff(app, "h")
    first = staff.get("/console/queue").get_data(as_text=True)
    assert '<strong id="total">6</strong>' in first and "第 1 / 3 页" in first
    assert "第 3 / 3 页" in staff.get("/console/queue?page=99").get_data(as_text=True)
    assert '<strong id="total">3</strong>' in staff.get("/console/queue?category=预付卡&kind=complaint").get_data(
        as_text=True
    )
    assert '<strong id="total">2</strong>' in staff.get("/console/queue?mine=1").get_data(as_text=True)
    assert '<strong id="total">1</strong>' in staff.get("/console/queue?q=100%").get_data(as_text=True)
    assert '<strong id="total">0</strong>' in staff.get("/console/queue?from=2026-06-01").get_data(as_text=True)
    assert staff.get("/console/queue?page=x&from=notadate&status=<b>").status_code == 200
    app.extensions["db"].engine.dispose()


def test_triage_and_assignment_by_admin(app):
    add_staff(app, "boss", "admin")
    add_staff(app, "h", "handler", "dongqu")
    lead_id = add_lead(app, branch=None, business_name="无处可去商户")
    admin = Staff(app, "boss")
    assert "无处可去商户" in admin.get("/console/triage").get_data(as_text=True)
    assert "无处可去商户" not in admin.get("/console/queue").get_data(as_text=True)
    admin.post(f"/console/leads/{lead_id}/assign", data={"branch": "dongqu"})
    assert _lead(app, lead_id).branch == "dongqu"
    assert "无处可去商户" in Staff(app, "h").get("/console/queue").get_data(as_text=True)
    assert _audit(app, "reassign")[0].detail.startswith("待分派 → dongqu")


# ------------------------------------------------------------------ one lead


def test_work_a_complaint_through_the_console(app):
    add_staff(app, "h", "handler", "shiqi", display_name="李办理")
    lead_id = add_lead(app)
    staff = Staff(app, "h")
    url = f"/console/leads/{lead_id}"
    page = staff.get(url).get_data(as_text=True)
    assert "138****5678" in page and PHONE not in page and "张三丰" in page and "关键词“过期”" in page
    assert "变更为“已受理”" in page and "变更为“已办结”" not in page
    refused = staff.post(f"{url}/status", data={"to": "已办结", "outcome": "x"}, follow_redirects=True)
    assert "当前状态为“新线索”，不能变更为“已办结”" in refused.get_data(as_text=True)
    for to, extra in (("已受理", {}), ("调解中", {}), ("已办结", {"outcome": "商家退款 300 元"})):
        assert staff.post(f"{url}/status", data={"to": to, **extra}).status_code == 303
    lead = _lead(app, lead_id)
    # Closed, but the acceptance notice has not reached the consumer yet (no outbox run): its Art 15 deadline stays.
    assert (lead.status, lead.outcome, lead.next_due) == ("已办结", "商家退款 300 元", lead.accept_due)
    assert [e.status for e in _events(app, lead_id, "status")] == ["已受理", "调解中", "已办结"]
    assert [a.detail for a in _audit(app, "status_change")] == ["新线索 → 已受理", "已受理 → 调解中", "调解中 → 已办结"]
    final = staff.get(url).get_data(as_text=True)
    assert "此线索已结束办理" in final and "李办理" in final


def test_phone_reveal_needs_a_reason_is_audited_and_lasts_one_view(app):
    add_staff(app, "h", "handler", "shiqi")
    lead_id = add_lead(app)
    staff = Staff(app, "h")
    url = f"/console/leads/{lead_id}"
    no_reason = staff.post(f"{url}/reveal", data={"reason": " "}, follow_redirects=True).get_data(as_text=True)
    assert "须填写理由" in no_reason and PHONE not in no_reason
    shown = staff.post(f"{url}/reveal", data={"reason": "电话核实"}).get_data(as_text=True)
    assert PHONE in shown and "仅本次显示" in shown
    assert PHONE not in staff.get(url).get_data(as_text=True)
    entries = _audit(app, "phone_reveal")
    assert len(entries) == 1 and entries[0].lead_id == lead_id and entries[0].detail == "理由：电话核实"


def test_reply_goes_to_the_outbox_and_shows_its_delivery(app):
    add_staff(app, "h", "handler", "shiqi")
    lead_id = add_lead(app)
    staff = Staff(app, "h")
    url = f"/console/leads/{lead_id}"
    assert "答复内容不能为空" in staff.post(f"{url}/reply", data={"text": ""}, follow_redirects=True).get_data(True)
    staff.post(f"{url}/reply", data={"text": "您好，商家同意下周上门检修。"})
    with get_db(app).scope() as s:
        item = s.scalar(select(OutboxItem).where(OutboxItem.lead_id == lead_id))
        notice = s.scalar(select(LeadNotice).where(LeadNotice.lead_id == lead_id))
        assert item.kind == "lead_notice" and json.loads(item.payload) == {"notice_id": notice.id}
        assert (notice.kind, notice.text, notice.state, notice.outbox_id) == (
            "reply", "您好，商家同意下周上门检修。", "queued", item.id
        )  # fmt: skip
        notice.state, notice.error = "failed", "WeChatApiError: WeChat API error 43004: require subscribe"
    page = staff.get(url).get_data(as_text=True)
    assert "办理人员答复" in page and "您好，商家同意下周上门检修。" in page
    assert "发送失败，需线下告知" in page and "43004" in page and 'id="offline-banner"' in page
    assert len(_audit(app, "reply")) == 1


def test_note_recategorize_and_reassign(app):
    add_staff(app, "h", "handler", "shiqi")
    colleague = add_staff(app, "h2", "handler", "shiqi", display_name="王同事")
    outsider = add_staff(app, "h3", "handler", "dongqu")
    lead_id = add_lead(app)
    staff = Staff(app, "h")
    url = f"/console/leads/{lead_id}"
    staff.post(f"{url}/note", data={"text": "已电话联系商家"})
    typo = staff.post(f"{url}/category", data={"category": "预付 卡"}, follow_redirects=True)
    assert "请从列表中选择重点领域" in typo.get_data(as_text=True) and _lead(app, lead_id).category == "食品安全"
    staff.post(f"{url}/category", data={"category": "促销活动", "reason": "实为会员卡纠纷"})
    assert _lead(app, lead_id).category_rule == "人工调整（h）" and _lead(app, lead_id).category == "促销活动"
    lost = staff.post(f"{url}/assign", data={"branch": "石岐 typo"}, follow_redirects=True)
    assert "请从列表中选择分局" in lost.get_data(as_text=True) and _lead(app, lead_id).branch == "shiqi"
    page = staff.get(url).get_data(as_text=True)
    assert '<option value="dongqu"' in page and "东区街道分局" in page and 'name="category" required' in page
    bad = staff.post(f"{url}/assign", data={"assignee": str(outsider)}, follow_redirects=True)
    assert "只能指派给该分局的在岗办理人员" in bad.get_data(as_text=True)
    staff.post(f"{url}/assign", data={"assignee": str(colleague)})
    assert _lead(app, lead_id).assignee_id == colleague
    moved = staff.post(f"{url}/assign", data={"branch": "dongqu"})
    assert moved.status_code == 303 and moved.headers["Location"].endswith("/console/queue")
    assert staff.get(url).status_code == 404  # no longer theirs
    kinds = [e.kind for e in _events(app, lead_id)]
    assert kinds == ["note", "recategorize", "reassign", "reassign"]
    assert {a.action for a in _audit(app, "note") + _audit(app, "recategorize") + _audit(app, "reassign")} == {
        "note",
        "recategorize",
        "reassign",
    }


def test_signs_to_weigh_link_related_leads_without_acting(app):
    add_staff(app, "h", "handler", "shiqi")
    lead_id = add_lead(app, received_on=date(2026, 5, 20))
    same_phone = add_lead(app, openid="oOther", address="别处", received_on=date(2026, 5, 1), business_name="商户甲")
    add_lead(app, openid="oOther", phone=OTHER_PHONE, received_on=date(2026, 5, 2), business_name="商户乙")
    add_lead(app, received_on=date(2026, 5, 10), phone=OTHER_PHONE, address="又一处", business_name="商户丙")
    add_lead(app, received_on=date(2026, 4, 1), phone=None, address=None, business_name="太早的一件")
    add_lead(app, received_on=date(2026, 5, 12), phone=None, address=None, business_name="商户丁")
    hidden = add_lead(app, branch="dongqu", business_name="别的分局同号")
    page = Staff(app, "h").get(f"/console/leads/{lead_id}").get_data(as_text=True)
    assert "同一电话号码的其他投诉人" in page and f'/console/leads/{same_phone}"' in page
    assert "同一通讯地址的其他投诉人" in page and "商户乙" in page
    assert "30 天内针对同一经营者或同类问题（食品安全）提交投诉 3 件" in page
    assert "别的分局同号" not in page and f'/console/leads/{hidden}"' not in page
    assert _lead(app, lead_id).status == "新线索"


def test_repeated_report_is_flagged(app):
    add_staff(app, "h", "handler", "shiqi")
    first = add_lead(app, kind="report", business_name="同一家店")
    second = add_lead(app, kind="report", business_name="同一家店")
    page = Staff(app, "h").get(f"/console/leads/{second}").get_data(as_text=True)
    assert "可能重复的举报" in page and f'/console/leads/{first}"' in page


def test_evidence_outside_its_directory_is_never_served(app, tmp_path):
    app.config["SETTINGS"].replace(LeadsSettings, evidence_dir=str(tmp_path / "evidence"))
    (tmp_path / "evidence").mkdir()
    (tmp_path / "evidence" / "ok.jpg").write_bytes(b"\xff\xd8\xffphoto")
    (tmp_path / "secret.txt").write_text("secret")
    add_staff(app, "h", "handler", "shiqi")
    lead_id = add_lead(app)
    good = add_evidence(app, lead_id, "ok.jpg", "image/jpeg")
    sneaky = add_evidence(app, lead_id, "../secret.txt", "text/html")
    absolute = add_evidence(app, lead_id, str(tmp_path / "secret.txt"))
    staff = Staff(app, "h")
    page = staff.get(f"/console/leads/{lead_id}").get_data(as_text=True)
    assert f'src="/console/evidence/{good}"' in page
    response = staff.get(f"/console/evidence/{good}")
    assert response.data == b"\xff\xd8\xffphoto" and response.mimetype == "image/jpeg"
    assert staff.get(f"/console/evidence/{sneaky}").status_code == 404
    assert staff.get(f"/console/evidence/{absolute}").status_code == 404
    assert staff.get("/console/evidence/99999").status_code == 404


def test_evidence_is_shown_only_when_it_really_is_a_picture(app, tmp_path):
    """The platform's word on the type is not trusted: an SVG (script in the console's origin) is a download."""
    app.config["SETTINGS"].replace(LeadsSettings, evidence_dir=str(tmp_path))
    (tmp_path / "p.png").write_bytes(b"\x89PNG\r\n\x1a\n....")
    (tmp_path / "x.svg").write_bytes(b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>')
    add_staff(app, "h", "handler", "shiqi")
    lead_id = add_lead(app)
    png, svg = add_evidence(app, lead_id, "p.png", "image/jpeg"), add_evidence(app, lead_id, "x.svg", "image/svg+xml")
    staff = Staff(app, "h")
    shown = staff.get(f"/console/evidence/{png}")
    assert shown.mimetype == "image/png" and "Content-Disposition" not in shown.headers
    download = staff.get(f"/console/evidence/{svg}")
    assert download.mimetype == "application/octet-stream"
    assert download.headers["Content-Disposition"].startswith("attachment")
    assert download.headers["X-Content-Type-Options"] == "nosniff"


def test_control_characters_pasted_into_a_form_are_dropped(app):
    add_staff(app, "h", "handler", "shiqi")
    lead_id = add_lead(app)
    Staff(app, "h").post(f"/console/leads/{lead_id}/note", data={"text": "已电话\x0b联系\x01商家"})
    assert [e.text for e in _events(app, lead_id, "note")] == ["已电话联系商家"]
