"""Queue a reply to the consumer through the outbox (customer-service message or template message)."""

from __future__ import annotations

import json

from sqlalchemy.orm import Session

from bot.models import OutboxItem


def enqueue_reply(s: Session, openid: str, text: str, lead_id: int) -> OutboxItem:
    """Add a `consumer_message` outbox item for the lead; the outbox job sends it and records the result."""
    payload = {"openid": openid, "text": text, "lead_id": lead_id}
    try:
        from bot.outbox import enqueue
    except ImportError:  # bot.outbox not merged yet: write the row the way enqueue() does
        item = OutboxItem(kind="consumer_message", payload=json.dumps(payload, ensure_ascii=False), lead_id=lead_id)
        s.add(item)
        return item
    return enqueue(s, "consumer_message", payload, lead_id=lead_id)
