"""Template filters and globals of the console pages."""

from __future__ import annotations

from bot.console import bp
from bot.console.access import ROLES, current_staff
from bot.console.forms import local_time
from bot.privacy import mask_phone, mask_text

bp.add_app_template_filter(local_time, "local_time")
bp.add_app_template_filter(mask_phone, "mask_phone")
bp.add_app_template_filter(mask_text, "mask_text")


@bp.app_context_processor
def _globals() -> dict:
    return {"staff": current_staff(), "role_names": ROLES}
