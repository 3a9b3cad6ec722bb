"""Staff accounts in the console (admins): the list, and disabling or enabling an account (audited)."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, url_for
from sqlalchemy import select

from bot.console import audit, bp
from bot.console.access import ROLES, current_staff, requires
from bot.console.security import Limits, clear_lockout, locked_names
from bot.console.settings import ConsoleSettings
from bot.db import read_session, session
from bot.models import StaffUser


@bp.get("/staff")
@requires("admin")
def staff_list():
    """Every account with its role, branch and state; new accounts are made with `flask staff add`."""
    users = read_session().scalars(select(StaffUser).order_by(StaffUser.role, StaffUser.username)).all()
    limits = Limits.of(ConsoleSettings.of(current_app))
    names = locked_names(read_session(), [u.username for u in users], limits)
    locked = {u.id for u in users if u.username in names}
    return render_template("console/staff.html", users=users, roles=ROLES, locked=locked)


@bp.post("/staff/<int:user_id>/toggle")
@requires("admin")
def staff_toggle(user_id: int):
    """Disable an account (its sessions end at once) or enable it again; an admin cannot disable themself."""
    s = session()
    user = s.get(StaffUser, user_id)
    if user is None:
        abort(404)
    if user.id == current_staff().id:
        flash("不能停用自己的账号。", "error")
        return redirect(url_for("console.staff_list"), code=303)
    user.disabled = not user.disabled
    if not user.disabled:
        clear_lockout(s, user.username)
    action = "停用" if user.disabled else "启用"
    audit.record(s, "staff_change", detail=f"{action}账号 {user.username}")
    s.commit()
    flash(f"已{action}账号 {user.username}。")
    return redirect(url_for("console.staff_list"), code=303)
