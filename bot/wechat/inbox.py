"""One inbound message, one small transaction: the nonce, the de-duplication row, the handler and the stored reply.

The claims run as precompiled SQL straight on the driver's cursor (bot/statements.py), on a Connection in a
transaction of its own; a handler that needs the ORM gets a Session joined to that same transaction on first use
(`Context.session`), so its work, the nonce and the message row commit or roll back together.

A retry (same sender and MsgId, or for events the same sender, CreateTime and event) finds the row and gets the
reply stored with it, so it never causes a second effect: it reads the row before anything else is done. Two copies
arriving at once both miss the row; the second's insert of the row then waits for the first's commit (the unique
key), finds it taken, rolls back everything its own handler did and answers with the first's reply.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import Flask
from sqlalchemy import bindparam, delete, select
from sqlalchemy.orm import Session

from bot.db import get_db, utcnow
from bot.models import InboundMessage
from bot.models.webhook import WebhookNonce
from bot.statements import Prepared, dialect_insert
from bot.wechat import replies
from bot.wechat.handlers import follower_state, touches_follower
from bot.wechat.messages import Context, Incoming, TextReply
from bot.wechat.protocol import KNOWN_EVENTS, KNOWN_TYPES, Refused, dedupe_key
from bot.wechat.render import SUCCESS, render
from bot.wechat.router import get_router

log = logging.getLogger(__name__)
PURGE_EVERY = 60.0  # seconds between two clean-ups of expired nonces in one process
ATTEMPTS = 3  # a message is answered in at most: its handler, an apology, a read of a concurrent copy's reply


@dataclass(frozen=True)
class Envelope:
    """A verified, decoded request: the message, the query's timestamp and nonce, and our account's id."""

    msg: Incoming
    timestamp: str
    nonce: str
    account: str


class _HandlerFailed(Exception):
    """The handler raised (already logged): the transaction is rolled back and the consumer gets an apology."""


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


_CLAIM_NONCE = Prepared(_nonce_claim)
_SEEN_NONCE = Prepared(lambda _: select(WebhookNonce.dedupe_key).where(WebhookNonce.nonce == bindparam("nonce")))
_STORED_REPLY = Prepared(
    lambda _: select(InboundMessage.__table__.c.reply).where(InboundMessage.__table__.c.dedupe_key == bindparam("key"))
)
_RECORD = Prepared(
    lambda dialect: (
        dialect_insert(dialect, InboundMessage.__table__)
        .values(
            dedupe_key=bindparam("key"),
            openid=bindparam("openid"),
            msg_type=bindparam("kind"),
            received_at=bindparam("now"),
            reply=bindparam("body"),
        )
        .on_conflict_do_nothing(index_elements=[InboundMessage.__table__.c.dedupe_key])
        .returning(InboundMessage.__table__.c.id)
    )
)
_PURGE = Prepared(
    lambda _: delete(WebhookNonce.__table__).where(WebhookNonce.__table__.c.expires_at < bindparam("now"))
)


class Inbox:
    """The message pipeline of one app (settings read once)."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.db = get_db(app)
        self.window = app.config["SETTINGS"]["wechat"]["replay_window"]
        self._purged = 0.0

    def process(self, env: Envelope) -> str:
        """The plain reply body for a verified message (the stored one for a retry), committed with its effects."""
        now, key = utcnow(), dedupe_key(env.msg)
        answer = self._answer
        for _ in range(ATTEMPTS):
            try:
                body = self._transaction(env, key, now, answer)
            except _HandlerFailed:
                answer = self._apology  # the handler's work went with the rollback; the claims are made again
                continue
            if body is not None:
                return body
            # A copy of this message committed its row first: the next attempt reads that row's reply.
        raise RuntimeError(f"message not settled after {ATTEMPTS} attempts")  # each attempt settles or reads a row

    def _transaction(self, env: Envelope, key: str, now: datetime, answer) -> str | None:
        """One attempt in one transaction: the reply, or None when a concurrent copy's row won (rolled back)."""
        with self.db.engine.connect() as conn:
            conn.begin()  # BEGIN IMMEDIATE on SQLite (bot/db.py)
            session: Session | None = None
            cursor, dialect = conn.connection.cursor(), conn.dialect
            try:
                self._purge(cursor, dialect, now)
                self._claim_nonce(cursor, dialect, env.nonce, key, now)
                found = _STORED_REPLY.fetch(cursor, dialect, key=key)
                if found is not None:
                    conn.commit()  # the nonce of this delivery is remembered; nothing else happened
                    return found[0]
                in_dialogue = None
                if touches_follower(env.msg):
                    in_dialogue = follower_state(cursor, dialect, env.msg.openid, now)

                def open_session() -> Session:
                    nonlocal session
                    session = self.db.sessions(bind=conn, join_transaction_mode="conditional_savepoint")
                    return session

                context = Context(env.msg, None, self.app, now, in_dialogue, opener=open_session)
                body = answer(env, context)
                kind = env.msg.type if env.msg.type != "event" else f"event:{env.msg.event}"
                row = _RECORD.fetch(cursor, dialect, key=key, openid=env.msg.openid, kind=kind[:32], now=now, body=body)
                if row is None:
                    conn.rollback()
                    return None
                conn.commit()
                return body
            except BaseException:
                conn.rollback()
                raise
            finally:
                cursor.close()
                if session is not None:
                    session.close()

    def _claim_nonce(self, cursor, dialect, nonce: str, key: str, now: datetime) -> None:
        """Remember the nonce; refuse it when it came before with another message (a replay with a new body).

        The same nonce with the same message is a duplicate delivery: it is answered from the stored reply.
        """
        expires = now + timedelta(seconds=2 * self.window)
        if _CLAIM_NONCE.fetch(cursor, dialect, nonce=nonce, key=key, expires=expires, now=now) is not None:
            return
        seen = _SEEN_NONCE.fetch(cursor, dialect, nonce=nonce)
        if seen is None or seen[0] != key:
            raise Refused(403, "nonce already used within the replay window")

    def _answer(self, env: Envelope, ctx: Context) -> str:
        """Route and render; a handler that raises is logged here and its work rolled back by the caller."""
        msg = env.msg
        if not self._understood(msg):
            log.info("unhandled message type=%s event=%s answered success", msg.type[:32], msg.event[:40])
            return SUCCESS
        try:
            reply = get_router(self.app).route(ctx)
            body = render(reply, msg, env.account, int(time.time()))
            if ctx.session_opened:
                ctx.session.flush()  # the handler's pending ORM work fails here, not at commit
            return body
        except Exception as exc:
            log.exception(
                "handler failed type=%s event=%s msg_id=%s create_time=%s",
                msg.type[:32],
                msg.event[:40],
                msg.msg_id,
                msg.create_time,
            )
            raise _HandlerFailed from exc

    def _apology(self, env: Envelope, _ctx: Context) -> str:
        return render(TextReply(replies.phrase(self.app, "apology")), env.msg, env.account, int(time.time()))

    def _understood(self, msg: Incoming) -> bool:
        router = get_router(self.app)
        if msg.type == "event":
            return msg.event in KNOWN_EVENTS or msg.event in router.events
        return msg.type in KNOWN_TYPES or msg.type in router.types

    def _purge(self, cursor, dialect, now: datetime) -> None:
        """Delete expired nonces now and then (any process may; it is idempotent)."""
        tick = time.monotonic()
        if tick - self._purged < PURGE_EVERY:
            return
        self._purged = tick
        _PURGE.fetch(cursor, dialect, now=now)
