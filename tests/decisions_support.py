"""Helpers for the notice tests: a consumer who files through the webhook, an app that sends through the platform
stand-in, the outbox run as the scheduler would, and what reached the consumer's chat."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from sqlalchemy import select

from bot.db import get_db
from bot.models import Lead, LeadNotice
from bot.outbox import run_due
from tests.console_support import Staff, add_staff
from tests.leads_support import OFFLINE_COMPLAINT
from tests.wechat_user import make_wechat

TEMPLATE = "TPL-PROGRESS"
OPENID = "o-decisions-consumer-01"


def notice_app(db_url: str, standin, **sections: dict):
    """WeChat's side and the app (plain mode) sending through the stand-in; retries without waiting."""
    leads = {"consumer_template_id": TEMPLATE, **sections.pop("leads", {})}
    outbox = {"backoff_seconds": 0, "max_attempts": 3, **sections.pop("outbox", {})}
    return make_wechat(
        db_url, "plain", wechat={"api_base_url": standin.url, "timeout": 2.0}, outbox=outbox, leads=leads, **sections
    )


def file_complaint(wx, standin, openid: str = OPENID) -> tuple[int, str]:
    """The consumer (a follower who writes now) files the usual complaint; the lead's id and ticket."""
    standin.user(openid)
    for answer, _step in OFFLINE_COMPLAINT:
        wx.text(openid, answer)
    done = wx.text(openid, "确认").content
    ticket = re.search(r"编号 (\d{8}-\d{4})", done).group(1)
    with get_db(wx.app).scope() as s:
        return s.scalar(select(Lead.id).where(Lead.ticket == ticket)), ticket


def handler(app) -> Staff:
    """A handler of 小榄 (where the usual complaint is routed), signed in."""
    add_staff(app, "xl", "handler", "xiaolan", display_name="李办理")
    return Staff(app, "xl")


def drain(app, rounds: int = 10) -> None:
    """Run the outbox until nothing is due (retries come due at once with backoff_seconds = 0)."""
    for _ in range(rounds):
        if run_due(app) == 0:
            return


def received(standin, openid: str = OPENID) -> list[tuple[str, dict]]:
    """The messages the platform accepted for the consumer, oldest first: (customer-service|template, body)."""
    paths = {"message/custom/send": "custom", "message/template/send": "template"}
    return [
        (paths[c.path], c.body)
        for c in standin.calls()
        if c.path in paths and c.fault is None and c.answer.get("errcode") == 0 and c.body.get("touser") == openid
    ]


def texts(standin, openid: str = OPENID) -> list[str]:
    """The customer-service texts the consumer received."""
    return [body["text"]["content"] for channel, body in received(standin, openid) if channel == "custom"]


def notices(app, lead_id: int) -> list[LeadNotice]:
    with get_db(app).scope() as s:
        return list(s.scalars(select(LeadNotice).where(LeadNotice.lead_id == lead_id).order_by(LeadNotice.id)))


def lead(app, lead_id: int) -> Lead:
    with get_db(app).scope() as s:
        return s.get(Lead, lead_id)


def path_of(url: str) -> str:
    """The path of an absolute link (the test client serves the app itself)."""
    return urlsplit(url).path


def link_in(text: str) -> str:
    """The lead page link in a chat text."""
    return re.search(r'<a href="([^"]+)">', text).group(1)
