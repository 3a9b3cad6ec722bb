"""A push's report: every intended follower once, as sent, skipped (why) or failed (the platform's error)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.db import utcnow
from bot.models import Delivery, MassSend, Push
from bot.pushes import claims
from bot.pushes.sql import aware

__all__ = ["Report", "aware", "build", "finish"]
STATES = ("sent", "skipped", "failed", "pending", "sending")


@dataclass
class Report:
    """Counts by state, the reasons for skips and failures with how many each, and the platform's mass results."""

    push: Push
    counts: dict[str, int]
    reasons: list[tuple[str, str, int]] = field(default_factory=list)  # (state, why, count)
    mass: list[MassSend] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def build(session: Session, push: Push) -> Report:
    """The live report of one push, read from its deliveries."""
    reasons = session.execute(
        select(Delivery.state, Delivery.error, func.count())
        .where(Delivery.push_id == push.id, Delivery.error.is_not(None), Delivery.state.in_(("skipped", "failed")))
        .group_by(Delivery.state, Delivery.error)
        .order_by(func.count().desc())
    )
    mass = list(session.scalars(select(MassSend).where(MassSend.push_id == push.id).order_by(MassSend.id)))
    return Report(push, claims.counts(session, push.id), [(s, e, n) for s, e, n in reasons], mass)


def finish(session: Session, push: Push) -> None:
    """Close a push whose deliveries are all settled: state done, the summary kept on the row."""
    counts = claims.counts(session, push.id)
    push.state, push.finished_at, push.claimed_by, push.claimed_until = "done", utcnow(), None, None
    push.report = {**push.report, "counts": {k: counts.get(k, 0) for k in ("sent", "skipped", "failed")}}
