"""The pushes side of the chat: topic subscriptions (订阅 / 退订 / 我的订阅, the TOPICS menu) and send receipts."""

from __future__ import annotations

import re

from flask import Flask
from sqlalchemy import select

from bot.models import Delivery, Follower, MassSend, Push
from bot.pushes.audience import find_topic, topics
from bot.wechat.messages import Context, Reply, TextReply
from bot.wechat.router import get_router

SUBSCRIBE = r"^\s*(订阅|关注|退订|取消订阅)\s*[:：]?\s*(.*)$"


def register(app: Flask) -> None:
    """Put the handlers on the app's router."""
    router = get_router(app)
    router.keyword(SUBSCRIBE, mode="regex", name="pushes.topics", priority=20)(on_subscribe)
    router.keyword("我的订阅", "订阅列表", "查看订阅", name="pushes.mine", priority=20, pure=True)(on_mine)
    router.menu("TOPICS", pure=True)(on_mine)
    router.event("masssendjobfinish")(on_mass_finished)
    router.event("templatesendjobfinish")(on_template_finished)


def _follower(ctx: Context) -> Follower:
    follower = ctx.session.scalars(select(Follower).where(Follower.openid == ctx.msg.openid)).first()
    if follower is None:  # someone talking to us follows us, even if we missed the subscribe event
        follower = Follower(openid=ctx.msg.openid, subscribed=True, subscribed_at=ctx.now, tags=[], topics=[])
        ctx.session.add(follower)
    return follower


def _names(ctx: Context, keys: list[str]) -> str:
    known = topics(ctx.app)
    return "、".join(f"“{known.get(k, k)}”" for k in keys)


def _menu(ctx: Context) -> str:
    return "可以订阅的提醒有：" + _names(ctx, list(topics(ctx.app))) + "。回复“订阅”加名称即可，例如“订阅 双11”。"


def on_subscribe(ctx: Context) -> Reply:
    """订阅 双11 / 退订 双11: add or remove a topic, and say so plainly."""
    verb, rest = re.match(SUBSCRIBE, ctx.msg.text).groups()
    key = find_topic(ctx.app, rest) if rest else None
    if key is None:
        prefix = f"暂时没有“{rest.strip()}”这类提醒。" if rest.strip() else ""
        return TextReply(prefix + _menu(ctx))
    follower = _follower(ctx)
    name = topics(ctx.app)[key]
    current = list(follower.topics or [])
    if verb in ("订阅", "关注"):
        if key in current:
            return TextReply(f"您已经订阅了“{name}”提醒，不用重复订阅。")
        follower.topics = [*current, key]
        return TextReply(f"已为您订阅“{name}”提醒，有相关消费提示时会推送给您。回复“退订 {name}”可随时取消。")
    if key not in current:
        return TextReply(f"您没有订阅“{name}”提醒，不需要退订。")
    follower.topics = [k for k in current if k != key]
    return TextReply(f"已为您退订“{name}”提醒，今后不再推送这类消息。")


def on_mine(ctx: Context) -> Reply:
    """我的订阅 and the TOPICS menu: what this follower subscribes to, and what is on offer."""
    follower = ctx.session.scalars(select(Follower).where(Follower.openid == ctx.msg.openid)).first()
    mine = [k for k in (follower.topics if follower else []) or [] if k in topics(ctx.app)]
    if not mine:
        return TextReply("您还没有订阅任何提醒。" + _menu(ctx))
    return TextReply(f"您目前订阅了：{_names(ctx, mine)}。回复“退订”加名称可以取消。\n" + _menu(ctx))


def _raw(ctx: Context, *names: str) -> str:
    for name in names:
        value = ctx.msg.raw.get(name)
        if value not in (None, ""):
            return str(value)
    return ""


def on_mass_finished(ctx: Context) -> Reply:
    """MASSSENDJOBFINISH: the platform's final counts of one mass send, onto the send and its push's report."""
    msg_id = _raw(ctx, "MsgID", "MsgId", "msg_id", "msgid") or ctx.msg.msg_id
    send = ctx.session.scalars(select(MassSend).where(MassSend.msg_id == msg_id)).first() if msg_id else None
    if send is None:
        return None
    names = {"total": "TotalCount", "filtered": "FilterCount", "sent": "SentCount", "errors": "ErrorCount"}
    send.status = _raw(ctx, "Status", "status") or send.status
    send.counts = {key: int(_raw(ctx, field) or 0) for key, field in names.items()}
    push = ctx.session.get(Push, send.push_id)
    if push is not None:
        platform = dict(push.report.get("platform", {}))
        platform[send.clientmsgid] = {"status": send.status, **send.counts}
        push.report = {**push.report, "platform": platform}
    return None


def on_template_finished(ctx: Context) -> Reply:
    """TEMPLATESENDJOBFINISH: a template message the platform could not deliver becomes a failure in the report."""
    status = _raw(ctx, "Status", "status")
    msg_id = _raw(ctx, "MsgID", "MsgId") or ctx.msg.msg_id
    if not msg_id or status in ("", "success"):
        return None
    delivery = ctx.session.scalars(
        select(Delivery).where(Delivery.msgid == msg_id, Delivery.openid == ctx.msg.openid)
    ).first()
    if delivery is not None and delivery.state == "sent":
        delivery.state, delivery.error = "failed", f"平台回执：未送达（{status}）"
        return None
