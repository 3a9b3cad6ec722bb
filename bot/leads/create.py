"""Turn a finished dialogue into leads: tickets, category, branch, statutory deadlines, evidence, staff notices."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from flask import Flask
from sqlalchemy import Integer, String, cast, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from bot import outbox
from bot.content import resolve
from bot.db import utcnow
from bot.leads.deadlines import add_working_days, calendar_for, today_local
from bot.leads.rules import Branches, Categories
from bot.leads.settings import LeadsSettings, NotifySettings
from bot.models import Evidence, KeyValue, Lead, LeadEvent
from bot.privacy import match_hash

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Rules:
    categories: Categories
    branches: Branches


def rules(app: Flask) -> Rules:
    """The app's category and branch rules, loaded once from content/."""
    found = app.extensions.get("lead_rules")
    if found is None:
        s = LeadsSettings.of(app)
        found = Rules(Categories(resolve(s.categories_file)), Branches(resolve(s.branches_file)))
        app.extensions["lead_rules"] = found
    return found


def next_ticket(session: Session, day: date) -> str:
    """The next ticket of the day, e.g. 20261129-0007: one counter row per day, incremented atomically in the
    database (an upsert: PostgreSQL locks the row until commit, SQLite has one writer), so never given twice."""
    key = f"ticket.seq.{day:%Y%m%d}"
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = insert(KeyValue).values(key=key, value="1", updated_at=utcnow())
    stmt = stmt.on_conflict_do_update(
        index_elements=[KeyValue.key],
        set_={"value": cast(cast(KeyValue.value, Integer) + 1, String), "updated_at": utcnow()},
    ).returning(KeyValue.value)
    seq = int(session.execute(stmt).scalar_one())
    return f"{day:%Y%m%d}-{seq:04d}"


def create_leads(session: Session, app: Flask, openid: str, answers: dict[str, Any], now: datetime) -> list[Lead]:
    """Create the lead(s) of one filing (a complaint that also reports a violation becomes two, Art 9); the second
    points back to the first and both carry the evidence. Adds to the session, never commits."""
    kinds = ["report"] if answers.get("kind") == "report" else ["complaint"]
    if kinds == ["complaint"] and answers.get("also_report"):
        kinds.append("report")
    leads: list[Lead] = []
    for kind in kinds:
        lead = _new_lead(session, app, openid, kind, answers, now)
        if leads:
            lead.split_from_id = leads[0].id
            lead.extra = {**lead.extra, "split_from": leads[0].ticket}
        session.flush()
        leads.append(lead)
        session.add(LeadEvent(lead_id=lead.id, kind="created", status=lead.status, text="消费者通过公众号提交"))
        enqueue_staff_notices(session, app, lead)
        log.info("lead created ticket=%s kind=%s category=%s branch=%s", lead.ticket, kind, lead.category, lead.branch)
    _attach_evidence(session, leads, answers.get("evidence", []))
    return leads


def _new_lead(session: Session, app: Flask, openid: str, kind: str, a: dict[str, Any], now: datetime) -> Lead:
    r = rules(app)
    received_on = today_local(app, now)
    text = " ".join(str(a.get(k) or "") for k in ("business", "platform", "item", "facts", "request"))
    category = r.categories.classify(text)
    seller = " ".join(str(a.get(k) or "") for k in ("platform", "business"))
    route = r.branches.route(kind, a.get("address"), seller, online=bool(a.get("online")))
    town = r.branches.town(a.get("address"))
    lead = Lead(
        ticket=next_ticket(session, received_on),
        kind=kind,
        status="新线索",
        category=category.value,
        category_rule=category.rule[:200],
        branch=route.value,
        routing_rule=route.rule[:200],
        openid=openid,
        name=a.get("name"),
        phone=a.get("phone"),
        address=a.get("mail_address"),
        phone_hash=match_hash(a["phone"]) if a.get("phone") else None,
        address_hash=match_hash(a["mail_address"]) if a.get("mail_address") else None,
        business_name=(a.get("business") or "")[:200],
        business_platform=a.get("platform"),
        business_address=a.get("address"),
        business_town=town[0] if town else None,
        item=a.get("item"),
        purchase_date=a.get("when"),
        amount=Decimal(a["amount"]) if a.get("amount") else None,
        facts=a.get("facts") or "",
        request=a.get("request") if kind == "complaint" else None,
        received_at=now,
        received_on=received_on,
        extra=_extra(a) | ({"transfer_to": route.transfer} if route.transfer else {}),
    )
    set_initial_deadlines(app, lead)
    session.add(lead)
    return lead


