"""One inbound message, one small transaction: the nonce, the de-duplication row, the handler and the stored reply.

The claims run as precompiled SQL straight on the driver's cursor (bot/db/statements.py), on a Connection in a
transaction of its own (PostgreSQL) or in a savepoint of a group commit (SQLite, bot/db/groupcommit.py); a handler that
needs the ORM gets a Session joined to that same transaction on first use (`Context.session`), so its work, the nonce
and the message row commit or roll back together.

A retry (same sender and MsgId, or for events the same sender, CreateTime and event) finds the row and gets the
reply stored with it, so it never causes a second effect: it reads the row before anything else is done. Two copies
arriving at once both miss the row; the second's insert of the row then waits for the first's commit (the unique
key), finds it taken, rolls back everything its own handler did and answers with the first's reply.
"""

from __future__ import annotations

import functools
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import Flask
from sqlalchemy import Boolean, Connection, DateTime, Integer, String, bindparam, column, delete, select, text
from sqlalchemy.orm import Session

from bot import clock
from bot.db import get_db, utcnow
from bot.db.statements import Prepared, dialect_insert
from bot.models import InboundMessage
from bot.models.webhook import WebhookNonce
from bot.privacy import EncryptedText
from bot.wechat import replies
from bot.wechat.handlers import follower_state, touches_follower
from bot.wechat.messages import Context, Incoming, TextReply
from bot.wechat.protocol import KNOWN_EVENTS, KNOWN_TYPES, Refused, dedupe_key
from bot.wechat.render import SUCCESS, render
from bot.wechat.router import get_router
from bot.wechat.settings import WechatSettings

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
    # Safe mode: msg_signature covers the message itself, so this nonce can never come back with another message.
    sealed: bool = False


class _HandlerFailed(Exception):
    """The handler raised (already logged): the transaction is rolled back and the consumer gets an apology."""


class _Conflict(Exception):
    """A copy of the message committed its row first: this attempt's work is rolled back and the row read instead."""


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


def _pg_claim(peek: bool):
    """PostgreSQL: claim the nonce, read what it was taken with, the stored reply and (peek) the follower, FOR UPDATE.

    The outer SELECT sees the tables as they were before the INSERT (one snapshot): `seen` is the nonce's earlier
    message, or NULL when this statement claimed it.
    """
    follower = (
        ", peek AS (SELECT in_dialogue, last_message_at FROM follower WHERE openid = :openid FOR UPDATE)"
        if peek
        else ""
    )
    columns = ", (SELECT in_dialogue FROM peek), (SELECT last_message_at FROM peek)" if peek else ""
    sql = (
        "WITH claimed AS (INSERT INTO webhook_nonce (nonce, dedupe_key, expires_at) VALUES (:nonce, :key, :expires)"
        " ON CONFLICT (nonce) DO UPDATE SET dedupe_key = excluded.dedupe_key, expires_at = excluded.expires_at"
        " WHERE webhook_nonce.expires_at < :now RETURNING 1)" + follower + " SELECT (SELECT count(*) FROM claimed),"
        " (SELECT dedupe_key FROM webhook_nonce WHERE nonce = :nonce),"
        " (SELECT reply FROM inbound_message WHERE dedupe_key = :key)" + columns
    )
    types = [Integer(), String(), EncryptedText()] + ([Boolean(), DateTime(timezone=True)] if peek else [])
    names = ["claimed", "seen", "reply"] + (["in_dialogue", "last_message_at"] if peek else [])
    stmt = text(sql).bindparams(
        bindparam("nonce", type_=String()),
        bindparam("key", type_=String()),
        bindparam("expires", type_=DateTime(timezone=True)),
        bindparam("now", type_=DateTime(timezone=True)),
        *([bindparam("openid", type_=String())] if peek else []),
    )
    return stmt.columns(*(column(n, t) for n, t in zip(names, types, strict=True)))


_PG_CLAIM = Prepared(lambda _: _pg_claim(peek=False))
_PG_CLAIM_AND_PEEK = Prepared(lambda _: _pg_claim(peek=True))
_PURGE = Prepared(
    lambda _: delete(WebhookNonce.__table__).where(WebhookNonce.__table__.c.expires_at < bindparam("now"))
)


