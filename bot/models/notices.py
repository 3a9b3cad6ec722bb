"""Notices to the parties of a lead: each decision the law says they must hear of, and each staff reply."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bot.db import Base, UTCDateTime, utcnow
from bot.privacy import EncryptedText

# queued: in the outbox; sent: the platform took it; failed: retries used up or refused (staff must tell the party
# another way); offline: no channel at all (the business, a lead without a WeChat user); recorded: staff told the
# party by phone, SMS, post or e-mail and recorded it.
NOTICE_STATES = ("queued", "sent", "failed", "offline", "recorded")
UNDELIVERED = ("queued", "failed", "offline")


class LeadNotice(Base):
    """One notice to one party of a lead, with its full text, its legal deadline and how it reached the party."""

    __tablename__ = "lead_notice"
    __table_args__ = (Index("ix_lead_notice_lead_state", "lead_id", "state"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("lead.id"))
    kind: Mapped[str] = mapped_column(String(24))  # the wording's key in content/decisions.toml, e.g. accepted
    party: Mapped[str] = mapped_column(String(16))  # consumer | business
    title: Mapped[str] = mapped_column(String(64))
    # The words may name people, amounts and orders: encrypted like the lead's own words.
    summary: Mapped[str] = mapped_column(EncryptedText)
    text: Mapped[str] = mapped_column(EncryptedText)
    due: Mapped[date | None] = mapped_column(Date)  # the legal deadline for the party to hear of it, if any
    state: Mapped[str] = mapped_column(String(16), default="queued")
    channel: Mapped[str | None] = mapped_column(String(16))  # custom | template | 电话 | 短信 | 邮寄 | 电子邮件
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox_item.id"))
    error: Mapped[str | None] = mapped_column(Text)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # An offline notice: the day the party was told, who told them, and who recorded it.
    offline_on: Mapped[date | None] = mapped_column(Date)
    offline_by: Mapped[str | None] = mapped_column(String(64))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
