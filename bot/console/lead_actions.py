"""What staff do to a lead: change its status, reply to the consumer, note, recategorize, reassign."""

from __future__ import annotations

from flask import current_app, flash, redirect, request, url_for

from bot.clock import utcnow
from bot.console import audit, bp
from bot.console.access import LEAD_ROLES, current_staff, requires, visible_lead
from bot.console.cells import without_controls
from bot.console.lead import refused
from bot.db import session
from bot.leads import conversation, deadlines, notices
from bot.leads.create import rules
from bot.leads.rules import UNASSIGNED
from bot.leads.workflow import Decision, TransitionError
from bot.models import LeadEvent, StaffUser

MAX_REPLY = 600


def _form(name: str, limit: int = 500) -> str:
    """A form field as staff meant it: control characters pasted from Word dropped (bot/console/cells.py)."""
    return without_controls(request.form.get(name, "")).strip()[:limit]


def _back(lead_id: int):
    return redirect(url_for("console.lead", lead_id=lead_id), code=303)


@bp.post("/leads/<int:lead_id>/status")
@requires(*LEAD_ROLES)
def lead_transition(lead_id: int):
    """Move the lead along its flow, with what the law needs for that step; illegal moves are refused."""
    lead = visible_lead(lead_id, for_update=True)
    s = session()
    before, to = lead.status, _form("to", 16)
    decision = Decision(_form("ground", 8) or None, _form("referred_to", 200), _form("outcome", 2000), _form("remark"))
    decision.party = _form("party", 16) or None
    today = deadlines.today_local(current_app)
    try:
        notices.decide(
            s, current_app, lead, to, decision, today=today, actor_id=current_staff().id, note=_form("note", 500)
        )
    except TransitionError as exc:
        return refused(lead_id, str(exc))
    audit.record(s, "status_change", lead_id=lead.id, detail=f"{before} → {to}")
    s.commit()
    flash(f"状态已变更为“{to}”。告知情况见“告知与答复”。")
    return _back(lead_id)


@bp.post("/leads/<int:lead_id>/reply")
@requires(*LEAD_ROLES)
def lead_reply(lead_id: int):
    """Send a text to the consumer through the outbox; the page then shows whether it was delivered."""
    lead = visible_lead(lead_id)
    text = without_controls(request.form.get("text", "")).strip()
    if not text:
        flash("答复内容不能为空。", "error")
    elif len(text) > MAX_REPLY:
        flash(f"答复内容不能超过 {MAX_REPLY} 字。", "error")
    elif not lead.openid:
        flash("这条线索没有对应的微信用户，无法通过公众号答复。", "error")
    else:
        s = session()
        notice = notices.queue_reply(s, current_app, lead, text, current_staff().id)
        detail = {"notice_id": notice.id, "outbox_id": notice.outbox_id}
        s.add(LeadEvent(lead_id=lead.id, actor_id=current_staff().id, kind="reply", text=text, detail=detail))
        audit.record(s, "reply", lead_id=lead.id, detail=f"答复 {len(text)} 字")
        conversation.open_after_reply(s, lead, utcnow())  # the consumer's answer comes back to this lead
        s.commit()
        flash("答复已提交发送，送达情况见“告知与答复”。")
    return _back(lead_id)


@bp.post("/leads/<int:lead_id>/note")
@requires(*LEAD_ROLES)
def lead_note(lead_id: int):
    """Add an internal note to the timeline (never sent to the consumer)."""
    lead = visible_lead(lead_id)
    text = _form("text", 2000)
    if not text:
        flash("备注内容不能为空。", "error")
        return _back(lead_id)
    s = session()
    s.add(LeadEvent(lead_id=lead.id, actor_id=current_staff().id, kind="note", text=text))
    audit.record(s, "note", lead_id=lead.id)
    s.commit()
    flash("备注已保存。")
    return _back(lead_id)


@bp.post("/leads/<int:lead_id>/category")
@requires(*LEAD_ROLES)
def lead_recategorize(lead_id: int):
    """Change the lead's key area; the keyword rule is replaced by who changed it."""
    lead = visible_lead(lead_id, for_update=True)
    category = _form("category", 32)
    if category not in rules(current_app).categories.names:
        flash("请从列表中选择重点领域。", "error")
        return _back(lead_id)
    if category == lead.category:
        flash("请选择一个不同的分类。", "error")
        return _back(lead_id)
    s = session()
    before, lead.category = lead.category, category
    lead.category_rule = f"人工调整（{current_staff().username}）"
    detail = {"from": before, "to": category}
    s.add(LeadEvent(lead_id=lead.id, actor_id=current_staff().id, kind="recategorize", text=_form("reason"),
                    detail=detail))  # fmt: skip
    audit.record(s, "recategorize", lead_id=lead.id, detail=f"{before} → {category}")
    s.commit()
    flash(f"分类已调整为“{category}”。")
    return _back(lead_id)


@bp.post("/leads/<int:lead_id>/assign")
@requires(*LEAD_ROLES)
def lead_reassign(lead_id: int):
    """Give the lead to another branch, or to a handler of its branch (an admin also places triage leads)."""
    lead = visible_lead(lead_id, for_update=True)
    s = session()
    branch = _form("branch", 32) or lead.branch
    assignee = None
    if request.form.get("assignee", "").isdigit():
        assignee = s.get(StaffUser, int(request.form["assignee"]))
        if assignee is None or assignee.role != "handler" or assignee.branch != branch or assignee.disabled:
            flash("只能指派给该分局的在岗办理人员。", "error")
            return _back(lead_id)
    if branch not in rules(current_app).branches.branches:
        flash("请从列表中选择分局。", "error")
        return _back(lead_id)
    before = (lead.branch, lead.assignee_id)
    lead.branch, lead.assignee_id = branch, assignee.id if assignee else None
    if before == (lead.branch, lead.assignee_id):
        flash("没有变化。")
        return _back(lead_id)
    who = assignee.display_name or assignee.username if assignee else "未指派"
    detail = {"from_branch": before[0], "to_branch": branch, "assignee": who}
    s.add(LeadEvent(lead_id=lead.id, actor_id=current_staff().id, kind="reassign", text=_form("reason"),
                    detail=detail))  # fmt: skip
    audit.record(s, "reassign", lead_id=lead.id, detail=f"{before[0] or UNASSIGNED} → {branch}，{who}")
    s.commit()
    flash(f"线索已分派至{rules(current_app).branches.name(branch)}（{who}）。")
    if current_staff().role != "admin" and branch != current_staff().branch:
        return redirect(url_for("console.queue"), code=303)
    return _back(lead_id)
