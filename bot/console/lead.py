"""One lead: its header, the consumer (phone masked until revealed with a reason), evidence, timeline and signs."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from bot.clock import utcnow
from bot.config import ROOT
from bot.console import audit, bp, clock
from bot.console.access import LEAD_ROLES, current_staff, requires, scope_leads, visible_lead
from bot.console.lead_notices import notices_of
from bot.console.settings import ConsoleSettings
from bot.console.signs import find_signs
from bot.db import aware, read_session, session, write_if_free
from bot.leads import conversation, deadlines
from bot.leads.create import rules
from bot.leads.notices import OFFLINE_METHODS
from bot.leads.periods import paused_days_left
from bot.leads.settings import LeadsSettings
from bot.leads.workflow import KIND_NAMES, PARTIES, REFUSAL_GROUNDS, allowed, termination_grounds
from bot.models import Evidence, Lead, LeadEvent, StaffUser

EVENT_NAMES = {
    "created": "收到线索",
    "status": "状态变更",
    "note": "内部备注",
    "reply": "答复消费者",
    "reply_delivered": "答复已送达",
    "clock_paused": "调解期限中止（鉴定检测）",
    "clock_resumed": "调解期限恢复计算",
    "verify_extended": "核查期限延长",
    "reply_failed": "答复发送失败",
    "recategorize": "调整分类",
    "reassign": "改派",
    "notify_staff": "通知工作人员",
    "deadlines_recomputed": "工作日历更新，期限重新计算",
    "notice_delivered": "告知已送达",
    "notice_failed": "告知发送失败",
    "notice_recorded": "登记线下告知",
}
SYSTEM_ACTORS = {"deadlines_recomputed": "系统"}
FIELD_NAMES = {"accept_due": "受理期限", "mediation_due": "调解期限", "verify_due": "核查期限", "next_due": "当前期限"}
REPLY_OUTCOMES = ("reply_delivered", "reply_failed")


def _timeline(lead: Lead) -> list[dict]:
    """The lead's events and the consumer's messages in order, each with its name, who did it and the text to print
    under it. A reply's delivery (or failure) names the reply it belongs to; its copy of the text is not printed."""
    s = read_session()
    events = s.scalars(select(LeadEvent).where(LeadEvent.lead_id == lead.id).order_by(LeadEvent.at, LeadEvent.id))
    events = events.all()
    ids = {e.actor_id for e in events if e.actor_id}
    names = {}
    if ids:
        rows = s.execute(select(StaffUser.id, StaffUser.display_name, StaffUser.username).where(StaffUser.id.in_(ids)))
        names = {i: d or u for i, d, u in rows}
    replied = {(e.detail or {}).get("outbox_id") for e in events if e.kind == "reply"} - {None}
    items = [
        {
            "e": e,
            "name": EVENT_NAMES.get(e.kind, "记录"),
            "actor": names.get(e.actor_id) or SYSTEM_ACTORS.get(e.kind, ""),
            "text": None if e.kind in REPLY_OUTCOMES and (e.detail or {}).get("outbox_id") in replied else e.text,
        }
        for e in events
    ]
    for m in conversation.messages(s, lead.id):  # what the consumer wrote (text or a photo)
        said = SimpleNamespace(kind="consumer_message", status=None, at=m.at, text=m.text, detail={})
        items.append(
            {
                "e": said,
                "name": "消费者留言",
                "actor": "消费者",
                "text": m.text,
                "photo": m.evidence_id,
                "new": not m.read_at,
            }
        )
    return sorted(items, key=lambda item: aware(item["e"].at))


def configured_branches() -> list[tuple[str, str]]:
    """(code, name) of every branch in the branches file: the only places a lead can be given to."""
    return [(code, b.name) for code, b in rules(current_app).branches.branches.items()]


def _context(lead: Lead, *, revealed: bool = False) -> dict:
    """Everything the lead page shows."""
    s = read_session()
    today = deadlines.today_local(current_app)
    left = clock.days_left(current_app, today, lead.next_due)
    evidence = s.scalars(
        select(Evidence).where(Evidence.lead_id == lead.id, Evidence.path.is_not(None)).order_by(Evidence.id)
    ).all()
    handlers = s.scalars(
        select(StaffUser).where(StaffUser.role == "handler", StaffUser.branch == lead.branch, ~StaffUser.disabled)
    ).all()
    return {
        "lead": lead,
        "kind_name": KIND_NAMES.get(lead.kind, lead.kind),
        "left": left,
        "today": today,
        "revealed": revealed,
        "evidence": evidence,
        "timeline": _timeline(lead),
        "notices": notices_of(lead.id),
        "offline_methods": OFFLINE_METHODS,
        "moves": allowed(lead),
        "refusal_grounds": REFUSAL_GROUNDS,
        "termination_grounds": termination_grounds(lead, today),
        "parties": PARTIES,
        "paused_left": paused_days_left(lead),
        "twins": twins(lead),
        "handlers": handlers,
        "branches": configured_branches(),
        "categories": rules(current_app).categories.names,
        "assignee": s.get(StaffUser, lead.assignee_id) if lead.assignee_id else None,
        "field_names": FIELD_NAMES,
        "signs": find_signs(
            s, lead, current_staff(), ConsoleSettings.of(current_app), rules(current_app).categories.default
        ),
    }


