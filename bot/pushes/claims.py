"""Claiming work in the database so that two processes never take the same push step or delivery."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import Flask
from sqlalchemy import Row, and_, bindparam, func, or_, select, update
from sqlalchemy.orm import Session

from bot.models import Delivery, Push
from bot.pushes.settings import PushesSettings
from bot.pushes.sql import skip_locked

UNKNOWN_CUSTOM = "发送过程中断，无法确认客服消息是否送达；为免重复，没有重发"
UNKNOWN_LATE = "发送过程中断，已超过平台 10 分钟防重窗口，无法确认是否送达；为免重复，没有重发"
CANCELLED = "推送已取消，未发送"
OPEN = ("pending", "sending")


def settings(app: Flask) -> PushesSettings:
    """The `[pushes]` settings."""
    return PushesSettings.of(app)


def due_pushes(session: Session, now: datetime, only: int | None = None) -> list[Push]:
    """Lock the pushes that are due to start or resume (scheduled or paused, run_after passed)."""
    stmt = select(Push).where(Push.state.in_(("scheduled", "paused")), Push.run_after <= now)
    if only is not None:
        stmt = select(Push).where(Push.id == only, Push.state.in_(("scheduled", "paused")))
    return list(session.scalars(skip_locked(session, stmt.order_by(Push.run_after).limit(20))))


def take_expansion(session: Session, push_id: int, owner: str, now: datetime, timeout: int) -> Push | None:
    """Take (or keep) the right to expand a push's audience: one expander at a time, taken over when it stalls."""
    stmt = select(Push).where(
        Push.id == push_id,
        Push.state == "expanding",
        or_(Push.claimed_by == owner, Push.claimed_until.is_(None), Push.claimed_until < now),
    )
    push = session.scalars(skip_locked(session, stmt)).first()
    if push is not None:
        push.claimed_by, push.claimed_until = owner, now + timedelta(seconds=timeout)
    return push


def active_push_ids(session: Session) -> list[int]:
    """Pushes with work left for any sender: expanding or sending."""
    stmt = select(Push.id).where(Push.state.in_(("expanding", "sending"))).order_by(Push.due_at, Push.id)
    return list(session.scalars(stmt))


def claim_batch(session: Session, push_id: int, claim: str, now: datetime, size: int) -> list[Row]:
    """Mark up to `size` due pending deliveries as `sending` under `claim`; their (id, openid, attempts)."""
    due = or_(Delivery.next_attempt_at.is_(None), Delivery.next_attempt_at <= now)
    ids = select(Delivery.id).where(Delivery.push_id == push_id, Delivery.state == "pending", due)
    ids = skip_locked(session, ids.order_by(Delivery.id).limit(size))
    stmt = (
        update(Delivery)
        .where(Delivery.id.in_(ids.scalar_subquery()))
        .values(state="sending", claim=claim, claimed_at=now, attempts=Delivery.attempts + 1)
        .returning(Delivery.id, Delivery.openid, Delivery.attempts)
        .execution_options(synchronize_session=False)
    )
    return sorted(session.execute(stmt), key=lambda r: r.id)


def recover_stale(session: Session, app: Flask, push: Push, now: datetime) -> int:
    """Resolve deliveries left `sending` by a dead sender (older than the claim timeout); see README (pushes).

    Template messages go back to pending: they are sent again with the same client_msg_id, which the platform
    de-duplicates for 10 minutes, so only rows claimed within that window are retried; older ones, and
    customer-service messages (which the platform cannot de-duplicate), are marked failed as unknown — a missing
    message is visible in the report, a duplicate would not be undoable. Mass sends keep their claim: the mass
    sender repeats the same call with the same clientmsgid (the platform refuses a duplicate for 24 hours).
    """
    if push.channel == "mass":
        return 0
    cfg = settings(app)
    stale = and_(
        Delivery.push_id == push.id,
        Delivery.state == "sending",
        Delivery.claimed_at < now - timedelta(seconds=cfg.claim_timeout_seconds),
    )
    window = now - timedelta(seconds=cfg.dedupe_window_seconds)
    moved = 0
    if push.channel == "template":
        retry = update(Delivery).where(stale, Delivery.claimed_at >= window).values(state="pending", claim=None)
        moved += session.execute(retry.execution_options(synchronize_session=False)).rowcount or 0
    why = UNKNOWN_CUSTOM if push.channel == "custom" else UNKNOWN_LATE
    give_up = update(Delivery).where(stale).values(state="failed", error=why, claim=None)
    return moved + (session.execute(give_up.execution_options(synchronize_session=False)).rowcount or 0)


def record(session: Session, delivery_id: int, claim: str, values: dict[str, Any]) -> bool:
    """Write one delivery's result, only if this sender still holds it; False when it was taken over."""
    stmt = (
        update(Delivery)
        .where(Delivery.id == delivery_id, Delivery.claim == claim, Delivery.state == "sending")
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return bool(session.execute(stmt).rowcount)


def record_many(session: Session, claim: str, results: list[tuple[int, dict[str, Any]]]) -> None:
    """record() for many deliveries that set the same columns, in one statement executed for every row."""
    table = Delivery.__table__
    keys = sorted(results[0][1])
    stmt = (
        update(table)
        .where(table.c.id == bindparam("d_id"), table.c.claim == bindparam("d_claim"), table.c.state == "sending")
        .values({key: bindparam(f"v_{key}") for key in keys})
    )
    params = [{"d_id": i, "d_claim": claim, **{f"v_{k}": values[k] for k in keys}} for i, values in results]
    session.execute(stmt, params)


def counts(session: Session, push_id: int) -> dict[str, int]:
    """Deliveries of a push by state."""
    stmt = select(Delivery.state, func.count()).where(Delivery.push_id == push_id).group_by(Delivery.state)
    return {state: n for state, n in session.execute(stmt)}


def next_retry_at(session: Session, push_id: int) -> datetime | None:
    """When the earliest pending delivery of a push may be tried again."""
    stmt = select(func.min(Delivery.next_attempt_at)).where(Delivery.push_id == push_id, Delivery.state == "pending")
    return session.scalar(stmt)


def close_pending(session: Session, push_id: int, why: str = CANCELLED) -> int:
    """Mark every still-pending delivery of a push skipped with `why` (cancel)."""
    stmt = (
        update(Delivery)
        .where(Delivery.push_id == push_id, Delivery.state == "pending")
        .values(state="skipped", error=why)
        .execution_options(synchronize_session=False)
    )
    return session.execute(stmt).rowcount or 0
