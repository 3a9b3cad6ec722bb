"""Console actions on the statutory clock: pause mediation for appraisal (Art 22), extend verification (Art 35)."""

from __future__ import annotations

from flask import current_app, flash, redirect, request, url_for

from bot.console import audit, bp
from bot.console.access import LEAD_ROLES, current_staff, requires, visible_lead
from bot.console.cells import without_controls
from bot.console.lead import refused
from bot.db import session
from bot.leads import deadlines, periods
from bot.leads.settings import LeadsSettings
from bot.leads.workflow import TransitionError


def _apply(lead_id: int, action: str, done: str):
    lead = visible_lead(lead_id, for_update=True)
    s = session()
    app = current_app
    cal, today = deadlines.calendar_for(app), deadlines.today_local(app)
    periods_cfg = LeadsSettings.of(app)
    form = {k: without_controls(request.form.get(k, "")).strip()[:500] for k in ("reason", "approver")}
    try:
        if action == "pause":
            periods.pause_mediation(s, lead, today, form["reason"], current_staff().id)
        elif action == "resume":
            periods.resume_mediation(s, lead, today, periods_cfg.mediation_days, cal, current_staff().id)
        else:
            days = periods_cfg.verify_extension_working_days
            periods.extend_verification(s, lead, form["approver"], form["reason"], days, cal, current_staff().id)
    except TransitionError as exc:
        return refused(lead_id, str(exc))
    audit.record(s, f"clock_{action}", lead_id=lead.id, detail=form["reason"] or None)
    s.commit()
    flash(done)
    return redirect(url_for("console.lead", lead_id=lead_id), code=303)


@bp.post("/leads/<int:lead_id>/pause")
@requires(*LEAD_ROLES)
def lead_pause(lead_id: int):
    """Pause the mediation limit while goods are appraised or tested (Art 22)."""
    return _apply(lead_id, "pause", "调解期限已中止；鉴定或检测结束后请点击“恢复计算”。")


@bp.post("/leads/<int:lead_id>/resume")
@requires(*LEAD_ROLES)
def lead_resume(lead_id: int):
    """Restart the mediation limit; the paused days are added to it."""
    return _apply(lead_id, "resume", "调解期限已恢复计算，中止的天数已顺延。")


@bp.post("/leads/<int:lead_id>/extend")
@requires(*LEAD_ROLES)
def lead_extend(lead_id: int):
    """Extend a report's verification period once, with the approving head named (Art 35)."""
    return _apply(lead_id, "extend", "核查期限已延长。")
