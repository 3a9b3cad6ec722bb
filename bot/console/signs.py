"""Signs for staff to weigh (Art 17, Art 35 ¶2): related leads shown side by side, never acted on automatically."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import String, cast, func, or_, select
from sqlalchemy.orm import Session

from bot.console.access import scope_leads
from bot.console.settings import ConsoleSettings
from bot.models import Lead, StaffUser

COLUMNS = (Lead.id, Lead.ticket, Lead.kind, Lead.status, Lead.business_name, Lead.received_on, Lead.branch)
# Art 17: signs that a purchase was not for daily-life consumption, shared by several complainants.
SHARED = (
    ("phone_hash", "同一电话号码的其他投诉人", "电话号码"),
    ("address_hash", "同一通讯地址的其他投诉人", "通讯地址"),
)


def _related(s: Session, user: StaffUser, lead: Lead, *conditions) -> list:
    stmt = scope_leads(select(*COLUMNS).where(Lead.id != lead.id, *conditions), user)
    return s.execute(stmt.order_by(Lead.received_at.desc()).limit(20)).all()


def _others(lead: Lead) -> tuple:
    """Complaints by other people than this lead's complainant: one WeChat user is one person, whatever they filed
    (a complaint and the report filed with it are one person's, not two)."""
    other = (Lead.kind == "complaint", Lead.id != lead.id)
    if lead.openid:
        return (*other, or_(Lead.openid.is_(None), Lead.openid != lead.openid))
    return other


def _shared(s: Session, user: StaffUser, lead: Lead) -> list[dict]:
    """Other complainants using this complaint's phone number or mailing address, counted as people."""
    found = []
    for field, title, what in SHARED:
        value = getattr(lead, field)
        if not value:
            continue
        where = (getattr(Lead, field) == value, *_others(lead))
        person = func.coalesce(Lead.openid, cast(Lead.id, String))  # a lead with no WeChat user: its own person
        people = s.scalar(scope_leads(select(func.count(func.distinct(person))).where(*where), user)) or 0
        if people:
            explain = f"另有 {people} 名投诉人使用同一{what}（第十七条：多名投诉人共用同一电话号码或者地址）"
            found.append({"title": title, "explain": explain, "rows": _related(s, user, lead, *where)})
    return found


def _many(s: Session, user: StaffUser, lead: Lead, settings: ConsoleSettings, default_category: str) -> dict | None:
    """The same WeChat user's complaints in the window about the same business or the same kind of problem (the
    same category, unless it is the catch-all one)."""
    days = settings.signs_window_days
    since = lead.received_on - timedelta(days=days)
    same, named = [], []
    if lead.business_name:
        same.append(Lead.business_name == lead.business_name)
        named.append("同一经营者")
    if lead.category and lead.category != default_category:
        same.append(Lead.category == lead.category)
        named.append(f"同类问题（{lead.category}）")
    if not same:
        return None
    window = (Lead.openid == lead.openid, Lead.kind == "complaint", Lead.received_on >= since, or_(*same))
    count = s.scalar(scope_leads(select(func.count()).select_from(Lead).where(*window), user)) or 0
    if count < settings.signs_many_complaints:
        return None
    explain = f"同一微信用户 {days} 天内针对{'或'.join(named)}提交投诉 {count} 件（第十七条：短时间内大量投诉）"
    return {"title": "短时间内多次投诉", "explain": explain, "rows": _related(s, user, lead, *window)}


def find_signs(
    s: Session, lead: Lead, user: StaffUser, settings: ConsoleSettings, default_category: str = "其他"
) -> list[dict]:
    """Each sign as {title, explain, rows}; only leads the user may see are counted or listed."""
    found: list[dict] = []
    if lead.kind == "complaint":
        found += _shared(s, user, lead)
        many = _many(s, user, lead, settings, default_category) if lead.openid else None
        if many:
            found.append(many)
    if lead.openid and lead.kind == "report" and lead.business_name:
        same = (Lead.openid == lead.openid, Lead.kind == "report", Lead.business_name == lead.business_name)
        rows = _related(s, user, lead, *same)
        if rows:
            explain = "同一举报人对同一经营者的举报；事实相同的不再重复处理，有新事实的可合并（第三十五条第二款）"
            found.append({"title": "可能重复的举报", "explain": explain, "rows": rows})
    return found
