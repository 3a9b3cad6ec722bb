"""The audit log: an append-only record of sign-ins, reveals, status changes, replies, exports and account changes."""

from __future__ import annotations

import logging
from datetime import timedelta

from flask import has_request_context, render_template, request
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from bot.console import bp
from bot.console.access import current_staff, requires
from bot.console.forms import day_start_utc, parse_date, parse_int
from bot.db import read_session, utcnow, write_if_free
from bot.models import AuditEntry, StaffUser

log = logging.getLogger(__name__)
ACTIONS: dict[str, str] = {
    "login": "登录",
    "login_failed": "登录失败",
    "logout": "退出",
    "phone_reveal": "查看完整号码",
    "status_change": "变更状态",
    "reply": "答复消费者",
    "notice_offline": "登记线下告知",
    "note": "内部备注",
    "recategorize": "调整分类",
    "reassign": "改派",
    "export": "导出",
    "report_download": "下载报告",
    "staff_change": "账号变更",
    "notice_draft": "保存公告草稿",
    "notice_publish": "发布公告",
    "notice_update": "修改已发布的公告",
    "notice_unpublish": "撤回公告",
}


def _fields(action: str, lead_id: int | None, detail: str | None, actor: StaffUser | None) -> dict:
    """An audit entry's columns for the current request (who, from where), or for a command."""
    if actor is None and has_request_context():
        actor = current_staff()
    return {
        "actor_id": actor.id if actor else None,
        "actor_name": actor.username if actor else None,
        "action": action,
        "lead_id": lead_id,
        "address": request.remote_addr if has_request_context() else "命令行",
        "detail": detail,
    }


def record(
    s: Session,
    action: str,
    *,
    lead_id: int | None = None,
    detail: str | None = None,
    actor: StaffUser | None = None,
) -> AuditEntry:
    """Add an audit entry for the current request (who, from where); the caller commits with its own change."""
    entry = AuditEntry(**_fields(action, lead_id, detail, actor))
    s.add(entry)
    return entry


RECORD_WAIT = 0.05  # seconds


def record_if_free(action: str, *, detail: str | None = None) -> bool:
    """Store an audit entry for a request that only reads (an export without personal data, a report download) in
    a transaction of its own, if the database takes the write within RECORD_WAIT. While another process holds the
    database the entry goes to the application log instead (False), and the request still answers at once."""
    values = {**_fields(action, None, detail, None), "at": utcnow()}
    if write_if_free(lambda conn: conn.execute(insert(AuditEntry).values(**values)), RECORD_WAIT):
        return True
    log.warning(
        "audit entry logged here, not stored (the database is busy): action=%s actor=%s address=%s detail=%s",
        action, values["actor_name"], values["address"], detail,
    )  # fmt: skip
    return False


@bp.get("/audit")
@requires("admin")
def audit_log():
    """The audit log, newest first, filtered by action, person, lead and date."""
    args = request.args
    stmt = select(AuditEntry)
    if args.get("action") in ACTIONS:
        stmt = stmt.where(AuditEntry.action == args["action"])
    if args.get("actor"):
        stmt = stmt.where(AuditEntry.actor_name == args["actor"].strip())
    if args.get("lead", "").isdigit():
        stmt = stmt.where(AuditEntry.lead_id == int(args["lead"]))
    start, end = parse_date(args.get("from")), parse_date(args.get("to"))
    if start:
        stmt = stmt.where(AuditEntry.at >= day_start_utc(start))
    if end:
        stmt = stmt.where(AuditEntry.at < day_start_utc(end + timedelta(days=1)))
    page = parse_int(args.get("page"))
    rows = read_session().scalars(stmt.order_by(AuditEntry.id.desc()).limit(101).offset((page - 1) * 100)).all()
    return render_template(
        "console/audit.html", rows=rows[:100], more=len(rows) > 100, page=page, actions=ACTIONS, args=args
    )
