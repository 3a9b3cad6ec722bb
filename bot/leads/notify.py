"""Tell a branch's staff about a new lead: e-mail over SMTP, a WeCom group robot, WeChat template messages.

Every message masks the consumer's phone and name and links to the lead in the console; each (lead, channel) is
its own outbox item, so a channel that fails for a while is retried alone and never repeats another's message.
"""

from __future__ import annotations

import json
import smtplib
import ssl
from email.message import EmailMessage
from typing import Any

import requests
from flask import Flask

from bot.config import AppSettings
from bot.db import get_db
from bot.leads.create import channels, rules
from bot.leads.settings import NotifySettings, SmtpSettings
from bot.models import Lead, LeadEvent
from bot.outbox import Job, PermanentError, handler
from bot.privacy import mask_name, mask_phone, mask_text

KIND_LABEL = {"complaint": "投诉", "report": "举报"}


def lead_url(app: Flask, lead_id: int) -> str:
    """The lead's page in the staff console."""
    return f"{AppSettings.of(app).public_url.rstrip('/')}/console/leads/{lead_id}"


def summary(app: Flask, lead: Lead) -> dict[str, str]:
    """The masked facts of a lead that a notification may carry."""
    due = lead.accept_due if lead.kind == "complaint" else lead.verify_due
    person = "匿名" if not lead.name else f"{mask_name(lead.name)} {mask_phone(lead.phone)}".strip()
    business = lead.business_name + (f"（{lead.business_platform}）" if lead.business_platform else "")
    return {
        "title": f"新{KIND_LABEL[lead.kind]}线索 {lead.ticket}",
        "category": lead.category,
        "branch": rules(app).branches.name(lead.branch),
        "routing": lead.routing_rule or "",
        "business": business,
        "item": lead.item or "",
        "facts": mask_text(lead.facts)[:120],
        "person": person,
        "due_label": "受理期限" if lead.kind == "complaint" else "核查期限",
        "due": due.isoformat() if due else "",
        "url": lead_url(app, lead.id),
    }


def render(s: dict[str, str]) -> str:
    """The plain-text body used by e-mail and WeCom."""
    return "\n".join(
        [
            s["title"],
            f"类别：{s['category']}",
            f"承办：{s['branch']}（{s['routing']}）",
            f"商家：{s['business']}",
            f"商品或服务：{s['item']}",
            f"情况：{s['facts']}",
            f"当事人：{s['person']}",
            f"{s['due_label']}：{s['due']}",
            f"办理：{s['url']}",
        ]
    )


def _load(job: Job) -> tuple[dict[str, str], str]:
    with get_db(job.app).scope() as s:
        lead = s.get(Lead, job.payload["lead_id"])
        if lead is None:
            raise PermanentError(f"lead {job.payload['lead_id']} no longer exists")
        facts = summary(job.app, lead)
        return facts, lead.branch or ""


def send_email(app: Flask, to: list[str], subject: str, body: str) -> None:
    """Send one plain-text message through `[smtp]`."""
    conf = SmtpSettings.of(app)
    if not conf.host or not conf.sender:
        raise PermanentError("[smtp] host and from are not configured")
    msg = EmailMessage()
    msg["Subject"], msg["From"], msg["To"] = subject, conf.sender, ", ".join(to)
    msg.set_content(body)
    with smtplib.SMTP(conf.host, conf.port, timeout=conf.timeout) as smtp:
        if conf.starttls:
            smtp.starttls(context=ssl.create_default_context())
        if conf.user:
            smtp.login(conf.user, conf.password)
        smtp.send_message(msg)


def send_wecom(app: Flask, url: str, body: str) -> dict[str, Any]:
    """Post a text message to a WeCom group robot webhook; errcode 0 is success."""
    timeout = SmtpSettings.of(app).timeout
    try:
        resp = requests.post(url, json={"msgtype": "text", "text": {"content": body}}, timeout=timeout)
    except requests.RequestException as exc:  # its message holds the URL, whose key is a secret
        raise RuntimeError(f"WeCom robot unreachable ({type(exc).__name__})") from None
    if resp.status_code >= 400:
        raise RuntimeError(f"WeCom robot answered HTTP {resp.status_code}")
    answer = resp.json()
    if answer.get("errcode", 0) != 0:
        raise RuntimeError(f"WeCom robot errcode={answer.get('errcode')} errmsg={answer.get('errmsg')}")
    return answer


def send_wechat(app: Flask, openid: str, template_id: str, s: dict[str, str]) -> dict[str, Any]:
    """A template message to one member of staff."""
    from bot.wechat.client import get_api

    if not template_id:
        raise PermanentError("no template_id configured for staff notifications")
    data = {
        "first": {"value": s["title"]},
        "keyword1": {"value": f"{s['category']}｜{s['business']}"[:100]},
        "keyword2": {"value": s["branch"]},
        "keyword3": {"value": f"{s['due_label']} {s['due']}"},
        "remark": {"value": f"当事人：{s['person']}"},
    }
    return get_api(app).send_template(openid, template_id, data, url=s["url"])


def _record_notice(session, item, result, error) -> None:
    channel = json.loads(item.payload).get("channel", "?")
    kind = "staff_notified" if error is None else "notify_failed"
    detail = {"outbox_id": item.id, "channel": channel, **({"error": error} if error else {})}
    session.add(LeadEvent(lead_id=item.lead_id, kind=kind, detail=detail))


@handler("notify_staff", record=_record_notice)
def notify_staff(job: Job) -> dict | None:
    """Send one lead's notification on one channel."""
    facts, branch = _load(job)
    channel, to = job.payload["channel"], job.payload["to"]
    if channel == "email":
        send_email(job.app, to.split(","), facts["title"], render(facts))
        return {"channel": "email"}
    if channel == "wecom":
        send_wecom(job.app, to, render(facts))
        return {"channel": "wecom"}
    if channel == "wechat":
        conf = channels(job.app, branch or None)
        template = conf.template_id or NotifySettings.of(job.app).template_id
        answer = send_wechat(job.app, to, template, facts)
        return {"channel": "wechat", "msgid": answer.get("msgid")}
    raise PermanentError(f"unknown channel {channel!r}")
