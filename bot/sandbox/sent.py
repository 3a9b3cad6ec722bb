"""/sandbox/outbox: every API call the app made to the sandbox platform, newest first, filtered by user and channel."""

from __future__ import annotations

import json
from zoneinfo import ZoneInfo

from flask import current_app, render_template, request
from sqlalchemy import select

from bot.config import AppSettings
from bot.db import session
from bot.models import SandboxCall, SandboxUser
from bot.sandbox.bubbles import call_summary
from bot.sandbox.chat import bp
from bot.sandbox.platform import aware

PAGE = 200
CHANNELS = {
    "custom": "客服消息",
    "template": "模板消息",
    "mass": "群发",
    "preview": "群发预览",
    "media": "素材下载",
    "menu": "菜单",
    "user": "用户与标签",
    "token": "access_token",
}


@bp.get("/outbox")
def outbox() -> str:
    """The recorded calls (200 a page, ?before=<id> for older ones), ?user=<openid> and ?channel=<name>."""
    s = session()
    user, channel = request.args.get("user") or "", request.args.get("channel") or ""
    before = request.args.get("before", type=int)
    query = select(SandboxCall).order_by(SandboxCall.id.desc()).limit(PAGE)
    if user:
        query = query.where(SandboxCall.openid == user)
    if channel:
        query = query.where(SandboxCall.channel == channel)
    if before:
        query = query.where(SandboxCall.id < before)
    calls = s.execute(query).scalars().all()
    nicknames = dict(s.execute(select(SandboxUser.openid, SandboxUser.nickname)).all())
    recipients = sorted(
        s.execute(select(SandboxCall.openid).where(SandboxCall.openid.is_not(None)).distinct()).scalars()
    )
    tz = ZoneInfo(AppSettings.of(current_app).timezone)
    rows = [
        {
            "id": c.id,
            "at": aware(c.at).astimezone(tz).strftime("%Y-%m-%d %H:%M:%S"),
            "path": c.path,
            "channel": CHANNELS.get(c.channel, c.channel),
            "openid": c.openid,
            "nickname": nicknames.get(c.openid or ""),
            "content": call_summary(c),
            "answer": json.dumps(c.response or {}, ensure_ascii=False)[:300],
            "errcode": c.errcode,
            "note": c.note,
        }
        for c in calls
    ]
    return render_template(
        "sandbox/outbox.html",
        rows=rows,
        channels=CHANNELS,
        recipients=recipients,
        nicknames=nicknames,
        user=user,
        channel=channel,
        older=calls[-1].id if len(calls) == PAGE else None,
    )
