"""Helpers for the push tests: a notice store holding given notices, followers, and the chat."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from bot.db import get_db, utcnow
from bot.models import Follower
from bot.wechat.messages import Context, Incoming
from bot.wechat.router import get_router


@dataclass
class Note:
    """A notice as the notice store gives it (the fields pushes read)."""

    slug: str
    title: str = "双11网购消费提示"
    summary: str = "理性消费，保存好订单和聊天记录。"
    category: str = "消费提示"
    date: date = date(2026, 11, 1)
    cover: str | None = None
    keywords: list = field(default_factory=list)
    expires: date | None = None
    push: list = field(default_factory=list)
    expired: bool = False


class Notices:
    """The NoticeStore interface (get / all) over a dict the test edits."""

    def __init__(self, *notices: Note) -> None:
        self.by_slug = {n.slug: n for n in notices}

    def get(self, slug):
        return self.by_slug.get(slug)

    def all(self):
        return list(self.by_slug.values())


def add_followers(app, n: int, prefix: str = "o", **values) -> list[str]:
    """Insert n subscribed followers; their openids."""
    openids = [f"{prefix}{i:06d}" for i in range(n)]
    with get_db(app).scope() as s:
        s.add_all(
            Follower(openid=o, subscribed=True, tags=values.get("tags", []), topics=values.get("topics", []))
            for o in openids
        )
    return openids


def say(app, openid: str, text: str = "", **event) -> str:
    """Route one message through the app's router in a request-like session (committed); the reply text."""
    msg = Incoming(openid=openid, type="event" if event else "text", content=text, **event)
    with app.app_context(), get_db(app).scope() as s:
        reply = get_router(app).route(Context(msg=msg, session=s, app=app, now=utcnow()))
    return getattr(reply, "content", "") if reply else ""
