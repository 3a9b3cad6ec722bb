"""The period's figures, computed in SQL within the user's scope: the dashboard and the period report share them."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.console import clock
from bot.console.access import scope_leads
from bot.console.forms import day_start_utc
from bot.leads.create import rules
from bot.leads.rules import UNASSIGNED
from bot.leads.workflow import ALL_STATUSES, CLOSED_STATUSES, KIND_NAMES, OPEN_STATUSES
from bot.models import Delivery, Lead, LeadEvent, Push, StaffUser


@dataclass
class Figures:
    """What happened between start and end (inclusive), as seen by one user."""

    start: date
    end: date
    received: int = 0
    kinds: dict[str, int] = field(default_factory=dict)
    weekly: list[tuple[str, int]] = field(default_factory=list)
    by_category: list[tuple[str, int]] = field(default_factory=list)
    closed_by_category: dict[str, int] = field(default_factory=dict)
    by_branch: list[tuple[str, int]] = field(default_factory=list)
    steps: dict[str, int] = field(default_factory=dict)  # "kind:status" -> leads moved there in the period
    open_now: int = 0
    overdue_now: int = 0
    handled: int = 0
    avg_days_to_accept: float | None = None
    pushes: int = 0
    reach: int = 0
    notices: list[Any] = field(default_factory=list)


def compute(s: Session, user: StaffUser, start: date, end: date, today: date) -> Figures:
    """All the figures for the period [start, end]."""
    f = Figures(start, end)
    period = (Lead.received_on >= start, Lead.received_on <= end)

    def grouped(*columns) -> list[Any]:
        stmt = scope_leads(select(*columns, func.count()).where(*period), user).group_by(*columns)
        return list(s.execute(stmt))

    kinds: Counter[str] = Counter()
    categories: Counter[str] = Counter()
    branches: Counter[str | None] = Counter()
    for kind, category, branch, n in grouped(Lead.kind, Lead.category, Lead.branch):  # a few hundred groups
        kinds[kind] += n
        categories[category] += n
        branches[branch] += n
    f.kinds = {KIND_NAMES.get(k, k): n for k, n in kinds.items()}
    f.received = sum(f.kinds.values())
    f.by_category = [(k or "其他", n) for k, n in _most(categories)]
    names = rules(current_app).branches
    f.by_branch = [(names.name(k) if k else UNASSIGNED, n) for k, n in _most(branches)]
    f.weekly = _weekly(grouped(Lead.received_on), start, end)
    closed = (Lead.closed_on >= start, Lead.closed_on <= end, Lead.status.in_(CLOSED_STATUSES))
    stmt = scope_leads(select(Lead.category, func.count()).where(*closed), user).group_by(Lead.category)
    f.closed_by_category = {k or "其他": n for k, n in s.execute(stmt)}
    f.handled = sum(f.closed_by_category.values())
    f.steps = _steps(s, user, start, end)
    open_q = scope_leads(select(func.count()).select_from(Lead).where(Lead.status.in_(OPEN_STATUSES)), user)
    f.open_now = s.scalar(open_q) or 0
    f.overdue_now = s.scalar(open_q.where(Lead.next_due < today)) or 0
    f.avg_days_to_accept = _avg_accept(s, user, start, end)
    f.pushes, f.reach = _pushes(s, start, end)
    f.notices = _notices(start, end)
    return f


def _most(counts: Counter) -> list[tuple[Any, int]]:
    """Largest count first; ties by value, so the order does not depend on the database."""
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0] or ""))


def _weekly(per_day: list[tuple[date, int]], start: date, end: date) -> list[tuple[str, int]]:
    """Counts per week (weeks start on Monday), every week of the period present."""
    counts: Counter[date] = Counter()
    for day, n in per_day:
        counts[day - timedelta(days=day.weekday())] += n
    week, out = start - timedelta(days=start.weekday()), []
    while week <= end:
        out.append((f"{week.month}/{week.day}", counts.get(week, 0)))
        week += timedelta(days=7)
    return out


def _steps(s: Session, user: StaffUser, start: date, end: date) -> dict[str, int]:
    """How many leads were moved to each status within the period (from the timeline), by the lead's kind.

    Each status event is one lead entering that status, and a lead enters each status at most once: the flow has no
    cycle (FLOWS in bot/leads/workflow.py; tests/test_console_leads.py) and a transition holds the lead's row. So the
    events are counted, not their distinct leads, which on a year's ~85,000 events saves a sort of ~60 ms on SQLite
    and on PostgreSQL. The kind is the event's copy (`lead_kind`, written by workflow.transition; a lead's kind never
    changes). Naming every kind and status lets both databases read `ix_lead_event_step_counts` as one short range
    per pair, already in group order. A handler's count joins the lead for its branch."""
    lo, hi = day_start_utc(start), day_start_utc(end + timedelta(days=1))
    stmt = (
        select(LeadEvent.lead_kind, LeadEvent.status, func.count())
        .where(LeadEvent.kind == "status", LeadEvent.lead_kind.in_(tuple(KIND_NAMES)))
        .where(LeadEvent.status.in_(ALL_STATUSES), LeadEvent.at >= lo, LeadEvent.at < hi)
        .group_by(LeadEvent.lead_kind, LeadEvent.status)
    )
    if scope_leads(stmt, user) is not stmt:  # restricted to a branch: the lead's, through the join
        stmt = scope_leads(stmt.join(Lead, Lead.id == LeadEvent.lead_id), user)
    return {f"{kind}:{status}": n for kind, status, n in s.execute(stmt)}


def _avg_accept(s: Session, user: StaffUser, start: date, end: date) -> float | None:
    """Average working days from receipt to acceptance, for complaints accepted in the period (counted once per
    distinct pair of dates, not once per lead)."""
    stmt = scope_leads(
        select(Lead.received_on, Lead.accepted_on, func.count())
        .where(Lead.accepted_on >= start, Lead.accepted_on <= end)
        .group_by(Lead.received_on, Lead.accepted_on),
        user,
    )
    total = count = 0
    cal = clock.calendar(current_app)  # once, not per row: a year has ~2,500 date pairs
    for received, accepted, n in s.execute(stmt):
        total += cal.signed_days(received, accepted) * n
        count += n
    return round(total / count, 1) if count else None


def _pushes(s: Session, start: date, end: date) -> tuple[int, int]:
    """Pushes sent in the period and how many deliveries reached a follower."""
    lo, hi = day_start_utc(start), day_start_utc(end + timedelta(days=1))
    window = (Push.due_at >= lo, Push.due_at < hi, Push.started_at.is_not(None))
    pushes = s.scalar(select(func.count()).select_from(Push).where(*window)) or 0
    reach_q = select(func.count()).select_from(Delivery).join(Push, Push.id == Delivery.push_id)
    reach = s.scalar(reach_q.where(*window, Delivery.state == "sent")) or 0
    return pushes, reach


def _notices(start: date, end: date) -> list[Any]:
    """Notices dated within the period, from the notice store when it is installed."""
    store = current_app.extensions.get("notices")
    if store is None:
        return []
    out = []
    for notice in store.all():
        day = date.fromisoformat(str(notice.date)[:10])
        if start <= day <= end:
            out.append(notice)
    return sorted(out, key=lambda n: str(n.date))
