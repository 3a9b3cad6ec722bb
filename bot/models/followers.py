"""Followers of the account, the messages they sent (for retry de-duplication) and their dialogue state."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Integer, String, Text, bindparam, event, exists, false, update
from sqlalchemy.orm import Mapped, mapped_column

from bot.db import Base, UTCDateTime, utcnow
from bot.db.statements import Prepared
from bot.privacy import EncryptedText


class Follower(Base):
    """One WeChat user of the account; profile data is deleted on unsubscribe, the openid stays."""

    __tablename__ = "follower"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    openid: Mapped[str] = mapped_column(String(64), unique=True)
    subscribed: Mapped[bool] = mapped_column(Boolean, default=True, index=True)
    subscribed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    unsubscribed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    scene: Mapped[str | None] = mapped_column(String(64))
    nickname: Mapped[str | None] = mapped_column(EncryptedText)
    tags: Mapped[list] = mapped_column(JSON, default=list)
    topics: Mapped[list] = mapped_column(JSON, default=list)
    last_message_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Whether a dialogue_state row exists for this openid, kept in step by the listeners below (and by unsubscribe),
    # so that the webhook's follower upsert returns it and a message outside a dialogue needs no look-up.
    in_dialogue: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class InboundMessage(Base):
    """A message or event received from WeChat: the de-duplication key and the reply it was given."""

    __tablename__ = "inbound_message"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(160), unique=True)
    openid: Mapped[str] = mapped_column(String(64), index=True)
    msg_type: Mapped[str] = mapped_column(String(32))
    reply: Mapped[str | None] = mapped_column(EncryptedText)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class DialogueState(Base):
    """Where one user is in a multi-step dialogue (the complaint flow); the answers are encrypted."""

    __tablename__ = "dialogue_state"

    openid: Mapped[str] = mapped_column(String(64), primary_key=True)
    flow: Mapped[str] = mapped_column(String(32))
    step: Mapped[str] = mapped_column(String(32))
    data: Mapped[str] = mapped_column(EncryptedText, default="{}")
    history: Mapped[list] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    note: Mapped[str | None] = mapped_column(Text)


# Follower.in_dialogue mirrors whether a dialogue_state row exists for the openid, so that the webhook learns it from
# the follower upsert it runs anyway. This module is its one writer: the ORM listeners below for dialogue rows made or
# deleted through the ORM; `SET_IN_DIALOGUE` for the statements that open or end one without the ORM; and
# `in_dialogue_when_created` for a follower row made while a dialogue exists already.
SET_IN_DIALOGUE = Prepared(
    lambda _: (
        update(Follower.__table__)
        .where(Follower.__table__.c.openid == bindparam("openid"))
        .values(in_dialogue=bindparam("value"))
    )
)


def in_dialogue_when_created(openid: Any) -> dict:
    """The flag's first value for a follower row inserted with this openid (a bound parameter or a value)."""
    return {"in_dialogue": exists().where(DialogueState.__table__.c.openid == openid)}


@event.listens_for(DialogueState, "after_insert")
def _dialogue_started(_mapper, connection, state: DialogueState) -> None:
    SET_IN_DIALOGUE.run(connection, openid=state.openid, value=True)


@event.listens_for(DialogueState, "after_delete")
def _dialogue_ended(_mapper, connection, state: DialogueState) -> None:
    SET_IN_DIALOGUE.run(connection, openid=state.openid, value=False)
