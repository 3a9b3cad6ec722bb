"""Scheduled pushes, their per-recipient deliveries (unique: never twice) and the mass sends made for them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.db import Base, UTCDateTime, utcnow


class Push(Base):
    """One send of a notice to an audience through a channel at a time.

    States: scheduled -> expanding -> sending -> done; paused (quota, resumes at run_after); refused (budget or
    channel not allowed, never sent); cancelled (schedule removed or by an editor); failed (notice missing).
    `due_at` is the schedule's identity and never moves; quiet hours and pauses move `run_after` instead.
    """

    __tablename__ = "push"
    __table_args__ = (
        UniqueConstraint("notice_slug", "due_at", "channel", "audience", name="uq_push_source"),
        Index("ix_push_state_run_after", "state", "run_after"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    notice_slug: Mapped[str] = mapped_column(String(120), index=True)
    channel: Mapped[str] = mapped_column(String(16))  # mass | template | custom
    audience: Mapped[str] = mapped_column(String(120))  # all | tag:<tag> | topic:<topic>
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    run_after: Mapped[datetime | None] = mapped_column(UTCDateTime)
    state: Mapped[str] = mapped_column(String(16), default="scheduled", index=True)
    source: Mapped[str] = mapped_column(String(16), default="notice")  # notice | recurring | manual
    claimed_by: Mapped[str | None] = mapped_column(String(120))
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expand_cursor: Mapped[int | None] = mapped_column(Integer)  # last follower id expanded (keyset pagination)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    report: Mapped[dict] = mapped_column(JSON, default=dict)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Delivery(Base):
    """What happened to one push for one recipient: pending, sending (claimed), sent, skipped or failed."""

    __tablename__ = "delivery"
    __table_args__ = (
        UniqueConstraint("push_id", "openid", name="uq_delivery_push_openid"),
        Index("ix_delivery_push_state", "push_id", "state"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    push_id: Mapped[int] = mapped_column(ForeignKey("push.id"), index=True)
    openid: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16), default="pending")
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claim: Mapped[str | None] = mapped_column(String(64))  # the sender batch that holds it (and mass clientmsgid)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    msgid: Mapped[str | None] = mapped_column(String(64))  # the platform's msgid / msg_id
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)


class MassSend(Base):
    """One call of the mass-send API for a push: the clientmsgid against duplicates and the platform's result."""

    __tablename__ = "mass_send"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    push_id: Mapped[int] = mapped_column(ForeignKey("push.id"), index=True)
    clientmsgid: Mapped[str] = mapped_column(String(64), unique=True)
    msg_id: Mapped[str | None] = mapped_column(String(64), index=True)
    recipients: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(32), default="accepted")  # accepted | send success | err(...)
    counts: Mapped[dict] = mapped_column(JSON, default=dict)  # MASSSENDJOBFINISH: total/filter/sent/error
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
