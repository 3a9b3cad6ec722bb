"""The work queue (open leads by nearest statutory deadline) and the triage queue of leads with no branch."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date

from flask import current_app, render_template, request
from sqlalchemy import Select, func, or_, select

from bot import deadlines
from bot.console import bp, clock
from bot.console.access import LEAD_ROLES, current_staff, requires, scope_leads
from bot.console.forms import parse_date, parse_int
from bot.db import session
from bot.models import Lead, StaffUser
from bot.workflow import ALL_STATUSES, KIND_NAMES, OPEN_STATUSES

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
    elif status != "all":
        stmt = stmt.where(Lead.status.in_(OPEN_STATUSES))
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
    s, rows = session(), []
    if offset < dated:
        part = stmt.where(Lead.next_due.is_not(None)).order_by(Lead.next_due.asc(), Lead.id.asc())
        rows = s.execute(part.limit(size).offset(offset)).all()
    if len(rows) < size:
        part = stmt.where(Lead.next_due.is_(None)).order_by(Lead.id.asc())
        rows += s.execute(part.limit(size - len(rows)).offset(max(0, offset - dated))).all()
    return rows


def decorate(rows: list, today: date) -> list[dict]:
    """Queue rows as dicts with working days left and the assignee's name."""
    ids = {r.assignee_id for r in rows if r.assignee_id}
    names = {}
    if ids:
        found = session().execute(
            select(StaffUser.id, StaffUser.display_name, StaffUser.username).where(StaffUser.id.in_(ids))
        )
        names = {i: d or u for i, d, u in found}
    out = []
    for r in rows:
        left = clock.days_left(current_app, today, r.next_due)
        out.append(
            {
                **r._asdict(),
                "left": left,
                "assignee": names.get(r.assignee_id, ""),
                "kind_name": KIND_NAMES.get(r.kind, r.kind),
            }
        )
    return out


def filter_options() -> dict:
    """Values for the filter menus, drawn from the user's own scope."""
    s = session()
    cats = s.scalars(scope_leads(select(Lead.category).distinct()).order_by(Lead.category)).all()
    branches = []
    if current_staff().role == "admin":
        branches = [b for b in s.scalars(select(Lead.branch).distinct().order_by(Lead.branch)) if b]
    return {"categories": cats, "branches": branches, "statuses": ALL_STATUSES, "kinds": KIND_NAMES}


def _page(stmt: Select, today: date) -> dict:
    size = current_app.config["SETTINGS"]["console"]["page_size"]
    counts = stmt.with_only_columns(func.count(), func.count(Lead.next_due), maintain_column_froms=True)
    total, dated = session().execute(counts.order_by(None)).one()
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
    known = {b for b in session().scalars(select(StaffUser.branch).distinct()) if b}
    known |= set(filter_options()["branches"])
    return render_template("console/triage.html", **data, branches=sorted(known), today=today, args=request.args)
