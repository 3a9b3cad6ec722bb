"""Leads (线索): complaints and reports, their timeline, the consumer's messages and their evidence."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bot.db import Base, UTCDateTime, utcnow
from bot.privacy import EncryptedText, LegacyEncryptedText


class Lead(Base):
    """A complaint (投诉) or a report (举报) with its category, branch, status and statutory deadlines."""

    __tablename__ = "lead"
    __table_args__ = (
        Index("ix_lead_branch_status_due", "branch", "status", "next_due"),
        Index("ix_lead_status_due", "status", "next_due"),
        # The console at 100,000 leads (migration 0007): the queue read in deadline order with its filters inside the
        # index; the statistics' period scans (by receipt, by closing, by acceptance) read from the index alone.
        Index("ix_lead_queue", "next_due", "id", "status", "branch"),
        Index("ix_lead_received", "received_on", "kind", "category", "branch"),
        Index("ix_lead_closed", "closed_on", "status", "category", "branch"),
        Index("ix_lead_accepted", "accepted_on", "received_on", "branch"),
        # Migration 0008: a handler's step counts join each status event to its lead's branch (a small index instead
        # of the wide row); the period's counts by kind, category and branch read in group order (SQLite skip-scans
        # it instead of sorting a year's leads).
        Index("ix_lead_id_kind_branch", "id", "kind", "branch"),
        Index("ix_lead_period_groups", "kind", "category", "branch", "received_on"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket: Mapped[str] = mapped_column(String(32), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # complaint | report
    status: Mapped[str] = mapped_column(String(16), default="新线索")
    category: Mapped[str] = mapped_column(String(32), default="其他", index=True)
    category_rule: Mapped[str | None] = mapped_column(String(200))
    branch: Mapped[str | None] = mapped_column(String(32), index=True)
    routing_rule: Mapped[str | None] = mapped_column(String(200))
    openid: Mapped[str | None] = mapped_column(String(64), index=True)
    split_from_id: Mapped[int | None] = mapped_column(ForeignKey("lead.id"), index=True)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"), index=True)
    # Personal data, encrypted at rest; *_hash are keyed hashes for finding related leads.
    name: Mapped[str | None] = mapped_column(EncryptedText)
    phone: Mapped[str | None] = mapped_column(EncryptedText)
    address: Mapped[str | None] = mapped_column(EncryptedText)
    phone_hash: Mapped[str | None] = mapped_column(String(32), index=True)
    address_hash: Mapped[str | None] = mapped_column(String(32), index=True)
    # The business and the facts.
    business_name: Mapped[str] = mapped_column(String(200), default="", index=True)
    business_platform: Mapped[str | None] = mapped_column(String(200))
    business_address: Mapped[str | None] = mapped_column(String(400))
    business_town: Mapped[str | None] = mapped_column(String(64))
    item: Mapped[str | None] = mapped_column(String(400))
    purchase_date: Mapped[str | None] = mapped_column(String(64))
    amount: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    # The consumer's own words: they often name people, phone numbers and orders, so they are encrypted too (since
    # migration 0009; a value an older release wrote in the clear is read as it is until `flask rotate-keys`).
    facts: Mapped[str] = mapped_column(LegacyEncryptedText, default="")
    request: Mapped[str | None] = mapped_column(LegacyEncryptedText)
    # Statutory clock (dates in Asia/Shanghai).
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    received_on: Mapped[date] = mapped_column(Date)
    accept_due: Mapped[date | None] = mapped_column(Date)
    accepted_on: Mapped[date | None] = mapped_column(Date)
    mediation_due: Mapped[date | None] = mapped_column(Date)
    verify_due: Mapped[date | None] = mapped_column(Date)
    next_due: Mapped[date | None] = mapped_column(Date)
    closed_on: Mapped[date | None] = mapped_column(Date)
    outcome: Mapped[str | None] = mapped_column(Text)
    extra: Mapped[dict] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class LeadEvent(Base):
    """One step in a lead's timeline: a status change, a note, a reply, a notification."""

    __tablename__ = "lead_event"
    # The statistics' step counts read status events of a period from this index alone, one range per kind and status
    # (bot/console/figures.py, migration 0013).
    __table_args__ = (Index("ix_lead_event_step_counts", "kind", "lead_kind", "status", "at", "lead_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("lead.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    status: Mapped[str | None] = mapped_column(String(16))
    # On status events, the lead's kind (complaint/report), written with the event; a lead's kind never changes, so
    # the copy stays true and the statistics count steps by kind without joining each event to its lead.
    lead_kind: Mapped[str | None] = mapped_column(String(16))
    text: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[dict] = mapped_column(JSON, default=dict)


class LeadMessage(Base):
    """What the consumer wrote to the staff about a lead (after a staff reply, or with 补充): text or a photo."""

    __tablename__ = "lead_message"
    __table_args__ = (Index("ix_lead_message_unread", "lead_id", "read_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("lead.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    text: Mapped[str | None] = mapped_column(EncryptedText)  # the consumer's own words: personal data
    evidence_id: Mapped[int | None] = mapped_column(ForeignKey("evidence.id"))
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # when staff first saw it on the lead page


class Evidence(Base):
    """A photo the consumer sent during the dialogue, downloaded through the media API by the outbox."""

    __tablename__ = "evidence"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("lead.id"), index=True)
    openid: Mapped[str] = mapped_column(String(64), index=True)
    media_id: Mapped[str] = mapped_column(String(200))
    pic_url: Mapped[str | None] = mapped_column(Text)
    path: Mapped[str | None] = mapped_column(String(400))
    content_type: Mapped[str | None] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16), default="pending")
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
