"""Template filters and globals of the console pages."""

from __future__ import annotations

from flask import current_app, g
from sqlalchemy import func, select

from bot.console import bp
from bot.console.access import ROLES, current_staff
from bot.console.forms import local_time
from bot.db import read_session
from bot.leads import deadlines
from bot.leads.create import rules
from bot.leads.rules import UNASSIGNED
from bot.leads.workflow import OPEN_STATUSES
from bot.models import Lead
from bot.privacy import mask_phone, mask_text

bp.add_app_template_filter(local_time, "local_time")
bp.add_app_template_filter(mask_phone, "mask_phone")
bp.add_app_template_filter(mask_text, "mask_text")


@bp.app_template_filter("branch_name")
def branch_name(code: str | None) -> str:
    """A branch's name from content/branches.toml (石岐街道分局 for shiqi); 待分派 for none; an unknown code as is."""
    if not code:
        return UNASSIGNED
    branches = rules(current_app).branches
    return branches.name(code) if code in branches.branches else code


@bp.app_context_processor
def _globals() -> dict:
    staff = current_staff()
    admin = staff is not None and staff.role == "admin"
    gaps = calendar_gaps() if admin and not g.get("database_busy") else []
    return {"staff": staff, "role_names": ROLES, "calendar_gaps": gaps}


def calendar_gaps() -> list[str]:
    """For admins: the years whose holiday arrangement is not known while an open lead's deadline falls in them."""
    latest = read_session().scalar(select(func.max(Lead.next_due)).where(Lead.status.in_(OPEN_STATUSES)))
    if latest is None:
        return []
    cal, first = deadlines.calendar_for(current_app), deadlines.today_local(current_app).year
    return [cal.year(y).describe() for y in range(first, latest.year + 1) if not cal.year(y).complete]
