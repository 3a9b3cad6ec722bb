"""The editors' page: pushes with their reach and errors, and the notices published (no consumer data)."""

from __future__ import annotations

from flask import current_app, render_template
from sqlalchemy import func, select

from bot.console import bp
from bot.console.access import EDITOR_ROLES, requires
from bot.db import read_session
from bot.models import Delivery, Push

DELIVERY_STATES = {"sent": "已送达", "pending": "待发送", "skipped": "跳过", "failed": "失败"}


@bp.get("/pushes")
@requires(*EDITOR_ROLES)
def pushes():
    """The latest pushes with delivery counts per state, and the notice store's notices."""
    s = read_session()
    rows = s.scalars(select(Push).order_by(Push.due_at.desc()).limit(100)).all()
    counts: dict[int, dict[str, int]] = {}
    if rows:
        stmt = (
            select(Delivery.push_id, Delivery.state, func.count())
            .where(Delivery.push_id.in_([p.id for p in rows]))
            .group_by(Delivery.push_id, Delivery.state)
        )
        for push_id, state, n in s.execute(stmt):
            counts.setdefault(push_id, {})[state] = n
    store = current_app.extensions.get("notices")
    notices = sorted(store.all(), key=lambda n: str(n.date), reverse=True)[:100] if store else []
    return render_template(
        "console/pushes.html", rows=rows, counts=counts, states=DELIVERY_STATES, notices=notices, has_store=bool(store)
    )
