"""Who a push reaches: active followers, WeChat tags, chat topics; read page by page (keyset), never all at once."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import Flask
from sqlalchemy import Row, select
from sqlalchemy.orm import Session

from bot.models import Delivery, Follower, Push
from bot.pushes import budget
from bot.pushes.settings import PushesSettings
from bot.pushes.sql import aware, insert_ignore
from bot.wechat.router import normalise

SERVICE_WINDOW = timedelta(hours=48)
NOT_ACTIVE = "48 小时内未与公众号互动，不能发送客服消息"


def topics(app: Flask) -> dict[str, str]:
    """The topics consumers may subscribe to: key -> Chinese name, from `[pushes] topics`."""
    return dict(PushesSettings.of(app).topics)


def find_topic(app: Flask, text: str) -> str | None:
    """The topic key a consumer's words name (by Chinese name or key, 双 11 = 双11), or None."""
    wanted = normalise(text)
    for key, name in topics(app).items():
        if wanted in (normalise(key), normalise(name)):
            return key
    return None


def follower_page(session: Session, after_id: int, size: int) -> list[Row]:
    """The next `size` subscribed followers after `after_id`, in id order (keyset pagination)."""
    stmt = (
        select(Follower.id, Follower.openid, Follower.tags, Follower.topics, Follower.last_message_at)
        .where(Follower.subscribed.is_(True), Follower.id > after_id)
        .order_by(Follower.id)
        .limit(size)
    )
    return list(session.execute(stmt))


def matcher(app: Flask, audience: str):
    """A predicate on a follower row for `all`, `tag:<tag>` or `topic:<topic>`."""
    kind, _, value = audience.partition(":")
    if kind == "tag":
        return lambda row: value in [str(t) for t in (row.tags or [])]
    if kind == "topic":
        key = find_topic(app, value) or value
        return lambda row: key in (row.topics or [])
    return lambda row: True


def expand_page(session: Session, app: Flask, push: Push, now: datetime, size: int) -> int:
    """Add the Delivery rows of the next page of followers; the number of followers read (0 = expansion done)."""
    rows = follower_page(session, push.expand_cursor or 0, size)
    if not rows:
        return 0
    wanted = matcher(app, push.audience)
    chosen = [row for row in rows if wanted(row)]
    over = budget.over_monthly_limit(session, app, [r.openid for r in chosen], now) if push.channel == "mass" else {}
    records = [_delivery(push, row, now, over) for row in chosen]
    insert_ignore(session, Delivery, records, ["push_id", "openid"])
    push.expand_cursor = rows[-1].id
    return len(rows)


def _delivery(push: Push, row: Row, now: datetime, over: dict[str, int]) -> dict[str, Any]:
    record: dict[str, Any] = {"push_id": push.id, "openid": row.openid, "state": "pending", "attempts": 0}
    record["error"] = None
    if push.channel == "custom" and (row.last_message_at is None or aware(row.last_message_at) < now - SERVICE_WINDOW):
        record["state"], record["error"] = "skipped", NOT_ACTIVE
    elif row.openid in over:
        record["state"], record["error"] = "skipped", budget.MONTHLY_FULL.format(n=over[row.openid])
    return record
