"""Mass sends (群发): one call to all or a tag, or calls per openid list; each call's clientmsgid is its claim."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, select, update
from sqlalchemy.orm import Session

from bot.db import utcnow
from bot.models import Delivery, MassSend, Push
from bot.pushes import claims
from bot.pushes.channels import Content, Outcome, api_for, send_mass
from bot.pushes.sql import insert_ignore

if TYPE_CHECKING:
    from bot.pushes.dispatch import Dispatcher

NO_TAG = "公众号没有名为“{tag}”的用户标签，群发未发送"


def send(d: Dispatcher, push: Push, content: Content) -> int:
    """Send the next mass call of a push (a stalled one first, with its old clientmsgid); deliveries handled."""
    now = utcnow()
    with d.db.scope() as s:
        claim, openids = _stalled(s, d, push, now) or _claim_next(s, d, push, now)
    if claim is None:
        return 0
    api = api_for(d.app)
    target = _target(api, push, openids)
    outcome = target if isinstance(target, Outcome) else send_mass(api, content, claim, **target)
    with d.db.scope() as s:
        handled = _settle(s, d, push, claim, outcome)
    if outcome.kind == "pause":
        d.pause(push.id, outcome.why)
    d.report_progress(push.id)
    return handled


def _stalled(s: Session, d: Dispatcher, push: Push, now) -> tuple[str, list[str] | None] | None:
    """A call left unanswered by a dead sender: re-take it under the same claim (and clientmsgid)."""
    old = now - timedelta(seconds=d.cfg.claim_timeout_seconds)
    claim = s.scalar(
        select(Delivery.claim)
        .where(Delivery.push_id == push.id, Delivery.state == "sending", Delivery.claimed_at < old)
        .limit(1)
    )
    if claim is None:
        return None
    mine = and_(Delivery.push_id == push.id, Delivery.claim == claim, Delivery.state == "sending")
    s.execute(update(Delivery).where(mine).values(claimed_at=now).execution_options(synchronize_session=False))
    openids = None if claim.endswith("-all") else list(s.scalars(select(Delivery.openid).where(mine)))
    return claim, openids


def _claim_next(s: Session, d: Dispatcher, push: Push, now) -> tuple[str | None, list[str] | None]:
    if push.audience == "all" or push.audience.startswith("tag:"):
        claim = f"push{push.id}-all"
        taken = update(Delivery).where(Delivery.push_id == push.id, Delivery.state == "pending")
        taken = taken.values(state="sending", claim=claim, claimed_at=now, attempts=Delivery.attempts + 1)
        n = s.execute(taken.execution_options(synchronize_session=False)).rowcount
        return (claim, None) if n else (None, None)
    retried = s.scalar(
        select(Delivery.claim)
        .where(Delivery.push_id == push.id, Delivery.state == "pending", Delivery.claim.is_not(None))
        .where(Delivery.next_attempt_at <= now)
        .limit(1)
    )
    if retried is not None:  # a call that timed out: repeat it with the same clientmsgid
        mine = and_(Delivery.push_id == push.id, Delivery.claim == retried, Delivery.state == "pending")
        again = update(Delivery).where(mine).values(state="sending", claimed_at=now, attempts=Delivery.attempts + 1)
        s.execute(again.execution_options(synchronize_session=False))
        return retried, list(s.scalars(select(Delivery.openid).where(Delivery.claim == retried)))
    claim = f"push{push.id}-{uuid.uuid4().hex[:12]}"
    rows = claims.claim_batch(s, push.id, claim, now, d.cfg.mass_batch)
    return (claim, [r.openid for r in rows]) if rows else (None, None)


def _target(api: Any, push: Push, openids: list[str] | None) -> dict | Outcome:
    """The mass_send keyword arguments: an openid list, a tag id, or everybody."""
    if openids is not None:
        return {"openids": openids}
    if push.audience == "all":
        return {}
    tag = push.audience.partition(":")[2]
    if tag.isdigit():
        return {"tag_id": int(tag)}
    for item in api.tags():
        if item.get("name") == tag:
            return {"tag_id": int(item["id"])}
    return Outcome("failed", NO_TAG.format(tag=tag))


def _settle(s: Session, d: Dispatcher, push: Push, claim: str, outcome: Outcome) -> int:
    """Write the call's outcome on every delivery it covered, and the call itself for the budget and the report."""
    now = utcnow()
    mine = and_(Delivery.push_id == push.id, Delivery.claim == claim, Delivery.state == "sending")
    if outcome.kind == "sent":
        values: dict = {"state": "sent", "sent_at": now, "msgid": outcome.msgid, "error": None}
    elif outcome.kind == "pause":
        values = {"state": "pending", "claim": None, "error": outcome.why}
    elif outcome.kind == "retry":
        attempts = s.scalar(select(Delivery.attempts).where(mine).limit(1)) or 1
        if attempts < d.cfg.max_attempts:
            delay = d.cfg.retry_base_seconds * 2 ** (attempts - 1)
            values = {"state": "pending", "error": outcome.why, "next_attempt_at": now + timedelta(seconds=delay)}
        else:
            values = {"state": "failed", "error": f"{outcome.why}（已重试 {attempts} 次）"}
    else:
        values = {"state": "failed", "error": outcome.why}
    n = s.execute(update(Delivery).where(mine).values(**values).execution_options(synchronize_session=False)).rowcount
    if outcome.kind == "sent":
        row = {"push_id": push.id, "clientmsgid": claim, "msg_id": outcome.msgid, "recipients": n}
        insert_ignore(s, MassSend, [row | {"status": "accepted", "counts": {}, "sent_at": now}], ["clientmsgid"])
    return n or 0
