"""Notices to the parties of a lead: every decision the law says they must hear of, and every staff reply.

A decision (`decide`) changes the status, writes its notices from content/decisions.toml and queues the consumer's
through the outbox, all in the caller's transaction: either all of it is committed or none. A notice with a legal
deadline (the acceptance decision, Art 15; the termination of mediation, Art 23 last ¶) holds the lead's next_due
until it is delivered, so the lead stays in the work queue, closed or not, until the party has heard of it. The
business (被投诉人) and a consumer without a WeChat user are told by phone, SMS, post or e-mail and staff record it
(`record_offline`); so is a consumer whose message could not be delivered.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot import outbox
from bot.db import utcnow
from bot.leads.deadlines import calendar_for
from bot.leads.settings import LeadsSettings
from bot.leads.wording import Notice, cn_date, wording
from bot.leads.workflow import KIND_NAMES, Decision, transition
from bot.models import UNDELIVERED, Lead, LeadEvent, LeadNotice

OFFLINE_METHODS = ("电话", "短信", "邮寄", "电子邮件")
STATE_NAMES = {
    "queued": "排队中", "sent": "已送达", "failed": "发送失败", "offline": "需线下告知", "recorded": "已送达",
}  # fmt: skip
PARTY_NAMES = {"consumer": "消费者", "business": "被投诉人"}
REPORT_OUTCOMES = {"已立案": "report_filed", "不予立案": "report_not_filed", "已办结": "report_closed"}


@dataclass(frozen=True)
class Planned:
    """A notice a decision calls for: its wording, who receives it and by when (None: no legal deadline)."""

    key: str
    party: str
    due: date | None


def planned(app: Flask, lead: Lead, to: str, detail: dict[str, Any]) -> list[Planned]:
    """The notices a move to `to` calls for (Order 121 Art 15, 23, 25, 34, 36)."""
    if lead.kind == "complaint":
        if to == "终止调解":  # Art 23 last ¶: both sides, within the working days of [leads]
            due = date.fromisoformat(detail["notify_due"])
            return [Planned("terminated", "consumer", due), Planned("terminated_business", "business", due)]
        key = {"已受理": "accepted", "不予受理": "refused", "已转办": "transferred", "已办结": "agreement"}.get(to)
        # Art 15 ¶1: accepting or refusing is decided, and the complainant told, within the acceptance period.
        due = lead.accept_due if to in ("已受理", "不予受理") else None
        return [Planned(key, "consumer", due)] if key else []
    if to == "已转办":  # Art 34: the reporter hears that this bureau cannot handle it, and where to report
        return [Planned("referred", "consumer", None)]
    # Art 36: a report's outcome only where a law requires it; a bureau may choose to tell reporters who gave their
    # name ([leads] tell_reporter_outcome).
    if LeadsSettings.of(app).tell_reporter_outcome and real_name(lead) and to in REPORT_OUTCOMES:
        return [Planned(REPORT_OUTCOMES[to], "consumer", None)]
    return []


def real_name(lead: Lead) -> bool:
    """True for a filing with the person's name that was not made anonymously."""
    return bool(lead.name) and not (lead.extra or {}).get("anonymous")


def decide(
    s: Session, app: Flask, lead: Lead, to: str, decision: Decision | None = None, *, today: date,
    actor_id: int | None = None, note: str = "",
) -> LeadEvent:  # fmt: skip
    """A staff decision: the status change (bot/leads/workflow.py) and the notices it calls for, queued in the same
    transaction; `note` is added to the notices for the parties. Never commits."""
    event = transition(
        s, lead, to, decision, today=today, actor_id=actor_id, periods=LeadsSettings.of(app), cal=calendar_for(app)
    )
    values = _values(app, lead, event.detail, today, note)
    for plan in planned(app, lead, to, event.detail):
        _add(s, lead, wording(app).fill(plan.key, values), plan.party, plan.due, actor_id)
    refresh_due(s, lead)
    return event


def queue_reply(s: Session, app: Flask, lead: Lead, text: str, actor_id: int | None = None) -> LeadNotice:
    """A staff reply to the consumer, sent like a notice (customer-service or template message, with the ticket)."""
    values = _values(app, lead, {"outcome": text}, None, "")
    return _add(s, lead, wording(app).fill("reply", values), "consumer", None, actor_id)


