"""The notices of a lead in the console: each one's state (排队中 / 已送达 / 发送失败 / 需线下告知) with its deadline,
and the form that records a notice given by phone, SMS, post or e-mail, which counts as delivered."""

from __future__ import annotations

from datetime import UTC
from zoneinfo import ZoneInfo

from flask import current_app, flash, redirect, request, url_for
from sqlalchemy import select

from bot.config import AppSettings
from bot.console import audit, bp
from bot.console.access import LEAD_ROLES, current_staff, requires, visible_lead
from bot.console.cells import without_controls
from bot.console.forms import parse_date
from bot.db import read_session, session
from bot.leads import deadlines
from bot.leads.notices import PARTY_NAMES, STATE_NAMES, NoticeError, record_offline
from bot.models import UNDELIVERED, LeadNotice, OutboxItem, StaffUser

CHANNEL_NAMES = {"custom": "客服消息", "template": "模板消息"}


def _local_day(app, moment):
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.astimezone(ZoneInfo(AppSettings.of(app).timezone)).date()


def notices_of(lead_id: int) -> list[dict]:
    """The lead's notices, oldest first, with their outbox item's attempts and last error while they wait."""
    s = read_session()
    rows = s.scalars(select(LeadNotice).where(LeadNotice.lead_id == lead_id).order_by(LeadNotice.id)).all()
    ids = [n.outbox_id for n in rows if n.outbox_id]
    items = {i.id: i for i in s.scalars(select(OutboxItem).where(OutboxItem.id.in_(ids)))} if ids else {}
    names = {}
    recorders = {n.recorded_by_id for n in rows if n.recorded_by_id}
    if recorders:
        who = select(StaffUser.id, StaffUser.display_name, StaffUser.username).where(StaffUser.id.in_(recorders))
        found = s.execute(who)
        names = {i: d or u for i, d, u in found}
    out = []
    for n in rows:
        item = items.get(n.outbox_id) if n.outbox_id else None
        out.append(
            {
                "n": n,
                "party": PARTY_NAMES.get(n.party, n.party),
                "state": STATE_NAMES.get(n.state, n.state),
                "needs_offline": n.state in ("failed", "offline"),
                "open": n.state in UNDELIVERED,
                "channel": CHANNEL_NAMES.get(n.channel or "", n.channel or ""),
                "attempts": item.attempts if item else 0,
                "last_error": item.last_error if item and n.state == "queued" else None,
                "recorder": names.get(n.recorded_by_id, ""),
            }
        )
    return out


@bp.post("/leads/<int:lead_id>/notices/<int:notice_id>/offline")
@requires(*LEAD_ROLES)
def notice_offline(lead_id: int, notice_id: int):
    """Record that a party was told another way (method, date, who): the notice counts as delivered."""
    lead = visible_lead(lead_id, for_update=True)
    s = session()
    notice = s.get(LeadNotice, notice_id)
    back = redirect(url_for("console.lead", lead_id=lead_id, _anchor="notices"), code=303)
    if notice is None or notice.lead_id != lead.id:
        flash("找不到这份告知。", "error")
        return back
    staff = current_staff()
    form = {k: without_controls(request.form.get(k, "")).strip()[:64] for k in ("method", "on", "by")}
    today = deadlines.today_local(current_app)
    try:
        record_offline(
            s, lead, notice, method=form["method"], on=parse_date(form["on"]), by=form["by"], today=today,
            local_created=_local_day(current_app, notice.created_at), actor_id=staff.id,
        )  # fmt: skip
    except NoticeError as exc:
        s.rollback()
        flash(str(exc), "error")
        return back
    audit.record(s, "notice_offline", lead_id=lead.id, detail=f"{notice.title}：{form['method']}，{form['on']}")
    s.commit()
    flash(f"已登记：{notice.title}已于 {form['on']} 以{form['method']}方式告知。")
    return back
