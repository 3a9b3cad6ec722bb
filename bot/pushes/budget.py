"""The platform's mass-send limits, checked before sending: 订阅号 once a day, 服务号 4 per follower a month."""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.config import AppSettings
from bot.models import Delivery, MassSend, Push
from bot.wechat.settings import WechatSettings

MONTHLY_LIMIT = 4
MONTHLY_FULL = "本月已收到 {n} 次群发，服务号每月最多向同一用户群发 4 次，本次跳过"
DAILY_FULL = "订阅号每天只能群发 1 次，今天已群发过（推送 #{push_id}，{at}），本次推送未发送"


def _local_midnight(app: Flask, now: datetime, first_of_month: bool = False) -> datetime:
    tz = ZoneInfo(AppSettings.of(app).timezone)
    day = now.astimezone(tz).date()
    if first_of_month:
        day = day.replace(day=1)
    return datetime.combine(day, time(0, 0), tzinfo=tz)


def account_type(app: Flask) -> str:
    """service (服务号) or subscription (订阅号), from `[wechat] account_type`."""
    return WechatSettings.of(app).account_type


def daily_refusal(session: Session, app: Flask, push: Push, now: datetime) -> str | None:
    """Why a subscription account may not mass-send this push today (None when it may, or has begun already)."""
    if account_type(app) != "subscription":
        return None
    if session.scalar(select(MassSend.id).where(MassSend.push_id == push.id).limit(1)) is not None:
        return None  # this push is the day's mass send: let it finish its batches
    earlier = session.execute(
        select(MassSend.push_id, MassSend.sent_at)
        .where(MassSend.sent_at >= _local_midnight(app, now), MassSend.push_id != push.id)
        .order_by(MassSend.sent_at)
        .limit(1)
    ).first()
    if earlier is None:
        return None
    tz = ZoneInfo(AppSettings.of(app).timezone)
    at = earlier.sent_at if earlier.sent_at.tzinfo else earlier.sent_at.replace(tzinfo=ZoneInfo("UTC"))
    return DAILY_FULL.format(push_id=earlier.push_id, at=at.astimezone(tz).strftime("%H:%M"))


def over_monthly_limit(session: Session, app: Flask, openids: list[str], now: datetime) -> dict[str, int]:
    """On a service account: the openids (of these) that already had 4 mass sends this month, with their count."""
    if account_type(app) != "service" or not openids:
        return {}
    stmt = (
        select(Delivery.openid, func.count())
        .join(Push, Push.id == Delivery.push_id)
        .where(
            Push.channel == "mass",
            Delivery.state == "sent",
            Delivery.sent_at >= _local_midnight(app, now, first_of_month=True),
            Delivery.openid.in_(openids),
        )
        .group_by(Delivery.openid)
    )
    return {openid: n for openid, n in session.execute(stmt) if n >= MONTHLY_LIMIT}
