"""The work queue (open leads by nearest statutory deadline) and the triage queue of leads with no branch."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date

from flask import current_app, render_template, request
from sqlalchemy import Select, func, or_, select

from bot.console import bp, clock
from bot.console.access import LEAD_ROLES, current_staff, requires, scope_leads
from bot.console.forms import parse_date, parse_int
from bot.console.settings import ConsoleSettings
from bot.db import read_session
from bot.leads import conversation, deadlines
from bot.leads.create import rules
from bot.leads.periods import paused_days_left
from bot.leads.workflow import ALL_STATUSES, KIND_NAMES, MOVED_EARLIER, OPEN_STATUSES
from bot.models import Lead, StaffUser

QUEUE_COLUMNS = (
    Lead.id,
    Lead.ticket,
    Lead.kind,
    Lead.category,
    Lead.business_name,
    Lead.status,
    Lead.branch,
    Lead.next_due,
    Lead.received_on,
    Lead.assignee_id,
    Lead.routing_rule,
)


def filtered(args: Mapping[str, str], today: date, *, triage: bool | None = False) -> Select:
    """Leads in the user's scope matching the queue's filters (no order, no paging)."""
    user = current_staff()
    stmt = scope_leads(select(*QUEUE_COLUMNS), user)
    if triage is not None:  # None: with and without a branch (exports)
        stmt = stmt.where(Lead.branch.is_(None)) if triage else stmt.where(Lead.branch.is_not(None))
    status = args.get("status", "")
    if status in ALL_STATUSES:
        stmt = stmt.where(Lead.status == status)
    elif status != "all":  # open leads, and closed ones whose decision the parties have not all heard of yet
        stmt = stmt.where(or_(Lead.status.in_(OPEN_STATUSES), Lead.next_due.is_not(None)))
    if args.get("category"):
        stmt = stmt.where(Lead.category == args["category"])
    if args.get("branch") and user.role == "admin":
        stmt = stmt.where(Lead.branch == args["branch"])
    if args.get("kind") in KIND_NAMES:
        stmt = stmt.where(Lead.kind == args["kind"])
    if args.get("mine"):
        stmt = stmt.where(Lead.assignee_id == user.id)
    if args.get("overdue"):
        stmt = stmt.where(Lead.next_due < today)
    start, end = parse_date(args.get("from")), parse_date(args.get("to"))
    if start:
        stmt = stmt.where(Lead.received_on >= start)
    if end:
        stmt = stmt.where(Lead.received_on <= end)
    text = (args.get("q") or "").strip()[:100]
    if text:
        like = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        stmt = stmt.where(or_(Lead.ticket.ilike(like, escape="\\"), Lead.business_name.ilike(like, escape="\\")))
    return stmt


def page_rows(stmt: Select, dated: int, offset: int, size: int) -> list:
    """Rows [offset, offset + size) in the queue's order: nearest deadline first, leads without a deadline last,
    ties by age. Read as two index-ordered parts, the `dated` leads with a deadline (by deadline, then id) and then
    those without (by id): SQLite cannot read an index in NULLS LAST order, so one query would sort every matching
    lead for each page."""
    rows = []
    if offset < dated:
        rows = _slice(stmt.where(Lead.next_due.is_not(None)), (Lead.next_due.asc(), Lead.id.asc()), offset, size)
    if len(rows) < size:
        rows += _slice(stmt.where(Lead.next_due.is_(None)), (Lead.id.asc(),), max(0, offset - dated), size - len(rows))
    return rows


def _slice(stmt: Select, order: tuple, offset: int, size: int) -> list:
    """One part's page: the ids first, paged in index order from `ix_lead_queue` alone (no table row is read for
    the leads skipped by OFFSET), then the page's rows by id. Asked for whole rows, PostgreSQL misjudged how many leads
    have a deadline and sorted all ~49,000 open ones for a deep page (bench/README.md, "Before and after": the
    console's last mile)."""
    ids = stmt.with_only_columns(Lead.id, maintain_column_froms=True).order_by(*order).limit(size).offset(offset)
    page = ids.subquery()
    return read_session().execute(select(*QUEUE_COLUMNS).join(page, page.c.id == Lead.id).order_by(*order)).all()


def decorate(rows: list, today: date) -> list[dict]:
    """Queue rows as dicts with working days left and the assignee's name."""
    ids = {r.assignee_id for r in rows if r.assignee_id}
    names = {}
    if ids:
        found = read_session().execute(
            select(StaffUser.id, StaffUser.display_name, StaffUser.username).where(StaffUser.id.in_(ids))
        )
        names = {i: d or u for i, d, u in found}
    shown = flags([r.id for r in rows])
    unread = conversation.unread_counts(read_session(), [r.id for r in rows])
    out = []
    for r in rows:
        left = clock.days_left(current_app, today, r.next_due)
        out.append(
            {
                **r._asdict(),
                "left": left,
                "assignee": names.get(r.assignee_id, ""),
                "kind_name": KIND_NAMES.get(r.kind, r.kind),
                **shown.get(r.id, {}),
                "unread": unread.get(r.id, 0),
                "owed": r.status not in OPEN_STATUSES and r.next_due is not None,  # a notice still to deliver
            }
        )
    return out


def flags(lead_ids: list[int]) -> dict[int, dict]:
    """What these leads' rows show beside the deadline: `moved`, the deadline a calendar correction moved earlier
    (bot/leads/recompute.py); `paused_left`, the days left of a mediation limit paused for appraisal (Art 22)."""
    if not lead_ids:
        return {}
    found = read_session().execute(
        select(Lead.id, Lead.status, Lead.extra, Lead.mediation_due).where(Lead.id.in_(lead_ids))
    )
    return {
        row.id: {"moved": (row.extra or {}).get(MOVED_EARLIER), "paused_left": paused_days_left(row)}  # type: ignore[arg-type]
        for row in found
    }


def filter_options() -> dict:
    """Values for the filter menus, drawn from the user's own scope."""
    user = current_staff()
    if user.role == "admin":
        cats, branches = distinct_values(Lead.category), [b for b in distinct_values(Lead.branch) if b]
    else:  # one branch's leads, read through its index
        stmt = scope_leads(select(Lead.category).distinct()).order_by(Lead.category)
        cats, branches = read_session().scalars(stmt), []
    return {"categories": list(cats), "branches": branches, "statuses": ALL_STATUSES, "kinds": KIND_NAMES}


def distinct_values(column) -> list:
    """The column's distinct non-null values over all leads, in the database's order: a loose index scan (a
    recursive query asking the column's index for the next larger value, one probe per value) instead of reading
    all 100,000 leads as `SELECT DISTINCT` does on both databases. Exact, so nothing to keep fresh."""
    start = select(func.min(column).label("v")).cte("vals", recursive=True)
    following = select(func.min(column)).where(column > start.c.v).scalar_subquery()
    values = start.union_all(select(following.label("v")).where(start.c.v.is_not(None)))
    return list(read_session().scalars(select(values.c.v).where(values.c.v.is_not(None))))


def _page(stmt: Select, today: date) -> dict:
    size = ConsoleSettings.of(current_app).page_size
    counts = stmt.with_only_columns(func.count(), func.count(Lead.next_due), maintain_column_froms=True)
    total, dated = read_session().execute(counts.order_by(None)).one()
    pages = max(1, math.ceil(total / size))
    page = parse_int(request.args.get("page"), 1, 1, pages)
    rows = page_rows(stmt, dated, (page - 1) * size, size)
    return {"rows": decorate(rows, today), "total": total, "page": page, "pages": pages}


@bp.get("/queue")
@requires(*LEAD_ROLES)
def queue():
    """The user's open leads, nearest statutory deadline first, with filters and search."""
    today = deadlines.today_local(current_app)
    data = _page(filtered(request.args, today), today)
    return render_template("console/queue.html", **data, **filter_options(), today=today, args=request.args)


@bp.get("/triage")
@requires("admin")
def triage():
    """Open leads that routing could not place in a branch; an admin assigns each one."""
    today = deadlines.today_local(current_app)
    data = _page(filtered(request.args, today, triage=True), today)
    branches = [(code, b.name) for code, b in rules(current_app).branches.branches.items()]
    return render_template("console/triage.html", **data, branches=branches, today=today, args=request.args)
