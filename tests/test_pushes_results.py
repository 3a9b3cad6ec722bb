"""Delivery results committed in groups (bot.pushes.results): each lands only under its sender's claim."""

from __future__ import annotations

from sqlalchemy import select, update

from bot.db import get_db, utcnow
from bot.models import Delivery, Follower, Push
from bot.pushes import claims
from bot.pushes.channels import Outcome
from bot.pushes.results import Results, values_for
from bot.pushes.settings import PushesSettings

CFG = PushesSettings(max_attempts=3, retry_base_seconds=2)


def _claimed(app, n: int) -> tuple[int, list]:
    """A sending push with n deliveries (and their followers), all claimed under one claim: (push id, rows)."""
    with get_db(app).scope() as s:
        push = Push(notice_slug="n", channel="template", audience="all", due_at=utcnow(), state="sending")
        s.add(push)
        s.flush()
        s.add_all(Follower(openid=f"o{i}", subscribed=True, tags=[], topics=[]) for i in range(n))
        s.add_all(Delivery(push_id=push.id, openid=f"o{i}", state="pending") for i in range(n))
    with get_db(app).scope() as s:
        return push.id, claims.claim_batch(s, push.id, "claim-1", utcnow(), n)


def test_a_group_of_mixed_results_is_written_in_one_go(app):
    push_id, rows = _claimed(app, 4)
    outcomes = [
        Outcome("sent", msgid="m1"),
        Outcome("skipped", "用户已取消关注", unsubscribed=True),
        Outcome("retry", "平台繁忙"),
        Outcome("failed", "平台拒绝：40037"),
    ]
    written = Results(get_db(app), "claim-1", every=100, seconds=60)
    now = utcnow()
    for row, outcome in zip(rows, outcomes, strict=True):
        written.add(row.id, row.openid, values_for(outcome, row.attempts, CFG, now), outcome.unsubscribed)
    with get_db(app).scope() as s:  # nothing is written before the group is flushed
        assert set(s.scalars(select(Delivery.state).where(Delivery.push_id == push_id))) == {"sending"}
    written.flush()
    with get_db(app).scope() as s:
        got = {d.openid: d for d in s.scalars(select(Delivery).where(Delivery.push_id == push_id))}
        assert (got["o0"].state, got["o0"].msgid, got["o0"].claim) == ("sent", "m1", None)
        assert got["o0"].sent_at is not None
        assert (got["o1"].state, got["o1"].error) == ("skipped", "用户已取消关注")
        assert got["o2"].state == "pending" and got["o2"].next_attempt_at is not None
        assert (got["o3"].state, got["o3"].error) == ("failed", "平台拒绝：40037")
        left = s.scalars(select(Follower.subscribed).where(Follower.openid == "o1")).one()
        assert left is False  # the platform said o1 has left


def test_a_result_for_a_delivery_taken_over_by_another_sender_is_dropped(app):
    push_id, rows = _claimed(app, 3)
    with get_db(app).scope() as s:  # another sender recovered o1 and holds it now
        s.execute(update(Delivery).where(Delivery.id == rows[1].id).values(claim="claim-2"))
    written = Results(get_db(app), "claim-1", every=2, seconds=60)  # the second add flushes by itself
    for row in rows:
        written.add(row.id, row.openid, values_for(Outcome("sent", msgid=row.openid), 1, CFG, utcnow()))
    written.flush()
    with get_db(app).scope() as s:
        got = {d.openid: (d.state, d.claim) for d in s.scalars(select(Delivery).where(Delivery.push_id == push_id))}
    assert got == {"o0": ("sent", None), "o1": ("sending", "claim-2"), "o2": ("sent", None)}


def test_retries_end_as_failed_after_the_configured_attempts():
    now = utcnow()
    assert values_for(Outcome("retry", "超时"), 2, CFG, now)["state"] == "pending"
    last = values_for(Outcome("retry", "超时"), 3, CFG, now)
    assert last["state"] == "failed" and last["error"] == "超时（已重试 3 次）"
    assert values_for(Outcome("pause", "配额"), 9, CFG, now)["state"] == "pending"
