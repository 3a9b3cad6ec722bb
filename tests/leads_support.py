"""Helpers for the dialogue, leads and outbox tests: a consumer chatting through the app's router."""

from __future__ import annotations

import itertools
import tomllib
from datetime import datetime, timedelta
from pathlib import Path

from bot.db import get_db
from bot.wechat.messages import Context, Incoming
from bot.wechat.router import get_router
from tests.timekeeping import START

ROOT = Path(__file__).resolve().parent.parent
TEXTS = tomllib.loads((ROOT / "content" / "dialogue.toml").read_text(encoding="utf-8"))
_ids = itertools.count(7_000_000_000_000_000)

# A Monday in 2026 with no holiday in the next 7 working days (2026-11-30 .. 2026-12-09): where every test starts.
MONDAY = START  # 10:00 in Shanghai


def text(path: str, **fmt) -> str:
    """A wording from content/dialogue.toml, formatted."""
    node = TEXTS
    for part in path.split("."):
        node = node[part]
    return node.format(**fmt) if fmt else node


PROMPT = {
    "online": text("steps.online.prompt"),
    "business": text("steps.business.prompt_offline"),
    "address": text("steps.address.prompt_offline"),
    "item": text("steps.item.prompt"),
    "when": text("steps.when.prompt"),
    "amount": text("steps.amount.prompt"),
    "facts": text("steps.facts.prompt"),
    "request": text("steps.request.prompt"),
    "also_report": text("steps.also_report.prompt"),
    "name": text("steps.name.prompt"),
    "phone": text("steps.phone.prompt"),
    "mail_address": text("steps.mail_address.prompt"),
    "confirm": "请核对您填写的内容",
}


class Chat:
    """One consumer talking to one app; each message is routed and committed like a webhook request."""

    def __init__(self, app, openid: str = "o-consumer-0001", now: datetime = MONDAY) -> None:
        self.app, self.openid, self.now = app, openid, now

    def send(self, content: str = "", *, type: str = "text", msg_id: str | None = None, **fields) -> str | None:
        """Send a message (text by default) and return the reply's text (None for no reply)."""
        msg = Incoming(
            openid=self.openid,
            type=type,
            content=content,
            msg_id=msg_id or str(next(_ids)),
            create_time=int(self.now.timestamp()),
            **fields,
        )
        with self.app.app_context(), get_db(self.app).scope() as session:
            reply = get_router(self.app).route(Context(msg, session, self.app, self.now))
        self.now += timedelta(seconds=5)
        return getattr(reply, "content", None) if reply is not None else None

    def click(self, key: str) -> str | None:
        return self.send(type="event", event="click", key=key)

    def photo(self, media_id: str) -> str | None:
        return self.send(type="image", media_id=media_id, pic_url=f"http://mmbiz.example/{media_id}")

    def location(self, label: str, lat: float = 22.64, lng: float = 113.25) -> str | None:
        return self.send(type="location", label=label, latitude=lat, longitude=lng)


OFFLINE_COMPLAINT = [
    ("投诉", "online"),
    ("2", "business"),
    ("好再来快餐店", "address"),
    ("小榄镇升平中路8号", "item"),
    ("盒饭一份", "when"),
    ("11月28日中午", "amount"),
    ("25元", "facts"),
    ("饭菜里吃出一根头发，找店家退款被拒绝，态度很差。", "request"),
    ("退款25元并道歉", "also_report"),
    ("否", "name"),
    ("张三丰", "phone"),
    ("138 0013 8000", "mail_address"),
    ("中山市东区中山四路1号", "confirm"),
]


def file_complaint(chat: Chat, answers=OFFLINE_COMPLAINT) -> str | None:
    """Answer every question; return the reply to 确认."""
    for answer, _ in answers:
        chat.send(answer)
    return chat.send("确认")
