"""Starting a due push: the checks that refuse it before anything is sent, then the first state."""

from __future__ import annotations

from datetime import datetime

from flask import Flask
from sqlalchemy.orm import Session

from bot.models import Push
from bot.pushes import budget
from bot.pushes.settings import PushesSettings

NO_NOTICE = "公告 {slug} 不存在或已下线，推送未发送"
EXPIRED = "公告 {slug} 已过期，推送未发送"
DRAFT = "公告 {slug} 还是草稿（draft: true），推送未发送"
NO_TEMPLATE = "没有配置模板消息的 template_id（[pushes] template_id），推送未发送"
SUBSCRIPTION_TEMPLATE = "订阅号不能发送模板消息，请改用 mass（群发）或 custom（客服消息）渠道"


def refusal(app: Flask, session: Session, push: Push, now: datetime) -> str | None:
    """Why this push cannot be sent at all (None when it can)."""
    store = app.extensions.get("notices")
    notice = store.get(push.notice_slug) if store is not None else None
    if notice is None:
        drafted = store is not None and hasattr(store, "draft") and store.draft(push.notice_slug) is not None
        return (DRAFT if drafted else NO_NOTICE).format(slug=push.notice_slug)
    if getattr(notice, "expired", False):
        return EXPIRED.format(slug=push.notice_slug)
    if push.channel == "template":
        if budget.account_type(app) == "subscription":
            return SUBSCRIPTION_TEMPLATE
        if not PushesSettings.of(app).template_id:
            return NO_TEMPLATE
    if push.channel == "mass":
        return budget.daily_refusal(session, app, push, now)
    return None


def start_push(session: Session, app: Flask, push: Push, now: datetime, owner: str) -> None:
    """Move a due (or paused) push on: refused with the reason, or expanding / sending again."""
    why = refusal(app, session, push, now)
    if why is not None:
        push.state, push.last_error, push.finished_at = "refused", why, now
        push.report = {**push.report, "refused": why}
        return
    if push.started_at is None:
        push.started_at = now
    push.state = "sending" if push.report.get("expanded") else "expanding"
    push.claimed_by, push.claimed_until = owner, None  # any sender may take the expansion (claims.take_expansion)
