"""Outbox work for the consumer: evidence photos downloaded within the media lifetime, the consumer's last contact
(the 48-hour window), and replies queued before the notices (bot/leads/sending.py sends notices and replies now)."""

from __future__ import annotations

import json
import mimetypes
import os
from datetime import datetime, timedelta

from flask import Flask
from sqlalchemy import func, select

from bot.content import resolve
from bot.db import aware, get_db, utcnow
from bot.leads.settings import LeadsSettings
from bot.leads.wording import wording
from bot.models import Evidence, Follower, InboundMessage, Lead, LeadEvent
from bot.outbox import Job, PermanentError, handler
from bot.privacy import mask_text

EXTENSIONS = {"image/jpeg": ".jpg", "image/png": ".png", "image/gif": ".gif", "image/webp": ".webp"}


def _record_evidence(session, item, result, error) -> None:
    ev = session.get(Evidence, json.loads(item.payload)["evidence_id"])
    if ev is None:
        return
    if error is None:
        ev.path, ev.content_type, ev.state = result["path"], result["content_type"], "stored"
    else:
        ev.state = "failed"
    # The same photo's rows on the other leads of a split filing (Art 9) share this download.
    copies = select(Evidence).where(
        Evidence.media_id == ev.media_id, Evidence.openid == ev.openid, Evidence.id != ev.id, Evidence.path.is_(None)
    )
    for same in session.scalars(copies):
        same.path, same.content_type, same.state = ev.path, ev.content_type, ev.state


@handler("fetch_evidence", record=_record_evidence)
def fetch_evidence(job: Job) -> dict:
    """Download a photo through the media API (it lives 3 days on the platform) into `[leads] evidence_dir`."""
    from bot.wechat.client import get_api

    app = job.app
    with get_db(app).scope() as s:
        ev = s.get(Evidence, job.payload["evidence_id"])
        if ev is None:  # the dialogue was cancelled and the photo discarded
            return {"skipped": "evidence discarded"}
        media_id, received = ev.media_id, aware(ev.received_at)
    lifetime = timedelta(days=LeadsSettings.of(app).media_lifetime_days)
    if utcnow() - received > lifetime:
        raise PermanentError(f"media expired on the platform (older than {lifetime.days} days)")
    content, content_type = get_api(app).download_media(media_id)
    ext = EXTENSIONS.get(content_type.split(";")[0].strip()) or mimetypes.guess_extension(content_type) or ".bin"
    folder = resolve(LeadsSettings.of(app).evidence_dir) / f"{received:%Y%m}"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{job.payload['evidence_id']}{ext}"
    tmp = path.with_suffix(path.suffix + ".part")
    tmp.write_bytes(content)
    os.replace(tmp, path)  # a crash leaves no half-written photo under the final name
    return {"path": str(path), "content_type": content_type, "size": len(content)}


def last_contact(session, openid: str) -> datetime | None:
    """When the consumer last wrote to the account (the start of the 48-hour customer-service window)."""
    follower = session.execute(select(Follower).where(Follower.openid == openid)).scalar_one_or_none()
    seen = aware(follower.last_message_at) if follower else None
    inbound = session.execute(select(func.max(InboundMessage.received_at)).where(InboundMessage.openid == openid))
    latest = aware(inbound.scalar_one_or_none())
    return max((t for t in (seen, latest) if t), default=None)


def _record_reply(session, item, result, error) -> None:
    payload = json.loads(item.payload)
    lead_id = payload.get("lead_id") or item.lead_id
    if not lead_id:
        return
    kind = "reply_delivered" if error is None else "reply_failed"
    detail = {"outbox_id": item.id, **(result or {}), **({"error": error} if error else {})}
    session.add(LeadEvent(lead_id=lead_id, kind=kind, text=mask_text(payload["text"]), detail=detail))


@handler("consumer_message", record=_record_reply)
def consumer_message(job: Job) -> dict:
    """A reply queued by a release before the notices (migration 0011), drained as it was written: a
    customer-service message inside the service window, a template message outside it (or when refused). Replies
    and decisions are now `lead_notice` items (bot/leads/sending.py)."""
    from bot.wechat.client import get_api
    from bot.wechat.errors import OutsideServiceWindow, UserUnsubscribed

    app, openid, text = job.app, job.payload["openid"], mask_text(job.payload["text"])
    with get_db(app).scope() as s:
        last = last_contact(s, openid)
        lead = s.get(Lead, job.payload["lead_id"]) if job.payload.get("lead_id") else None
        ticket, status = (lead.ticket, wording(app).status_words(lead.status, lead.kind)) if lead else ("", "")
    window = timedelta(hours=LeadsSettings.of(app).service_window_hours)
    try:
        if last and utcnow() - last < window:
            try:
                answer = get_api(app).send_text(openid, text)
                return {"channel": "custom", "msgid": (answer or {}).get("msgid")}
            except OutsideServiceWindow:
                pass
        answer = _template(app, openid, ticket, status, text)
    except UserUnsubscribed:
        raise PermanentError("the consumer has unsubscribed") from None
    return {"channel": "template", "msgid": (answer or {}).get("msgid")}


def _template(app: Flask, openid: str, ticket: str, status: str, text: str) -> dict:
    from bot.wechat.client import get_api

    template_id = LeadsSettings.of(app).consumer_template_id
    if not template_id:
        raise PermanentError("outside the 48-hour window and no [leads] consumer_template_id is configured")
    data = {
        "first": {"value": "您的投诉举报有新进展"},
        "keyword1": {"value": ticket},
        "keyword2": {"value": status},
        "remark": {"value": text[:200]},
    }
    return get_api(app).send_template(openid, template_id, data)
