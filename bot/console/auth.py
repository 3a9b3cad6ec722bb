"""Signing in and out, the idle timeout, and the CSRF check that every console form goes through."""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import timedelta
from urllib.parse import urlsplit

from flask import current_app, flash, g, redirect, render_template, request, url_for
from flask import session as cookie
from sqlalchemy import update

from bot import clock
from bot.console import audit, bp, csrf
from bot.console.access import current_staff, public, requires
from bot.console.security import Limits, check_password, find_user, fingerprint, record_failure, record_success, refusal
from bot.console.settings import ConsoleSettings
from bot.db import aware, read_session, session, write_if_free
from bot.models import ConsoleSession, StaffUser

log = logging.getLogger(__name__)
HOMES = {"admin": "console.queue", "handler": "console.queue", "editor": "console.pushes", "viewer": "console.stats"}


def _settings() -> ConsoleSettings:
    return ConsoleSettings.of(current_app)


@bp.before_request
def load_staff() -> None:
    """Check CSRF on every form, find the signed-in staff member, and end a session idle for too long.

    Read on the request's reading session: a page that only reads answers while another process holds the writers'
    lock. The idle clock is moved (at most once a minute) only when the database takes the write at once.
    """
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        csrf.protect()
    g.staff = None
    staff_id = cookie.get("staff_id")
    if staff_id is None:
        return
    s = read_session()
    user = s.get(StaffUser, staff_id)
    record = s.get(ConsoleSession, _hash(cookie.get("sid", "")))
    now = clock.utcnow()
    idle = record is not None and now - aware(record.seen_at) > timedelta(minutes=_settings().idle_minutes)
    valid = record is not None and record.ended_at is None and record.staff_id == staff_id
    if user is None or user.disabled or cookie.get("fp") != fingerprint(user) or not valid or idle:
        cookie.clear()
        if valid and idle and user is not None:
            _mark(record.id_hash, ended_at=now)  # when not stored now, the row stays idle: refused all the same
            flash("您已较长时间未操作，为保护消费者信息已自动退出，请重新登录。")
        return
    if now - aware(record.seen_at) > SEEN_EVERY:  # the idle clock, written at most once a minute
        _mark(record.id_hash, seen_at=now)
    g.staff = user


def _mark(id_hash: str, **values) -> None:
    """Write a session record's times if the database takes the write at once; else leave it to a later request."""
    statement = update(ConsoleSession).where(ConsoleSession.id_hash == id_hash).values(**values)
    if not write_if_free(lambda conn: conn.execute(statement), MARK_WAIT):
        log.info("console session record not updated: the database is busy")


MARK_WAIT = 0.05  # seconds
SEEN_EVERY = timedelta(seconds=60)


def _hash(sid: str) -> str:
    return hashlib.sha256(sid.encode()).hexdigest()


def _safe_next(target: str | None) -> str | None:
    """Only a path inside the console may be a redirect target after sign-in."""
    if not target:
        return None
    if any(ord(c) < 32 or c in "\\\x7f" for c in target):  # CR/LF would split the Location header
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/console/"):
        return None
    return target


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    """The sign-in form; repeated failures lock the account and the address for a while."""
    if request.method == "GET":
        if current_staff():
            return redirect(url_for(HOMES[current_staff().role]))
        return render_template("console/login.html", next=request.args.get("next", ""))
    message, status = _try_login(request.form.get("username", ""), request.form.get("password", ""))
    if message is None:
        return redirect(_safe_next(request.form.get("next")) or url_for(HOMES[current_staff().role]))
    return render_template("console/login.html", error=message, next=request.form.get("next", "")), status


REFUSALS = {
    "address": "此网络地址登录失败次数过多，请在 {minutes} 分钟后再试。",
    "pair": "该账号因连续登录失败已被暂时锁定，请在 {minutes} 分钟后再试。",
    "throttle": "该账号近期登录失败次数过多，为保护账号安全，请在 {seconds} 秒后再试。",
}


def _try_login(username: str, password: str) -> tuple[str | None, int]:
    """Check the limits and the credentials; sign in on success. Returns (error message, HTTP status).

    Every name, an account's or not, goes through the same reads, the same argon2 verification and the same writes,
    and gets the same answers (bot/console/security.py has the limits)."""
    s = session()
    limits = Limits.of(_settings())
    address = request.remote_addr or "unknown"
    refused = refusal(s, username, address, limits)
    if refused is not None:
        return REFUSALS[refused.kind].format(minutes=refused.minutes, seconds=refused.seconds), 429
    user = find_user(s, username)
    if not check_password(user, password) or user is None or user.disabled:
        locked = record_failure(s, username, address, limits)
        # The typed name only when it is an account's: anything else may be a password typed in the wrong field.
        detail = f"用户名：{user.username}" if user is not None else "用户名：不是任何账号（所填内容不记录）"
        audit.record(s, "login_failed", detail=detail, actor=None)
        s.commit()
        if locked:
            return f"连续登录失败次数过多，该账号已被锁定，请在 {locked} 分钟后再试。", 429
        return "用户名或密码错误。", 401
    record_success(s, user, address)
    audit.record(s, "login", actor=user)
    sid = secrets.token_urlsafe(32)
    now = clock.utcnow()
    s.add(ConsoleSession(id_hash=_hash(sid), staff_id=user.id, created_at=now, seen_at=now))
    s.commit()
    cookie.clear()
    cookie.update(staff_id=user.id, fp=fingerprint(user), sid=sid)
    g.staff = user
    return None, 200


@bp.post("/logout")
@requires("admin", "handler", "editor", "viewer")
def logout():
    """Sign out and go back to the sign-in page."""
    s = session()
    audit.record(s, "logout")
    record = s.get(ConsoleSession, _hash(cookie.get("sid", "")))
    if record is not None:
        record.ended_at = clock.utcnow()  # a copy of the cookie is worth nothing from now on
    s.commit()
    cookie.clear()
    flash("您已安全退出。")
    return redirect(url_for("console.login"))


@bp.get("/")
@requires("admin", "handler", "editor", "viewer")
def home():
    """Each role's start page."""
    return redirect(url_for(HOMES[current_staff().role]))