def _values(app: Flask, lead: Lead, detail: dict[str, Any], today: date | None, note: str) -> dict[str, Any]:
    w = wording(app)
    ground = detail.get("ground")
    return {
        "ticket": lead.ticket,
        "kind": KIND_NAMES.get(lead.kind, ""),
        "business": lead.business_name or "（未写明）",
        "received": cn_date(lead.received_on),
        "today": cn_date(today),
        "ground": w.grounds.get(ground or "", ""),
        "where": w.where.get(ground or "") or w.where["default"],
        "referred_to": detail.get("referred_to"),
        "outcome": detail.get("outcome"),
        "note": note.strip(),
    }


def _add(s: Session, lead: Lead, notice: Notice, party: str, due: date | None, actor_id: int | None) -> LeadNotice:
    row = LeadNotice(
        lead_id=lead.id, kind=notice.kind, party=party, title=notice.title, summary=notice.summary,
        text=notice.text, due=due, actor_id=actor_id, state="queued",
    )  # fmt: skip
    if party != "consumer" or not lead.openid:  # nothing reaches this party through the account
        row.state = "offline"
    s.add(row)
    s.flush()
    if row.state == "queued":
        row.outbox_id = outbox.enqueue(s, "lead_notice", {"notice_id": row.id}, lead_id=lead.id).id
    return row


def status_due(lead: Lead) -> date | None:
    """The deadline of the lead's current step (what workflow.py and periods.py set), without its notices."""
    if lead.kind == "complaint":
        if lead.status == "新线索":
            return lead.accept_due
        if lead.status in ("已受理", "调解中"):
            return None if (lead.extra or {}).get("paused_since") else lead.mediation_due
        return None
    return lead.verify_due if lead.status in ("新线索", "核查中") else None


def pending_dues(s: Session, lead_ids: list[int]) -> dict[int, date]:
    """The earliest legal deadline of the notices not yet delivered, per lead (leads without one are left out)."""
    if not lead_ids:
        return {}
    rows = s.execute(
        select(LeadNotice.lead_id, func.min(LeadNotice.due))
        .where(LeadNotice.lead_id.in_(lead_ids), LeadNotice.state.in_(UNDELIVERED), LeadNotice.due.is_not(None))
        .group_by(LeadNotice.lead_id)
    )
    return {lead_id: due for lead_id, due in rows if due is not None}


def earliest(*days: date | None) -> date | None:
    return min((d for d in days if d is not None), default=None)


def refresh_due(s: Session, lead: Lead) -> None:
    """Set next_due to the nearer of the step's deadline and the notices' still undelivered deadlines."""
    lead.next_due = earliest(status_due(lead), pending_dues(s, [lead.id]).get(lead.id))


class NoticeError(ValueError):
    """An offline notice that cannot be recorded as given; the message is for staff, in Chinese."""


def record_offline(
    s: Session, lead: Lead, notice: LeadNotice, *, method: str, on: date | None, by: str, today: date,
    local_created: date, actor_id: int | None = None,
) -> LeadEvent:  # fmt: skip
    """Record that the party was told another way (phone, SMS, post, e-mail): the notice counts as delivered."""
    if notice.lead_id != lead.id or notice.state not in UNDELIVERED:
        raise NoticeError("这份告知已经送达，无需再登记。")
    if method not in OFFLINE_METHODS:
        raise NoticeError("请选择告知方式：" + "、".join(OFFLINE_METHODS) + "。")
    if on is None or on > today or on < local_created:
        raise NoticeError(f"告知日期应在 {local_created.isoformat()} 至 {today.isoformat()} 之间。")
    if not by.strip():
        raise NoticeError("请写明告知人。")
    notice.state, notice.channel, notice.offline_on, notice.offline_by = "recorded", method, on, by.strip()
    notice.recorded_by_id, notice.delivered_at = actor_id, utcnow()
    refresh_due(s, lead)
    detail = {"notice_id": notice.id, "title": notice.title, "party": notice.party, "method": method}
    detail |= {"on": on.isoformat(), "by": by.strip()}
    event = LeadEvent(lead_id=lead.id, actor_id=actor_id, kind="notice_recorded", detail=detail)
    s.add(event)
    return event
