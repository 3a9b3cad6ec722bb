"""Who may do what: roles, the per-route decorator, and the branch scope every lead query goes through."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask import abort, g, redirect, request, url_for
from sqlalchemy import Select, false, select

from bot.db import read_session, session
from bot.models import Lead, StaffUser

ROLES: dict[str, str] = {"admin": "管理员", "handler": "办理人员", "editor": "编辑", "viewer": "统计查看"}
LEAD_ROLES = ("admin", "handler")  # who sees leads and consumers' data
STATS_ROLES = ("admin", "handler", "viewer")  # handlers see their own branch's figures only
EDITOR_ROLES = ("admin", "editor")


def current_staff() -> StaffUser | None:
    """The signed-in staff member of this request, or None."""
    return g.get("staff")


def public(view: Callable) -> Callable:
    """Mark a console view that needs no sign-in (the sign-in page)."""
    view.console_roles = ()  # type: ignore[attr-defined]
    return view


def requires(*roles: str) -> Callable[[Callable], Callable]:
    """Declare the roles a console view needs: anonymous users go to sign-in, other roles get 403."""

    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any):
            user = current_staff()
            if user is None:
                return redirect(url_for("console.login", next=request.full_path.rstrip("?")))
            if user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        wrapper.console_roles = roles  # type: ignore[attr-defined]
        return wrapper

    return decorate


def scope_leads(stmt: Select, user: StaffUser | None = None) -> Select:
    """Restrict a query over Lead to the user's scope: every branch for admin/viewer, own branch for a handler."""
    user = user or current_staff()
    if user is None:
        return stmt.where(false())
    if user.role in ("admin", "viewer"):  # a viewer's routes show aggregate figures only
        return stmt
    if user.role == "handler" and user.branch:
        return stmt.where(Lead.branch == user.branch)
    return stmt.where(false())


def visible_lead(lead_id: int, *, for_update: bool = False) -> Lead:
    """The lead if the current user may see it; 404 otherwise (another branch's lead does not exist for them).

    Read on the request's reading session; `for_update` reads it on the writing session, row locked, for a view
    that changes it."""
    user = current_staff()
    if user is None or user.role not in LEAD_ROLES:
        abort(404)
    stmt = scope_leads(select(Lead).where(Lead.id == lead_id), user)
    lead = session().scalar(stmt.with_for_update()) if for_update else read_session().scalar(stmt)
    if lead is None:
        abort(404)
    return lead
