"""Signs for staff to weigh (Art 17, Art 35 ¶2): related leads shown side by side, never acted on automatically."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.console.access import scope_leads
from bot.console.settings import ConsoleSettings
from bot.models import Lead, StaffUser

COLUMNS = (Lead.id, Lead.ticket, Lead.kind, Lead.status, Lead.business_name, Lead.received_on, Lead.branch)


def _related(s: Session, user: StaffUser, lead: Lead, *conditions) -> list:
    stmt = scope_leads(select(*COLUMNS).where(Lead.id != lead.id, *conditions), user)
    return s.execute(stmt.order_by(Lead.received_at.desc()).limit(20)).all()


def find_signs(s: Session, lead: Lead, user: StaffUser, settings: ConsoleSettings) -> list[dict]:
    """Each sign as {title, explain, rows}; only leads the user may see are counted or listed."""
    found: list[dict] = []
    if lead.phone_hash:
        rows = _related(s, user, lead, Lead.phone_hash == lead.phone_hash)
        if rows:
            found.append(
                {"title": "同一电话号码的其他线索", "explain": "多名投诉人共用同一电话号码（第十七条）", "rows": rows}
            )
    if lead.address_hash:
        rows = _related(s, user, lead, Lead.address_hash == lead.address_hash)
        if rows:
            found.append(
                {"title": "同一通讯地址的其他线索", "explain": "多名投诉人共用同一地址（第十七条）", "rows": rows}
            )
    if lead.openid and lead.kind == "complaint":
        days = settings.signs_window_days
        since = lead.received_on - timedelta(days=days)
        window = (Lead.openid == lead.openid, Lead.kind == "complaint", Lead.received_on >= since)
        count = s.scalar(scope_leads(select(func.count()).select_from(Lead).where(*window), user)) or 0
        if count >= settings.signs_many_complaints:
            rows = _related(s, user, lead, *window)
            explain = f"同一微信用户 {days} 天内提交投诉 {count} 件（第十七条：短时间内大量投诉）"
            found.append({"title": "短时间内多次投诉", "explain": explain, "rows": rows})
    if lead.openid and lead.kind == "report" and lead.business_name:
        same = (Lead.openid == lead.openid, Lead.kind == "report", Lead.business_name == lead.business_name)
        rows = _related(s, user, lead, *same)
        if rows:
            explain = "同一举报人对同一经营者的举报；事实相同的不再重复处理，有新事实的可合并（第三十五条第二款）"
            found.append({"title": "可能重复的举报", "explain": explain, "rows": rows})
    return found
