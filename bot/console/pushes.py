"""The editors' page: pushes with their reach and errors, and the notices published (no consumer data)."""

from __future__ import annotations

from flask import current_app, render_template
from sqlalchemy import func, select

from bot.console import bp
from bot.console.access import EDITOR_ROLES, requires
from bot.db import read_session
from bot.models import Delivery, Push
from bot.pushes.audience import topics
from bot.pushes.states import CHANNEL_NAMES, DELIVERY_STATES, PUSH_STATES, audience_name


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
    known = topics(current_app)
    return render_template(
        "console/pushes.html",
        rows=rows,
        counts=counts,
        titles={p.notice_slug: _title(store, p.notice_slug) for p in rows},
        audiences={p.id: audience_name(p.audience, known) for p in rows},
        push_states=PUSH_STATES,
        states=DELIVERY_STATES,
        channels=CHANNEL_NAMES,
        notices=notices,
        has_store=bool(store),
    )


def _title(store, slug: str) -> str:
    """The notice's title when the store still has it; else its file name (slug)."""
    get = getattr(store, "get", None) if store else None
    notice = get(slug) if get else None
    return getattr(notice, "title", None) or slug
