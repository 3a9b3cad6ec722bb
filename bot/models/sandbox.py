"""The sandbox's own tables: what the stand-in platform received and answered, its tokens, media, tags and sends."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bot.db import Base, UTCDateTime, utcnow
from bot.privacy import EncryptedText


class SandboxCall(Base):
    """One API call the sandbox platform received, with the answer it gave."""

    __tablename__ = "sandbox_call"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    path: Mapped[str] = mapped_column(String(64), index=True)
    channel: Mapped[str] = mapped_column(String(16), index=True)  # token | custom | template | mass | preview | ...
    openid: Mapped[str | None] = mapped_column(String(64), index=True)
    body: Mapped[dict | None] = mapped_column(JSON)
    response: Mapped[dict | None] = mapped_column(JSON)
    errcode: Mapped[int] = mapped_column(Integer, default=0)
    note: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class SandboxToken(Base):
    """An access token the sandbox platform issued (kind token or stable) and until when it is accepted."""

    __tablename__ = "sandbox_token"

    token: Mapped[str] = mapped_column(String(200), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SandboxMedia(Base):
    """A file a sandbox user "sent" (a photo), served by media/get for three days like temporary media."""

    __tablename__ = "sandbox_media"

    media_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    openid: Mapped[str | None] = mapped_column(String(64), index=True)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    content_type: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SandboxTag(Base):
    """A user tag of the sandbox account and the openids that carry it."""

    __tablename__ = "sandbox_tag"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(30), unique=True)
    openids: Mapped[list] = mapped_column(JSON, default=list)


class SandboxMass(Base):
    """An accepted mass send (its id is the msg_id answered); counted against the account's mass-send budget."""

    __tablename__ = "sandbox_mass"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    clientmsgid: Mapped[str | None] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # sendall | send
    to_all: Mapped[bool] = mapped_column(Boolean, default=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class SandboxMassReceipt(Base):
    """One follower reached by a mass send (a service account's follower receives at most 4 a month)."""

    __tablename__ = "sandbox_mass_receipt"
    __table_args__ = (Index("ix_sandbox_mass_receipt_openid_at", "openid", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mass_id: Mapped[int] = mapped_column(ForeignKey("sandbox_mass.id"), index=True)
    openid: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SandboxUser(Base):
    """A made-up WeChat user of the sandbox's chat page: an openid and a nickname to tell them apart."""

    __tablename__ = "sandbox_user"

    openid: Mapped[str] = mapped_column(String(64), primary_key=True)
    nickname: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SandboxMessage(Base):
    """One line of a sandbox user's chat: what the user did (side user) or the passive reply (side bot)."""

    __tablename__ = "sandbox_message"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    openid: Mapped[str] = mapped_column(String(64), index=True)
    side: Mapped[str] = mapped_column(String(8))  # user | bot | system
    kind: Mapped[str] = mapped_column(String(16))  # text | image | location | news | event | error
    # JSON of the bubble's fields, encrypted: test users type names and phone numbers like real ones.
    payload: Mapped[str] = mapped_column(EncryptedText)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
