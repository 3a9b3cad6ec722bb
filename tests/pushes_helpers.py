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


FAST = {
    "template_id": "TPL-ALERT",
    "quiet_start": "00:00",
    "quiet_end": "00:00",  # no quiet hours unless a test sets them
    "rate_per_second": 2000,
    "concurrency": 4,
    "batch_size": 50,
    "claim_timeout_seconds": 1,
    "retry_base_seconds": 0.05,
    "quota_pause_seconds": 1,
}


def push_config(db_url: str, standin_url: str, wechat: dict | None = None, **pushes) -> dict:
    """Test settings for a push against the standin: fast retries, no quiet hours, a template ID."""
    from tests.conftest import make_config

    return make_config(db_url, wechat={"api_base_url": standin_url, **(wechat or {})}, pushes={**FAST, **pushes})


def schedule(app, slug: str = "double11", channel: str = "template", audience: str = "all", at=None) -> int:
    """Give the app a notice whose front matter schedules one push (due now unless `at`), sync; the push's id."""
    from datetime import timedelta

    from sqlalchemy import select

    from bot.models import Push
    from bot.pushes.schedule import local_tz, sync

    when = at or (utcnow() - timedelta(minutes=1)).astimezone(local_tz(app)).strftime("%Y-%m-%d %H:%M")
    store = app.extensions.setdefault("notices", Notices())
    note = store.by_slug.setdefault(slug, Note(slug))
    note.push.append({"at": when, "channel": channel, "audience": audience})
    with get_db(app).scope() as s:
        sync(s, app, utcnow())
        return s.scalars(select(Push.id).where(Push.notice_slug == slug, Push.channel == channel)).all()[-1]


def received(standin, path: str = "message/template/send") -> dict[str, int]:
    """How many messages each openid got at the standin (accepted calls; a repeat it de-duplicated is not counted)."""
    counts: dict[str, int] = {}
    for call in standin.calls(path):
        if call["errcode"] == 0 and not call.get("duplicate"):
            counts[call["openid"]] = counts.get(call["openid"], 0) + 1
    return counts


def manual_push(app, slug: str = "double11", channel: str = "template", audience: str = "all") -> int:
    """A push due now that no notice schedules (source manual: the sync leaves it alone); its id."""
    from bot.models import Push

    store = app.extensions.setdefault("notices", Notices())
    store.by_slug.setdefault(slug, Note(slug))
    with get_db(app).scope() as s:
        push = Push(notice_slug=slug, channel=channel, audience=audience, due_at=utcnow(), run_after=utcnow())
        push.source = "manual"
        s.add(push)
        s.flush()
        return push.id
