"""Template filters and globals of the console pages."""

from __future__ import annotations

from flask import current_app

from bot.console import bp
from bot.console.access import ROLES, current_staff
from bot.console.forms import local_time
from bot.leads.create import rules
from bot.privacy import mask_phone, mask_text

bp.add_app_template_filter(local_time, "local_time")
bp.add_app_template_filter(mask_phone, "mask_phone")
bp.add_app_template_filter(mask_text, "mask_text")


@bp.app_template_filter("branch_name")
def branch_name(code: str | None) -> str:
    """A branch's name from content/branches.toml (石岐街道分局 for shiqi); 待分派 for none; an unknown code as is."""
    if not code:
        return "待分派"
    branches = rules(current_app).branches
    return branches.name(code) if code in branches.branches else code


@bp.app_context_processor
def _globals() -> dict:
    return {"staff": current_staff(), "role_names": ROLES}