class Inbox:
    """The message pipeline of one app (settings read once)."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.db = get_db(app)
        self.window = WechatSettings.of(app).replay_window
        self._purged = 0.0

    def retried(self, env: Envelope) -> str | None:
        """Safe mode: the reply stored for this message when it is a retry, else None (then `process` it).

        A retry in safe mode is a look-up, outside any transaction and the writer lock. Its nonce need not be
        remembered: the signature binds it to this very message, so a replay of it can only ever get this same
        stored reply. (In plain mode the body is not signed: a retry goes through `process`, which records its nonce.)
        """
        if not env.sealed:
            return None
        return self._stored_reply(dedupe_key(env.msg))

    def process(self, env: Envelope) -> str:
        """The plain reply body for a verified message (the stored one for a retry), committed with its effects."""
        now, key = utcnow(), dedupe_key(env.msg)
        answer = self._answer
        for _ in range(ATTEMPTS):
            try:
                return self._run(functools.partial(self._attempt, env=env, key=key, now=now, answer=answer))
            except _HandlerFailed:
                answer = self._apology  # the handler's work went with the rollback; the claims are made again
            except _Conflict:
                pass  # a copy of this message committed its row first: the next attempt reads that row's reply
        raise RuntimeError(f"message not settled after {ATTEMPTS} attempts")  # each attempt settles or reads a row

    def _stored_reply(self, key: str) -> str | None:
        """The reply stored with this message's row, read in autocommit (one round trip on PostgreSQL), or None."""
        row = self.db.read_one(_STORED_REPLY, key=key)
        return None if row is None else row[0]

    def _run(self, work):
        """`work(connection)` in a transaction (SQLite: in a savepoint of a group commit)."""
        return self.db.transaction(work)

    def _attempt(self, conn: Connection, env: Envelope, key: str, now: datetime, answer) -> str:
        """One attempt inside a transaction: the reply to commit; _Conflict when a concurrent copy's row won."""
        session: Session | None = None
        cursor, dialect = conn.connection.cursor(), conn.dialect
        try:
            self._purge(cursor, dialect, now)
            touches = touches_follower(env.msg)
            if dialect.name == "postgresql":  # one round trip for what SQLite does in three statements
                found, peeked = self._claim_in_one(cursor, dialect, env, key, now, touches)
            else:
                self._claim_nonce(cursor, dialect, env.nonce, key, now)
                found, peeked = _STORED_REPLY.fetch(cursor, dialect, key=key), None
            if found is not None:
                return found[0]  # the nonce of this delivery is remembered; nothing else happens
            in_dialogue = None
            if touches:
                in_dialogue = follower_state(cursor, dialect, env.msg.openid, now, peeked)

            def open_session() -> Session:
                nonlocal session
                session = self.db.sessions(bind=conn, join_transaction_mode="conditional_savepoint")
                return session

            context = Context(env.msg, None, self.app, now, in_dialogue, opener=open_session, conn=conn)
            body = answer(env, context)
            kind = env.msg.type if env.msg.type != "event" else f"event:{env.msg.event}"
            row = _RECORD.fetch(cursor, dialect, key=key, openid=env.msg.openid, kind=kind[:32], now=now, body=body)
            if row is None:
                raise _Conflict
            return body
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

    def _claim_in_one(self, cursor, dialect, env: Envelope, key: str, now: datetime, touches: bool):
        """PostgreSQL: the nonce, the stored reply and the follower's flag (locked) in one statement.

        Returns (stored reply row or None, (in_dialogue, last_message_at) or None when unknown or not asked).
        """
        expires = now + timedelta(seconds=2 * self.window)
        statement = _PG_CLAIM_AND_PEEK if touches else _PG_CLAIM
        claimed, seen, reply, *follower = statement.fetch(
            cursor, dialect, nonce=env.nonce, key=key, expires=expires, now=now, openid=env.msg.openid
        )
        if not claimed:
            if seen is None:  # taken by a transaction that committed after this statement's snapshot: look again
                seen = (_SEEN_NONCE.fetch(cursor, dialect, nonce=env.nonce) or (None,))[0]
            if seen != key:
                raise Refused(403, "nonce already used within the replay window")
            reply = (_STORED_REPLY.fetch(cursor, dialect, key=key) or (None,))[0]
        found = (reply,) if reply is not None else None
        peeked = tuple(follower) if touches else None  # (None, None): no follower row yet
        return found, peeked

    def _answer(self, env: Envelope, ctx: Context) -> str:
        """Route and render; a handler that raises is logged here and its work rolled back by the caller."""
        msg = env.msg
        if not self._understood(msg):
            log.info("unhandled message type=%s event=%s answered success", msg.type[:32], msg.event[:40])
            return SUCCESS
        try:
            reply = get_router(self.app).route(ctx)
            body = render(reply, msg, env.account, clock.timestamp())
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

    def busy(self, env: Envelope) -> str:
        """The reply when the message could not be stored in time: please send it again."""
        return render(TextReply(replies.phrase(self.app, "busy")), env.msg, env.account, clock.timestamp())

    def _apology(self, env: Envelope, _ctx: Context) -> str:
        return render(TextReply(replies.phrase(self.app, "apology")), env.msg, env.account, clock.timestamp())

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
