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
from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.orm import Session

from bot.db import utcnow
from bot.models import InboundMessage
from bot.models.webhook import WebhookNonce
from bot.statements import Prepared, dialect_insert
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


def _nonce_claim(dialect: str):
    table = WebhookNonce.__table__
    ins = dialect_insert(dialect, table).values(
        nonce=bindparam("nonce"), dedupe_key=bindparam("key"), expires_at=bindparam("expires")
    )
    return ins.on_conflict_do_update(
        index_elements=[table.c.nonce],
        set_={"dedupe_key": ins.excluded.dedupe_key, "expires_at": ins.excluded.expires_at},
        where=table.c.expires_at < bindparam("now"),  # an expired row not yet purged is taken over
    ).returning(table.c.nonce)


def _message_claim(dialect: str):
    table = InboundMessage.__table__
    ins = dialect_insert(dialect, table).values(
        dedupe_key=bindparam("key"),
        openid=bindparam("openid"),
        msg_type=bindparam("kind"),
        received_at=bindparam("now"),
    )
    # On a conflict the no-op update returns the existing row (after the other transaction committed, on PostgreSQL).
    return ins.on_conflict_do_update(
        index_elements=[table.c.dedupe_key], set_={"dedupe_key": ins.excluded.dedupe_key}
    ).returning(table.c.id, table.c.reply)


_CLAIM_NONCE = Prepared(_nonce_claim)
_SEEN_NONCE = Prepared(lambda _: select(WebhookNonce.dedupe_key).where(WebhookNonce.nonce == bindparam("nonce")))
_CLAIM_MESSAGE = Prepared(_message_claim)
_STORE_REPLY = Prepared(
    lambda _: (
        update(InboundMessage.__table__)
        .where(InboundMessage.__table__.c.id == bindparam("row_id"))
        .values(reply=bindparam("body"))
    )
)
_PURGE = Prepared(
    lambda _: delete(WebhookNonce.__table__).where(WebhookNonce.__table__.c.expires_at < bindparam("now"))
)


def claim_nonce(session: Session, nonce: str, key: str, now: datetime, window: int) -> None:
    """Remember the nonce; refuse it when it came before with another message (a replay with a new body)."""
    expires = now + timedelta(seconds=2 * window)
    if _CLAIM_NONCE.scalar(session, nonce=nonce, key=key, expires=expires, now=now) is not None:
        return
    if _SEEN_NONCE.scalar(session, nonce=nonce) != key:
        raise Refused(403, "nonce already used within the replay window")
    # The same nonce with the same message: a duplicate delivery, answered from the stored reply below.


def claim_message(session: Session, msg: Incoming, key: str, now: datetime) -> tuple[int, str | None]:
    """Insert the de-duplication row, or find the one there: (its id, its stored reply, None when it is new).

    Every committed row has its reply (it is stored in the transaction that inserts the row), so a row with no
    reply is the one just inserted.
    """
    kind = msg.type if msg.type != "event" else f"event:{msg.event}"
    row = _CLAIM_MESSAGE.first(session, key=key, openid=msg.openid, kind=kind[:32], now=now)
    assert row is not None  # an upsert with RETURNING always returns the row
    return row[0], row[1]


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
            row_id, stored, in_dialogue = self._claim(session, env, key, now)
            if stored is None:
                try:
                    stored = self._answer(session, env, now, in_dialogue)
                except Exception:
                    # The handler's work goes (the whole transaction: cheaper than a savepoint on every message);
                    # the claims are made again and the consumer gets an apology.
                    session.rollback()
                    row_id, stored, _ = self._claim(session, env, key, now)
                    if stored is None:
                        stored = self._apology(env)
                        _STORE_REPLY.execute(session, row_id=row_id, body=stored)
                else:
                    _STORE_REPLY.execute(session, row_id=row_id, body=stored)
            session.commit()
            return stored
        except BaseException:
            session.rollback()
            raise

    def _claim(self, session: Session, env: Envelope, key: str, now: datetime) -> tuple[int, str | None, bool | None]:
        """The nonce, the de-duplication row and, for a new message, the follower's time.

        Returns (row id, stored reply or None for a new message, whether the sender is in a dialogue or None).
        """
        claim_nonce(session, env.nonce, key, now, self.window)
        row_id, stored = claim_message(session, env.msg, key, now)
        in_dialogue = touch_follower(session, env.msg, now) if stored is None else None
        return row_id, stored, in_dialogue

    def _answer(self, session: Session, env: Envelope, now: datetime, in_dialogue: bool | None = None) -> str:
        """Route and render; a handler that raises is logged here and its work rolled back by the caller."""
        msg = env.msg
        if not self._understood(msg):
            log.info("unhandled message type=%s event=%s answered success", msg.type[:32], msg.event[:40])
            return SUCCESS
        try:
            reply = get_router(self.app).route(Context(msg, session, self.app, now, in_dialogue))
            body = render(reply, msg, env.account, int(time.time()))
            session.flush()  # the handler's pending ORM work fails here, not at commit
            return body
        except Exception:
            log.exception(
                "handler failed type=%s event=%s msg_id=%s create_time=%s",
                msg.type[:32],
                msg.event[:40],
                msg.msg_id,
                msg.create_time,
            )
            raise

    def _apology(self, env: Envelope) -> str:
        return render(TextReply(replies.phrase(self.app, "apology")), env.msg, env.account, int(time.time()))

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
        _PURGE.execute(session, now=now)
