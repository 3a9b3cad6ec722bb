"""Helpers for the push tests: notices with push plans, followers (here and at the standin), the chat."""

from __future__ import annotations

from bot.db import get_db, utcnow
from bot.models import Follower
from bot.notice_replies import NoticesSettings
from bot.wechat.messages import Context, Incoming
from bot.wechat.router import get_router

NOTICE = """---
title: {title}
date: 2026-11-01
category: 消费提示
keywords: [{slug}]
summary: 理性消费，看清规则再付款，保存好订单和聊天记录。
{push}---

“双11”促销规则多，请按需购买、理性消费。
"""


def write_notice(app, slug: str, push: list[dict] | None = None, title: str = "双11网购消费提示") -> None:
    """Write (or rewrite) an editor's notice file with a push plan in its front matter, and reload the store."""
    from pathlib import Path

    plan = ""
    if push:
        plan = "push:\n" + "".join(
            f'  - {{at: "{p["at"]}", channel: {p["channel"]}, audience: "{p["audience"]}"}}\n' for p in push
        )
    folder = Path(NoticesSettings.of(app).content_dir)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{slug}.md").write_text(NOTICE.format(title=title, slug=slug, push=plan), encoding="utf-8")
    app.extensions["notices"].refresh(force=True)


def notices_config(tmp_path) -> dict:
    """A [notices] section on an empty content folder of the test's own."""
    return {"content_dir": str(tmp_path / "notices"), "reload_seconds": 0}


def add_followers(app, n: int, prefix: str = "o", standin=None, **values) -> list[str]:
    """Insert n subscribed followers (also as users the standin knows, when given); their openids."""
    openids = [f"{prefix}{i:06d}" for i in range(n)]
    written = {"tags": values.get("tags", []), "topics": values.get("topics", [])}
    last = values.get("last_message_at", utcnow())
    with get_db(app).scope() as s:
        s.add_all(Follower(openid=o, subscribed=True, last_message_at=last, **written) for o in openids)
    if standin is not None:
        now = utcnow()
        with get_db(standin.app).scope() as s:
            s.add_all(Follower(openid=o, subscribed=True, subscribed_at=now, last_message_at=last) for o in openids)
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


def push_config(db_url: str, standin, tmp_path, wechat: dict | None = None, **pushes) -> dict:
    """Test settings for pushes against the standin: fast retries, no quiet hours, a template ID, own notices."""
    return standin.config(db_url, wechat=wechat or {}, pushes={**FAST, **pushes}, notices=notices_config(tmp_path))


def schedule(app, slug: str = "double11", channel: str = "template", audience: str = "all", at=None) -> int:
    """Add a push (due a minute ago unless `at`) to a notice's front matter, sync; the push's id."""
    from datetime import timedelta

    from sqlalchemy import select

    from bot.models import Push
    from bot.pushes.schedule import local_tz, sync

    tz = local_tz(app)
    when = at or (utcnow() - timedelta(minutes=1)).astimezone(tz).strftime("%Y-%m-%d %H:%M")
    existing = app.extensions["notices"].get(slug)
    plans = [p | {"at": p["at"].astimezone(tz).strftime("%Y-%m-%d %H:%M")} for p in (existing.push if existing else [])]
    write_notice(app, slug, [*plans, {"at": when, "channel": channel, "audience": audience}])
    with get_db(app).scope() as s:
        sync(s, app, utcnow())
        return s.scalars(select(Push.id).where(Push.notice_slug == slug).order_by(Push.id)).all()[-1]


def received(standin, path: str = "message/template/send") -> dict[str, int]:
    """How many messages each openid got at the standin, as the platform counts them.

    A call counts when the platform accepted it (errcode 0, not an injected fault); template messages with the same
    client_msg_id count once, as the platform de-duplicates them.
    """
    seen: dict[str, set] = {}
    for call in standin.calls(path):
        answer = call.answer if isinstance(call.answer, dict) else {}
        if call.fault in ("fail", "drop") or answer.get("errcode", -1) != 0:
            continue
        key = call.body.get("client_msg_id") or f"call-{id(call)}"
        seen.setdefault(call.body["touser"], set()).add(key)
    return {openid: len(keys) for openid, keys in seen.items()}


def _toml(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return repr(value)


def write_config(folder, cfg: dict):
    """Settings as a TOML file for a child process (APP_CONFIG); its path."""
    from pathlib import Path

    lines = []
    for section, values in cfg.items():
        lines.append(f"[{section}]")
        lines += [f"{key} = {_toml(value)}" for key, value in values.items()]
    path = Path(folder) / "child.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
