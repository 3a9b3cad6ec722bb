"""One inbound message: answered with no write before the answer when it has no effect, else in one transaction.

A message whose handler is pure (bot/wechat/router.py: a keyword reply, a notice, the default reply, a look-up) from
a sender in no dialogue is answered after one read (`_SENDER`: the sender's flag and time, and the reply stored for
this message should it be a retry); its record (the de-duplication row with the reply, the follower's
last_message_at, in plain mode the nonce) is written after the answer, in batches (bot/db/later.py): a crash loses at
most the last second of them, nothing with an effect. A retry before the record is written gets the same answer again.

Everything else has the durable path: in plain mode the nonce, then the de-duplication row, the handler's work and
the stored reply in one transaction before the answer, as precompiled SQL on the driver's cursor
(bot/db/statements.py), in a savepoint of a group commit on SQLite (bot/db/groupcommit.py); a handler that needs the
ORM gets a Session joined to it on first use (`Context.session`). In safe mode msg_signature covers the message, so
a nonce can only ever come back with this very message, which the de-duplication row answers: no nonce is stored.
A retry (same sender and MsgId; for events sender, CreateTime and event) gets the reply stored with the row, never a
second effect; of two copies at once, the second's insert of the row waits for the first's commit (the unique key),
then the second rolls back its own work and answers with the first's reply.
"""

from __future__ import annotations

import functools
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import Flask
from sqlalchemy import Connection, bindparam, delete, exists, func, select
from sqlalchemy.orm import Session

from bot import clock
from bot.db import UTCDateTime, get_db, utcnow
from bot.db.later import Later
from bot.db.statements import Prepared, dialect_insert
from bot.models import DialogueState, Follower, InboundMessage
from bot.models.webhook import WebhookNonce
from bot.wechat import replies
from bot.wechat.handlers import TOUCH, TOUCH_EVERY, touches_follower
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


@dataclass(frozen=True)
class _Record:
    """What is written after the answer to a message without effect."""

    key: str
    openid: str
    kind: str
    now: datetime
    body: str
    touch: bool  # last_message_at is written (TOUCH_EVERY); by the queue's delay it may go back, never forward
    nonce: str | None  # plain mode: remembered, so that a message with an effect cannot come with it afterwards


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


def _sender(_dialect: str):
    """The sender's dialogue flag (for a follower not yet known: whether a dialogue row exists), whether they wrote
    since `recent`, and the reply stored for this message: one read, no lock."""
    follower, inbound = Follower.__table__, InboundMessage.__table__
    mine = follower.c.openid == bindparam("openid")
    return select(
        func.coalesce(
            select(follower.c.in_dialogue).where(mine).scalar_subquery(),
            exists().where(DialogueState.__table__.c.openid == bindparam("openid")),
        ),
        select(follower.c.last_message_at > bindparam("recent", type_=UTCDateTime())).where(mine).scalar_subquery(),
        select(inbound.c.reply).where(inbound.c.dedupe_key == bindparam("key")).scalar_subquery(),
    )


_SENDER = Prepared(_sender)
_PURGE = Prepared(
    lambda _: delete(WebhookNonce.__table__).where(WebhookNonce.__table__.c.expires_at < bindparam("now"))
)