def _extra(a: dict[str, Any]) -> dict[str, Any]:
    extra: dict[str, Any] = {
        "channel": "wechat",
        "online": bool(a.get("online")),
        "anonymous": bool(a.get("anonymous")),
    }
    for key in ("location", "address_location", "amount_high"):
        if a.get(key):
            extra[key] = a[key]
    typed = {k: v for k, v in (a.get("typed") or {}).items() if k in ("when", "amount")}
    if typed:  # the consumer's own words beside the resolved date and the amount (a range, 大概五六百)
        extra["as_typed"] = typed
    return extra


def set_initial_deadlines(app: Flask, lead: Lead) -> None:
    """accept_due (complaint, Art 15) or verify_due (report, Art 35), counted from the day of receipt (Art 45)."""
    s = LeadsSettings.of(app)
    cal = calendar_for(app)
    if lead.kind == "complaint":
        lead.accept_due = add_working_days(lead.received_on, s.accept_working_days, cal)
        lead.next_due = lead.accept_due
    else:
        lead.verify_due = add_working_days(lead.received_on, s.verify_working_days, cal)
        lead.next_due = lead.verify_due


def _attach_evidence(session: Session, leads: list[Lead], ids: list[int]) -> None:
    """The dialogue's photos go to the first lead; each other lead of the filing gets its own row for the same
    photo, which shares the downloaded file (bot/leads/delivery.py fills in a copy still waiting for it)."""
    if not ids:
        return
    first = leads[0]
    for ev in session.execute(select(Evidence).where(Evidence.id.in_(ids)).order_by(Evidence.id)).scalars().all():
        if ev.openid != first.openid:
            continue
        ev.lead_id = first.id
        for twin in leads[1:]:
            session.add(
                Evidence(
                    lead_id=twin.id, openid=ev.openid, media_id=ev.media_id, pic_url=ev.pic_url, path=ev.path,
                    content_type=ev.content_type, state=ev.state, received_at=ev.received_at,
                )
            )  # fmt: skip


def channels(app: Flask, branch: str | None) -> NotifySettings:
    """The notification channels of a branch: its `[leads.branches.<code>]` table, else `[notify]`."""
    own = LeadsSettings.of(app).branches.get(branch) if branch else None
    return NotifySettings(**own) if own is not None else NotifySettings.of(app)


def enqueue_staff_notices(session: Session, app: Flask, lead: Lead) -> list:
    """One outbox item per (lead, channel) — per recipient for WeChat — so that channels never block each other."""
    conf = channels(app, lead.branch)
    targets: list[tuple[str, str, str]] = []
    if conf.email:
        targets.append(("email", ",".join(conf.email), f"notify:{lead.id}:email"))
    if conf.wecom_webhook:
        targets.append(("wecom", conf.wecom_webhook, f"notify:{lead.id}:wecom"))
    for openid in conf.wechat_openids:
        targets.append(("wechat", openid, f"notify:{lead.id}:wechat:{openid}"))
    return [
        outbox.enqueue(
            session, "notify_staff", {"lead_id": lead.id, "channel": ch, "to": to}, lead_id=lead.id, dedupe_key=key
        )
        for ch, to, key in targets
    ]
