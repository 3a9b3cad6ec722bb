"""One inbound message, one small transaction: the nonce, the de-duplication row, the handler and the stored reply.

A retry (same sender and MsgId, or for events the same sender, CreateTime and event) finds the row and gets the
reply stored with it, so it never causes a second effect. Two copies arriving at once meet at the unique key: the
database makes the second wait for the first's commit, and it then returns the first's reply.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import Flask
from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from bot.db import utcnow
from bot.models import InboundMessage
from bot.models.webhook import WebhookNonce
from bot.wechat import replies
from bot.wechat.handlers import touch_follower
from bot.wechat.messages import Context, Incoming, TextReply
from bot.wechat.protocol import KNOWN_EVENTS, KNOWN_TYPES, Refused, dedupe_key
from bot.wechat.render import SUCCESS, render
from bot.wechat.router import get_router

log = logging.getLogger(__name__)
PURGE_EVERY = 60.0  # seconds between two clean-ups of expired nonces in one process


@dataclass(frozen=True)
class Envelope:
    """A verified, decoded request: the message, the query's timestamp and nonce, and our account's id."""

    msg: Incoming
    timestamp: str
    nonce: str
    account: str


def _dialect(session: Session):
    return postgresql if session.get_bind().dialect.name == "postgresql" else sqlite


def claim_nonce(session: Session, nonce: str, key: str, now: datetime, window: int) -> None:
    """Remember the nonce; refuse it when it came before with another message (a replay with a new body)."""
    expires = now + timedelta(seconds=2 * window)
    ins = _dialect(session).insert(WebhookNonce).values(nonce=nonce, dedupe_key=key, expires_at=expires)
    stmt = ins.on_conflict_do_update(
        index_elements=[WebhookNonce.nonce],
        set_={"dedupe_key": key, "expires_at": expires},
        where=WebhookNonce.expires_at < now,  # an expired row not yet purged is taken over
    ).returning(WebhookNonce.nonce)
    if session.scalar(stmt) is not None:
        return
    seen = session.scalar(select(WebhookNonce.dedupe_key).where(WebhookNonce.nonce == nonce))
    if seen != key:
        raise Refused(403, "nonce already used within the replay window")
    # The same nonce with the same message: a duplicate delivery, answered from the stored reply below.


def claim_message(session: Session, msg: Incoming, key: str, now: datetime) -> int | None:
    """Insert the de-duplication row and return its id, or None when the message was seen before."""
    kind = msg.type if msg.type != "event" else f"event:{msg.event}"
    stmt = (
        _dialect(session)
        .insert(InboundMessage)
        .values(dedupe_key=key, openid=msg.openid, msg_type=kind[:32], received_at=now)
        .on_conflict_do_nothing(index_elements=[InboundMessage.dedupe_key])
        .returning(InboundMessage.id)
    )
    return session.scalar(stmt)


class Inbox:
    """The message pipeline of one app (settings read once)."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.window = app.config["SETTINGS"]["wechat"]["replay_window"]
        self._purged = 0.0

    def process(self, session: Session, env: Envelope) -> str:
        """The plain reply body for a verified message (stored XML for a retry); commits one transaction."""
        now, key = utcnow(), dedupe_key(env.msg)
        try:
            self._purge(session, now)
            claim_nonce(session, env.nonce, key, now, self.window)
            row_id = claim_message(session, env.msg, key, now)
            if row_id is None:
                stored = session.scalar(select(InboundMessage.reply).where(InboundMessage.dedupe_key == key))
                session.commit()
                return stored or SUCCESS
            touch_follower(session, env.msg, now)
            body = self._answer(session, env, now)
            session.execute(update(InboundMessage).where(InboundMessage.id == row_id).values(reply=body))
            session.commit()
            return body
        except BaseException:
            session.rollback()
            raise

    def _answer(self, session: Session, env: Envelope, now: datetime) -> str:
        """Route and render inside a savepoint: a handler that raises leaves nothing behind and gets an apology."""
        msg = env.msg
        if not self._understood(msg):
            log.info("unhandled message type=%s event=%s answered success", msg.type[:32], msg.event[:40])
            return SUCCESS
        try:
            with session.begin_nested():
                reply = get_router(self.app).route(Context(msg, session, self.app, now))
                body = render(reply, msg, env.account, int(time.time()))
                session.flush()
            return body
        except Exception:
            log.exception(
                "handler failed type=%s event=%s msg_id=%s create_time=%s",
                msg.type[:32],
                msg.event[:40],
                msg.msg_id,
                msg.create_time,
            )
            return render(TextReply(replies.phrase(self.app, "apology")), msg, env.account, int(time.time()))

    def _understood(self, msg: Incoming) -> bool:
        router = get_router(self.app)
        if msg.type == "event":
            return msg.event in KNOWN_EVENTS or msg.event in router.events
        return msg.type in KNOWN_TYPES or msg.type in router.types

    def _purge(self, session: Session, now: datetime) -> None:
        """Delete expired nonces now and then (any process may; it is idempotent)."""
        tick = time.monotonic()
        if tick - self._purged < PURGE_EVERY:
            return
        self._purged = tick
        session.execute(delete(WebhookNonce).where(WebhookNonce.expires_at < now))
