"""How a notice reaches the consumer (the outbox's `lead_notice` work).

Within `[leads] service_window_hours` of the consumer's last message: a customer-service message with the whole text
and a link to their own lead page. Otherwise (or when the platform refuses the customer-service message): a template
message (`[leads] consumer_template_id`) with the title, the ticket, the status and a short summary, opening the lead
page, which carries the whole text. Busy platforms are retried by the outbox; an unsubscribed consumer, a refused
template or retries used up leave the notice `failed`, shown in red on the lead until staff record an offline notice.
"""

from __future__ import annotations

import json
from datetime import timedelta

from flask import Flask
from sqlalchemy import select

from bot.db import get_db, utcnow
from bot.leads.delivery import last_contact
from bot.leads.links import page_url
from bot.leads.notices import refresh_due
from bot.leads.settings import LeadsSettings
from bot.leads.wording import wording
from bot.leads.workflow import KIND_NAMES
from bot.models import Lead, LeadEvent, LeadNotice
from bot.outbox import Job, PermanentError, handler
from bot.privacy import mask_text

# The platform's limit for a text message is 2048 bytes; a longer notice is cut there and the link carries the rest.
TEXT_BYTES = 2048


def chat_text(full: str, link: str) -> str:
    """The customer-service message: the whole notice and the link, cut to the platform's size if need be."""
    text = f"{full}\n{link}"
    if len(text.encode()) <= TEXT_BYTES:
        return text
    room = TEXT_BYTES - len(f"……\n{link}".encode())
    cut = full.encode()[:room].decode(errors="ignore")
    return f"{cut}……\n{link}"


# What staff read on the lead when a notice could not be sent (the platform's own words follow in brackets).
EXPLAINED = (
    ("unsubscribed", "消费者已取消关注公众号"),
    ("consumer_template_id", "超过 48 小时，只能发模板消息，但没有配置模板"),
    ("40037", "模板消息被微信拒绝（模板 ID 无效）"),
    ("no WeChat user", "此线索没有对应的微信用户"),
    ("ApiTimeout", "微信平台多次没有响应"),
    ("ApiConnectionError", "多次连接不上微信平台"),
    ("error -1", "微信平台繁忙，多次重试仍未成功"),
)


def explain(error: str) -> str:
    """The failure in staff's words, with the technical message kept after it."""
    for marker, words in EXPLAINED:
        if marker in error:
            return f"{words}（{error}）"
    return f"发送未成功（{error}）"


def _record(session, item, result, error) -> None:
    notice = session.get(LeadNotice, json.loads(item.payload)["notice_id"])
    if notice is None or (result or {}).get("skipped"):
        return
    lead = session.execute(select(Lead).where(Lead.id == notice.lead_id).with_for_update()).scalar_one()
    if error is None:
        notice.state, notice.channel, notice.delivered_at, notice.error = "sent", result["channel"], utcnow(), None
    elif notice.state == "queued":  # not recorded offline meanwhile
        notice.state, notice.error = "failed", explain(error)
    detail = {"notice_id": notice.id, "title": notice.title, "outbox_id": item.id, **(result or {})}
    if error:
        detail["error"] = error
    kind = "notice_delivered" if error is None else "notice_failed"
    session.add(LeadEvent(lead_id=lead.id, kind=kind, detail=detail))
    refresh_due(session, lead)


@handler("lead_notice", record=_record)
def send_notice(job: Job) -> dict:
    """Send one notice to the consumer by the channel the platform allows now."""
    app = job.app
    with get_db(app).scope() as s:
        notice = s.get(LeadNotice, job.payload["notice_id"])
        if notice is None or notice.state != "queued":  # recorded as told another way meanwhile
            return {"skipped": "no longer queued"}
        lead = s.get(Lead, notice.lead_id)
        if not lead.openid:
            raise PermanentError("the lead has no WeChat user")
        w = wording(app)
        kind = KIND_NAMES.get(lead.kind, "")
        message = {
            "openid": lead.openid,
            "title": notice.title,
            "ticket": lead.ticket,
            "status": w.status_words(lead.status, lead.kind),
            "summary": mask_text(notice.summary),
            "full": mask_text(w.message(notice.title, kind, lead.ticket, notice.text)),
        }
        last = last_contact(s, lead.openid)
    url = page_url(app, notice.lead_id)
    return deliver(app, message, url, last, client_msg_id=f"lead-notice-{notice.id}")


def deliver(app: Flask, m: dict[str, str], url: str, last, *, client_msg_id: str) -> dict:
    """A customer-service message inside the window, else a template message; the channel and msgid used."""
    from bot.wechat.client import get_api
    from bot.wechat.errors import OutsideServiceWindow, UserUnsubscribed

    settings = LeadsSettings.of(app)
    window = timedelta(hours=settings.service_window_hours)
    api = get_api(app)
    try:
        if last and utcnow() - last < window:
            try:
                answer = api.send_text(m["openid"], chat_text(m["full"], wording(app).common["link"].format(url=url)))
                return {"channel": "custom", "msgid": (answer or {}).get("msgid")}
            except OutsideServiceWindow:
                pass  # the platform counts the window its own way: fall back to the template message
        if not settings.consumer_template_id:
            raise PermanentError("outside the service window and no [leads] consumer_template_id is configured")
        data = {
            "first": {"value": m["title"]},
            "keyword1": {"value": m["ticket"]},
            "keyword2": {"value": m["status"]},
            "remark": {"value": m["summary"] + wording(app).common["more"]},
        }
        answer = api.send_template(
            m["openid"], settings.consumer_template_id, data, url=url, client_msg_id=client_msg_id
        )
    except UserUnsubscribed:
        raise PermanentError("the consumer has unsubscribed") from None
    return {"channel": "template", "msgid": (answer or {}).get("msgid")}
