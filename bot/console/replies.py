"""Queue a reply to the consumer through the outbox (customer-service message or template message)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from bot.models import OutboxItem
from bot.outbox import enqueue


def enqueue_reply(s: Session, openid: str, text: str, lead_id: int) -> OutboxItem:
    """Add a `consumer_message` outbox item for the lead; the outbox job sends it and records the result."""
    return enqueue(s, "consumer_message", {"openid": openid, "text": text, "lead_id": lead_id}, lead_id=lead_id)