def twins(lead: Lead) -> list[dict]:
    """The other half of a filing split into a complaint and a report (Art 9), each way; linked when the user may
    open it, otherwise named with the branch that handles it."""
    s = read_session()
    if lead.split_from_id:
        rows = s.scalars(select(Lead).where(Lead.id == lead.split_from_id)).all()
    else:
        rows = s.scalars(select(Lead).where(Lead.split_from_id == lead.id).order_by(Lead.id)).all()
    visible = set(s.scalars(scope_leads(select(Lead.id).where(Lead.id.in_([r.id for r in rows]))))) if rows else set()
    return [
        {"id": r.id, "ticket": r.ticket, "kind_name": KIND_NAMES.get(r.kind, r.kind), "status": r.status,
         "branch": r.branch, "visible": r.id in visible, "source": bool(lead.split_from_id)}
        for r in rows
    ]  # fmt: skip


def refused(lead_id: int, message: str, code: int = 409):
    """The lead page again, saying why a request was refused, with a 4xx status (nothing was changed)."""
    session().rollback()
    flash(message, "error")
    return render_template("console/lead.html", **_context(visible_lead(lead_id))), code


@bp.get("/leads/<int:lead_id>")
@requires(*LEAD_ROLES)
def lead(lead_id: int):
    """The lead page, phone masked; the consumer's new messages are marked read once shown."""
    found = visible_lead(lead_id)
    shown = _context(found)
    page = render_template("console/lead.html", **shown)
    if any(item.get("new") for item in shown["timeline"]):  # a page view never waits on a busy database for this
        write_if_free(lambda conn: conversation.mark_read(conn, found.id, utcnow()), wait=0.5)
    return page


@bp.post("/leads/<int:lead_id>/reveal")
@requires(*LEAD_ROLES)
def lead_reveal(lead_id: int):
    """Show the full phone number for this page view only, after a reason is given; written to the audit log."""
    found = visible_lead(lead_id)
    reason = request.form.get("reason", "").strip()[:200]
    if not reason:
        flash("查看完整号码须填写理由。", "error")
        return redirect(url_for("console.lead", lead_id=lead_id))
    s = session()
    audit.record(s, "phone_reveal", lead_id=found.id, detail=f"理由：{reason}")
    s.commit()
    return render_template("console/lead.html", **_context(found, revealed=True))


def evidence_root() -> Path:
    """The directory evidence photos are kept in (`[leads] evidence_dir`, where the outbox saves them)."""
    root = Path(LeadsSettings.of(current_app).evidence_dir)
    return (root if root.is_absolute() else ROOT / root).resolve()


@bp.get("/evidence/<int:evidence_id>")
@requires(*LEAD_ROLES)
def evidence(evidence_id: int):
    """An evidence photo, only for staff who may see its lead, only from under the evidence directory."""
    item = read_session().get(Evidence, evidence_id)
    if item is None or item.lead_id is None or not item.path:
        abort(404)
    visible_lead(item.lead_id)
    root = evidence_root()
    path = Path(item.path)
    path = (path if path.is_absolute() else root / path).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        abort(404)
    # Photos are small (WeChat caps images at 10 MB): read whole, so no file handle outlives the request.
    data = path.read_bytes()
    kind = image_type(data)
    if kind is not None:  # a picture the browser shows as such, whatever the platform said it was
        return Response(data, mimetype=kind, headers={"X-Content-Type-Options": "nosniff"})
    # Anything else (an SVG could run script in the console's origin) is a download, never rendered.
    headers = {"X-Content-Type-Options": "nosniff", "Content-Disposition": f'attachment; filename="evidence-{item.id}"'}
    return Response(data, mimetype="application/octet-stream", headers=headers)


def image_type(data: bytes) -> str | None:
    """The type of a JPEG, PNG or GIF by its first bytes; None for anything else."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    return None
