"""A console with something on every page, for the layout tests: one account per role, leads of both kinds (one
waiting in triage, one with a reply and its delivery), pushes in several states and the pages each role may open."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from bot.db import get_db
from bot.models import LeadEvent, OutboxItem, Push
from tests.console_support import add_lead, add_staff

ROLES = {"admin": "boss", "handler": "li", "editor": "ed", "viewer": "v"}
LONG_NAME = "中山市石岐区某某某某某某某某某某某某某某电子商务有限公司第一百二十三分店（旗舰店）"


def seed(app) -> dict[str, int]:
    """Staff of every role, leads, a reply with its delivery, pushes; returns the leads' ids by name."""
    add_staff(app, "boss", "admin", display_name="王管理")
    add_staff(app, "li", "handler", "shiqi", display_name="李办理")
    add_staff(app, "ed", "editor", display_name="陈编辑")
    add_staff(app, "v", "viewer", display_name="赵统计")
    received = date(2026, 11, 24)
    ids = {
        "complaint": add_lead(app, business_name=LONG_NAME, received_on=received, amount=Decimal("1280.50")),
        "report": add_lead(app, kind="report", status="核查中", received_on=received, category="网络餐饮"),
        "triage": add_lead(app, branch=None, routing_rule="未能识别商家所在镇街，待分派", received_on=received),
        "mediation": add_lead(app, status="调解中", received_on=date(2026, 11, 2), accepted_on=date(2026, 11, 3)),
    }
    with get_db(app).scope() as s:
        text = "您好，商家已同意退款。"
        payload = f'{{"text": "{text}"}}'
        item = OutboxItem(kind="consumer_message", payload=payload, lead_id=ids["complaint"], state="done")
        s.add(item)
        s.flush()
        s.add(LeadEvent(lead_id=ids["complaint"], kind="reply", text=text, detail={"outbox_id": item.id}))
        delivered = {"outbox_id": item.id, "channel": "custom"}
        s.add(LeadEvent(lead_id=ids["complaint"], kind="reply_delivered", text=text, detail=delivered))
        due = datetime(2026, 12, 1, 1, tzinfo=UTC)
        for i, state in enumerate(("scheduled", "sending", "done", "cancelled", "failed", "paused", "refused")):
            s.add(Push(notice_slug=f"notice-{i}", channel="mass", audience="all", due_at=due, state=state))
    return ids


def pages(role: str, ids: dict[str, int]) -> list[str]:
    """The console pages the role may open (paths under the server's address)."""
    leads = ["/console/queue", "/console/export"] + [f"/console/leads/{i}" for i in ids.values()]
    figures = ["/console/stats", "/console/report"]
    editing = ["/console/notices", "/console/notices/new", "/console/notices/2022-double11-tips/edit"]
    return {
        "admin": [*leads, "/console/triage", "/console/audit", "/console/staff", "/console/pushes", *figures, *editing],
        "handler": [p for p in leads if not p.endswith(str(ids["triage"]))] + figures,
        "editor": ["/console/pushes", *editing],
        "viewer": figures,
    }[role] + ["/console/nowhere"]
