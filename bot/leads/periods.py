"""The statutory clock's two interruptions: mediation paused for appraisal or testing (Order 121 Art 22), and a
report's verification period extended once by 15 working days with the head's approval (Art 35, penalty-procedure
rules Art 18). Domain functions: they take a session, write a LeadEvent and never commit."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from bot.leads.deadlines import WorkCalendar, add_days, add_working_days
from bot.leads.notices import refresh_due
from bot.leads.workflow import TransitionError, is_open
from bot.models import Lead, LeadEvent

MEDIATING = ("已受理", "调解中")


def can_pause(lead: Lead) -> bool:
    return lead.kind == "complaint" and lead.status in MEDIATING and not (lead.extra or {}).get("paused_since")


def can_resume(lead: Lead) -> bool:
    return lead.kind == "complaint" and lead.status in MEDIATING and bool((lead.extra or {}).get("paused_since"))


def _refuse_closed(lead: Lead) -> None:
    """A closed lead has no deadline left to pause, resume or extend."""
    if not is_open(lead.status):
        raise TransitionError(f"此线索已结束办理（{lead.status}），不能再中止、恢复或延长期限。")


def can_extend(lead: Lead) -> bool:
    return lead.kind == "report" and lead.status in ("新线索", "核查中") and not (lead.extra or {}).get("extended")


def paused_days_left(lead: Lead) -> int | None:
    """While the mediation clock is paused: the days of the limit that were left when it stopped (they run again
    on resumption); None when it is not paused."""
    since = (lead.extra or {}).get("paused_since")
    if not since or lead.mediation_due is None or lead.status not in MEDIATING:
        return None
    return max(0, (lead.mediation_due - date.fromisoformat(since)).days)


def pause_mediation(s: Session, lead: Lead, today: date, reason: str, actor_id: int | None = None) -> LeadEvent:
    """Stop the 60-day mediation clock while goods are appraised or tested (Art 22); no deadline runs meanwhile."""
    _refuse_closed(lead)
    if not can_pause(lead):
        raise TransitionError("只有受理后、调解期间的投诉可以因鉴定或检测中止调解期限，且不能重复中止。")
    if not reason.strip():
        raise TransitionError("请写明鉴定或检测的事项。")
    lead.extra = {**(lead.extra or {}), "paused_since": today.isoformat()}
    refresh_due(s, lead)  # only a notice still owed keeps a deadline
    return _event(s, lead, actor_id, "clock_paused", reason, {"since": today.isoformat()})


def resume_mediation(
    s: Session, lead: Lead, today: date, mediation_days: int, cal: WorkCalendar | None = None,
    actor_id: int | None = None,
) -> LeadEvent:  # fmt: skip
    """Restart the clock: the days spent on appraisal or testing are added to the mediation limit."""
    _refuse_closed(lead)
    if not can_resume(lead):
        raise TransitionError("调解期限没有中止，无需恢复。")
    extra = dict(lead.extra or {})
    since = date.fromisoformat(extra.pop("paused_since"))
    paused = extra.get("paused_days", 0) + (today - since).days
    extra["paused_days"] = paused
    lead.extra = extra
    lead.mediation_due = add_days(lead.accepted_on or since, mediation_days + paused, cal)
    refresh_due(s, lead)
    detail = {"since": since.isoformat(), "paused_days": paused, "mediation_due": lead.mediation_due.isoformat()}
    return _event(s, lead, actor_id, "clock_resumed", None, detail)


def extend_verification(
    s: Session, lead: Lead, approver: str, reason: str, days: int, cal: WorkCalendar | None = None,
    actor_id: int | None = None,
) -> LeadEvent:  # fmt: skip
    """Extend a report's verification period once by `days` working days, with the approving head named."""
    _refuse_closed(lead)
    if not can_extend(lead):
        raise TransitionError("只有核查期间的举报可以延长核查期限，且只能延长一次。")
    if not approver.strip() or not reason.strip():
        raise TransitionError("延长核查期限须写明批准的负责人和理由。")
    base = lead.verify_due or lead.received_on
    lead.verify_due = add_working_days(base, days, cal)
    lead.next_due = lead.verify_due
    lead.extra = {**(lead.extra or {}), "extended": {"approver": approver.strip(), "days": days}}
    detail = {"approver": approver.strip(), "verify_due": lead.verify_due.isoformat()}
    return _event(s, lead, actor_id, "verify_extended", reason, detail)


def _event(s: Session, lead: Lead, actor_id: int | None, kind: str, text: str | None, detail: dict) -> LeadEvent:
    event = LeadEvent(lead_id=lead.id, actor_id=actor_id, kind=kind, text=(text or "").strip() or None, detail=detail)
    s.add(event)
    return event
