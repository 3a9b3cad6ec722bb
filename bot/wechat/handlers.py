"""The webhook's own handlers: follow / unfollow bookkeeping, QR scans, the ALERTS and GUIDES menu keys, defaults."""

from __future__ import annotations

import logging
from datetime import timedelta

from flask import Flask
from sqlalchemy import bindparam, delete, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from bot.db.statements import Prepared, dialect_insert
from bot.models import DialogueState, Follower
from bot.models.followers import SET_IN_DIALOGUE, in_dialogue_when_created
from bot.wechat import replies
from bot.wechat.messages import Context, Incoming, Reply, TextReply
from bot.wechat.router import get_router

log = logging.getLogger(__name__)

# What opens the 48-hour customer-service window besides a message: following, scanning our QR code, a menu click.
WINDOW_EVENTS = frozenset({"subscribe", "scan", "click", "scancode_push", "scancode_waitmsg"})
ALERTS, GUIDES = "消费提示", "维权指南"


def _upsert(session: Session, openid: str, values: dict, on_conflict: dict) -> None:
    """Insert the follower or update it, in one statement (safe when two messages of a new user race)."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(Follower).values(openid=openid, tags=[], topics=[], **values)
    session.execute(stmt.on_conflict_do_update(index_elements=[Follower.openid], set_=on_conflict))


def _touch(dialect: str):
    table = Follower.__table__
    # A new follower row learns whether a dialogue exists already (only possible for rows made outside the webhook).
    ins = dialect_insert(dialect, table).values(
        openid=bindparam("openid"),
        subscribed=True,
        tags=[],
        topics=[],
        last_message_at=bindparam("now"),
        **in_dialogue_when_created(bindparam("openid")),
    )
    return ins.on_conflict_do_update(
        index_elements=[table.c.openid], set_={"last_message_at": ins.excluded.last_message_at}
    ).returning(table.c.in_dialogue)


# Note the time of a user's message or action (the 48-hour window), creating the follower when unknown; returns
# whether the user is in a dialogue (the row's flag, current even when another process just changed it: the upsert
# waits for that transaction and returns the row as it committed it).
TOUCH = Prepared(_touch)
# A message without effect from a user who wrote within this time does not write the follower again:
# last_message_at may lag the newest message by this much, which only ever makes the 48-hour service window look
# shorter than it is (never longer).
TOUCH_EVERY = timedelta(seconds=60)


def touches_follower(msg: Incoming) -> bool:
    """Whether this message or event opens the 48-hour window (the webhook then runs TOUCH before routing)."""
    if msg.type == "event":
        return msg.event in WINDOW_EVENTS and msg.event != "subscribe"  # subscribe() writes the whole row
    return True


def subscribe(ctx: Context) -> Reply:
    """Follow: create or reactivate the follower (a QR scene is kept) and send the welcome."""
    values = {"subscribed": True, "subscribed_at": ctx.now, "unsubscribed_at": None, "last_message_at": ctx.now}
    raw_key = ctx.msg.raw.get("EventKey")
    scene = ctx.msg.key[:64] if isinstance(raw_key, str) and raw_key.strip().startswith("qrscene_") else None
    if scene:
        values["scene"] = scene
    _upsert(ctx.session, ctx.msg.openid, {**values, "created_at": ctx.now}, values)
    return TextReply(replies.phrase(ctx.app, "welcome"))


def unsubscribe(ctx: Context) -> Reply:
    """Unfollow: the follower is inactive and its profile data is deleted; leads (and their openid) are kept."""
    ctx.session.execute(
        update(Follower)
        .where(Follower.openid == ctx.msg.openid)
        .values(subscribed=False, unsubscribed_at=ctx.now, nickname=None, tags=[], topics=[])
    )
    # The dialogue's interceptor has discarded an open dialogue already; this also covers an app without it.
    ctx.session.execute(delete(DialogueState).where(DialogueState.openid == ctx.msg.openid))
    SET_IN_DIALOGUE.execute(ctx.session, openid=ctx.msg.openid, value=False)
    return None


def scan(ctx: Context) -> Reply:
    """A follower scanned one of our QR codes."""
    return TextReply(replies.phrase(ctx.app, "welcome_back"))


def unknown_menu(ctx: Context) -> Reply:
    """A CLICK whose key no feature handles (an old menu still on a phone): log it and say what we can do."""
    log.warning("menu key without a handler key=%s", ctx.msg.key[:40])
    return default(ctx)


def quiet(ctx: Context) -> Reply:
    """Events that need no answer (VIEW, LOCATION, send-job reports): `success`."""
    return None


def media(ctx: Context) -> Reply:
    """A photo, voice, video, location or link outside any dialogue (recognised speech is treated as text)."""
    if ctx.msg.text:
        return default(ctx)
    return TextReply(replies.phrase(ctx.app, "media"))


def default(ctx: Context) -> Reply:
    """Nothing matched (notices' keywords were tried by the text handler): what the account can do, and a search."""
    return TextReply(replies.phrase(ctx.app, "help", search=replies.search_url(ctx.app, ctx.msg.text)))


def init_app(app: Flask) -> None:
    """Register the webhook's handlers on the app's router."""
    router = get_router(app)
    router.event("subscribe")(subscribe)
    router.event("unsubscribe")(unsubscribe)
    router.event("scan", pure=True)(scan)
    router.event("click", pure=True)(unknown_menu)
    router.event("view", "location", "templatesendjobfinish", "masssendjobfinish", pure=True)(quiet)
    router.message("image", "voice", "video", "shortvideo", "location", "link", pure=True)(media)
    router.menu("ALERTS", pure=True)(lambda ctx: replies.notice_list(ctx.app, ALERTS))
    router.menu("GUIDES", pure=True)(lambda ctx: replies.notice_list(ctx.app, GUIDES))
    if router.fallback is None:
        router.fallback = default
        router.pure.add(default)