class Inbox:
    """The message pipeline of one app (settings read once; one queue of records per process)."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.db = get_db(app)
        self.window = WechatSettings.of(app).replay_window
        self._purged = 0.0
        self.later = Later(self.db.transaction, self._write_records)

    def answer(self, env: Envelope) -> str:
        """The plain reply body for a verified message (the stored one for a retry); see the module's docstring.

        In plain mode the signature does not cover the body, so the nonce is the only guard against a signed query
        reused with another body: a message with an effect claims it durably (`process`). A message without effect
        is answered with no nonce claimed before the answer (its record claims it afterwards): a query replayed with
        such a body can only get an answer, never cause an effect, and the replay window bounds it as for any one.
        """
        msg, now, key = env.msg, utcnow(), dedupe_key(env.msg)
        state = self.db.read_one(_SENDER, openid=msg.openid, key=key, recent=now - TOUCH_EVERY)
        if state[2] is not None and env.sealed:
            return state[2]  # a retry: msg_signature binds the nonce to this very message, nothing to remember
        with self.app.app_context():
            replies.refresh(self.app)
            return self._route(env, key, now, *state)

    def _route(self, env: Envelope, key: str, now: datetime, in_dialogue, recent, stored) -> str:
        msg = env.msg
        ctx = Context(msg, None, self.app, now, False, opener=self._reader)  # used only for a sender in no dialogue
        handler, pure = get_router(self.app).pick(ctx) if self._understood(msg) else (None, True)
        if not pure or (in_dialogue and msg.type != "event"):
            return self.process(env, key, now)  # plain mode: the nonce is claimed and a retry found there
        if stored is not None:
            return stored  # plain mode, a retry without effect: an answer only
        try:
            body = self._answer(env, ctx, handler)
        except _HandlerFailed:
            body = self._apology(env, ctx)
        finally:
            if ctx.session_opened:
                ctx.session.close()
        nonce = None if env.sealed else env.nonce
        self.later.put(_Record(key, msg.openid, _kind(msg), now, body, touches_follower(msg) and not recent, nonce))
        return body

    def process(self, env: Envelope, key: str, now: datetime) -> str:
        """The durable path: the reply committed with the nonce, the message's row and the handler's effects."""
        answer = self._answer
        for _ in range(ATTEMPTS):
            try:
                return self.db.transaction(functools.partial(self._attempt, env=env, key=key, now=now, answer=answer))
            except _HandlerFailed:
                answer = self._apology  # the handler's work went with the rollback; the claims are made again
            except _Conflict:
                pass  # a copy of this message committed its row first: the next attempt reads that row's reply
        raise RuntimeError(f"message not settled after {ATTEMPTS} attempts")  # each attempt settles or reads a row

    def _reader(self) -> Session:
        """A pure handler's session: it reads, on a read-only connection where there is one."""
        return (self.db.read_sessions or self.db.sessions)()

    def _write_records(self, conn: Connection, records: list[_Record]) -> None:
        """The records of messages without effect (idempotent: a record already written changes nothing)."""
        cursor, dialect, window = conn.connection.cursor(), conn.dialect, timedelta(seconds=2 * self.window)
        try:
            nonces = [dict(nonce=r.nonce, key=r.key, expires=r.now + window, now=r.now) for r in records if r.nonce]
            _CLAIM_NONCE.many(cursor, dialect, nonces)
            rows = [dict(key=r.key, openid=r.openid, kind=r.kind, now=r.now, body=r.body) for r in records]
            _RECORD.many(cursor, dialect, rows)
            TOUCH.many(cursor, dialect, [dict(openid=r.openid, now=r.now) for r in records if r.touch])
        finally:
            cursor.close()

    def _attempt(self, conn: Connection, env: Envelope, key: str, now: datetime, answer) -> str:
        """One attempt inside a transaction: the reply to commit; _Conflict when a concurrent copy's row won."""
        session: Session | None = None
        cursor, dialect = conn.connection.cursor(), conn.dialect
        try:
            self._purge(cursor, dialect, now)  # also in safe mode: nonces left from plain mode expire
            if not env.sealed:  # plain mode; in safe mode msg_signature binds the nonce to this very message
                self._claim_nonce(cursor, dialect, env.nonce, key, now)
            found = _STORED_REPLY.fetch(cursor, dialect, key=key)
            if found is not None:
                return found[0]  # a retry: its stored reply, nothing else happens
            in_dialogue = None
            if touches_follower(env.msg):  # the 48-hour window; the upsert returns the flag as committed
                in_dialogue = bool(TOUCH.fetch(cursor, dialect, openid=env.msg.openid, now=now)[0])

            def open_session() -> Session:
                nonlocal session
                session = self.db.sessions(bind=conn, join_transaction_mode="conditional_savepoint")
                return session

            context = Context(env.msg, None, self.app, now, in_dialogue, opener=open_session, conn=conn)
            body = answer(env, context)
            row = _RECORD.fetch(
                cursor, dialect, key=key, openid=env.msg.openid, kind=_kind(env.msg), now=now, body=body
            )
            if row is None:
                raise _Conflict
            return body
        finally:
            cursor.close()
            if session is not None:
                session.close()

    def _claim_nonce(self, cursor, dialect, nonce: str, key: str, now: datetime) -> None:
        """Remember the nonce; refuse it when it came before with another message (a replay with a new body). With
        the same message it is a duplicate delivery, answered from the stored reply."""
        expires = now + timedelta(seconds=2 * self.window)
        if _CLAIM_NONCE.fetch(cursor, dialect, nonce=nonce, key=key, expires=expires, now=now) is not None:
            return
        seen = _SEEN_NONCE.fetch(cursor, dialect, nonce=nonce)
        if seen is None or seen[0] != key:
            raise Refused(403, "nonce already used within the replay window")

    def _answer(self, env: Envelope, ctx: Context, handler=None) -> str:
        """Route (or run a pure `handler`, whose answer is a function of the message alone: a retry computes the same
        one) and render; a handler that raises is logged here, its work rolled back by the caller."""
        msg = env.msg
        if not self._understood(msg):
            log.info("unhandled message type=%s event=%s answered success", msg.type[:32], msg.event[:40])
            return SUCCESS
        try:
            reply = handler(ctx) if handler is not None else get_router(self.app).route(ctx)
            created = msg.create_time if handler is not None and msg.create_time else clock.timestamp()
            body = render(reply, msg, env.account, created)
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


def _kind(msg: Incoming) -> str:
    return (msg.type if msg.type != "event" else f"event:{msg.event}")[:32]
