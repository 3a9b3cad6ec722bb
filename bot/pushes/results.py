"""Delivery results: what each send outcome writes, and a writer that commits the results of a batch in groups.

The sending threads only talk to the platform; the batch's own thread hands their results to `Results`, which
commits them every `every` results or `seconds` seconds in one transaction (one UPDATE per kind of change, executed
for many rows at once). Each write still only lands while this sender holds the delivery's claim (claims.record), so
a delivery another sender took over is never overwritten. A crash before a group is committed leaves its deliveries
`sending`, which the stale-claim recovery resolves exactly as for a crash right after the call (see claims.py).
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from bot.db import Database, utcnow
from bot.models import Follower
from bot.pushes import claims
from bot.pushes.channels import Outcome
from bot.pushes.settings import PushesSettings


def values_for(outcome: Outcome, attempts: int, cfg: PushesSettings, now: datetime) -> dict[str, Any]:
    """The columns one outcome sets on its delivery; attempts counts the claims so far, this one included."""
    values: dict[str, Any] = {"claim": None, "error": outcome.why}
    if outcome.kind == "sent":
        return values | {"state": "sent", "sent_at": now, "msgid": outcome.msgid}
    if outcome.kind in ("skipped", "failed"):
        return values | {"state": outcome.kind}
    if outcome.kind == "pause" or (outcome.kind == "retry" and attempts < cfg.max_attempts):
        delay = 0 if outcome.kind == "pause" else cfg.retry_base_seconds * 2 ** (attempts - 1)
        return values | {"state": "pending", "next_attempt_at": now + timedelta(seconds=delay)}
    return values | {"state": "failed", "error": f"{outcome.why}（已重试 {attempts} 次）"}


class Results:
    """The results of one claimed batch, committed in groups by the thread that claimed it."""

    def __init__(self, db: Database, claim: str, every: int = 200, seconds: float = 0.25) -> None:
        self.db, self.claim, self.every, self.seconds = db, claim, every, seconds
        self.waiting: list[tuple[int, str, dict[str, Any], bool]] = []
        self.flushed_at = time.monotonic()

    def add(self, delivery_id: int, openid: str, values: dict[str, Any], unsubscribed: bool = False) -> None:
        """One delivery's result; committed with the next group."""
        self.waiting.append((delivery_id, openid, values, unsubscribed))
        if len(self.waiting) >= self.every or time.monotonic() - self.flushed_at >= self.seconds:
            self.flush()

    def flush(self) -> None:
        """Commit every waiting result in one transaction (and mark followers the platform says have left)."""
        self.flushed_at = time.monotonic()
        if not self.waiting:
            return
        groups: dict[tuple[str, ...], list[tuple[int, dict[str, Any]]]] = {}
        left: list[tuple[int, str, dict[str, Any]]] = []
        for delivery_id, openid, values, unsubscribed in self.waiting:
            if unsubscribed:
                left.append((delivery_id, openid, values))
            else:
                groups.setdefault(tuple(sorted(values)), []).append((delivery_id, values))
        with self.db.scope() as s:
            for rows in groups.values():
                claims.record_many(s, self.claim, rows)
            for delivery_id, openid, values in left:
                if claims.record(s, delivery_id, self.claim, values):
                    follower = s.scalars(select(Follower).where(Follower.openid == openid)).first()
                    if follower is not None and follower.subscribed:
                        follower.subscribed, follower.unsubscribed_at = False, utcnow()
        self.waiting.clear()
