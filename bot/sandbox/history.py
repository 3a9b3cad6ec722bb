"""A sandbox user's chat read back: the stored lines and the messages the app sent them through the API side."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.models import SandboxCall, SandboxMassReceipt, SandboxMessage
from bot.sandbox.bubbles import call_bubble, message_bubble

HISTORY = 300  # lines of a chat shown when the page opens
DIRECT = ("custom", "template", "preview")  # channels addressed to one user (touser)


def received_calls(session: Session, openid: str, after: int = 0, limit: int = HISTORY) -> list[SandboxCall]:
    """The accepted API calls that reached this user after call id `after`, oldest first.

    Customer-service, template and preview messages name the user; a mass send reached them when the sandbox
    recorded a receipt for them (its msg_id is the mass send's id).
    """
    direct = session.execute(
        select(SandboxCall)
        .where(SandboxCall.openid == openid, SandboxCall.channel.in_(DIRECT))
        .where(SandboxCall.errcode == 0, SandboxCall.id > after)
        .order_by(SandboxCall.id.desc())
        .limit(limit)
    ).scalars()
    calls = list(direct)
    receipts = select(SandboxMassReceipt.mass_id).where(SandboxMassReceipt.openid == openid)
    mass_ids = set(session.execute(receipts).scalars())
    if mass_ids:
        mass = session.execute(
            select(SandboxCall)
            .where(SandboxCall.channel == "mass", SandboxCall.errcode == 0, SandboxCall.id > after)
            .order_by(SandboxCall.id.desc())
            .limit(limit)
        ).scalars()
        calls += [c for c in mass if (c.response or {}).get("msg_id") in mass_ids]
    return sorted(calls, key=lambda c: c.id)[-limit:]


def load(session: Session, openid: str, after: int | None) -> tuple[list[dict[str, Any]], int]:
    """Bubbles and the id of the newest call shown: the whole chat (after None) or only calls after `after`."""
    calls = received_calls(session, openid, after or 0)
    last = max([after or 0, *(c.id for c in calls)])
    bubbles = [b for b in (call_bubble(c) for c in calls) if b is not None]
    if after is None:
        lines = session.execute(
            select(SandboxMessage)
            .where(SandboxMessage.openid == openid)
            .order_by(SandboxMessage.id.desc())
            .limit(HISTORY)
        ).scalars()
        bubbles += [message_bubble(m) for m in lines]
        bubbles.sort(key=lambda b: b["at"])
    return bubbles, last
