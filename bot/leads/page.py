"""The consumer's own lead page at /my/<token>: the ticket, the status in the consumer's words, the deadlines, every
notice in full and the staff's replies, for one lead only. Reached only by the signed link in the bot's messages
(bot/leads/links.py); a forged, altered or expired link gets the same plain 404 as a lead that does not exist."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, current_app, render_template
from sqlalchemy import select

from bot.config import AppSettings
from bot.db import session
from bot.leads.links import verify
from bot.leads.wording import cn_date, wording
from bot.leads.workflow import KIND_NAMES
from bot.models import Lead, LeadNotice
from bot.privacy import mask_text

bp = Blueprint("lead_page", __name__, url_prefix="/my", template_folder="templates")

# The page is one person's: never cached on the way, never indexed, never framed, and its address (the token) never
# sent on as a Referer.
HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex, nofollow",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'",
}


def _respond(body: str, status: int = 200) -> Response:
    return Response(body, status=status, headers=HEADERS, mimetype="text/html")


def deadlines(lead: Lead) -> list[tuple[str, str]]:
    """The deadlines ahead, as the consumer reads them."""
    if lead.kind == "complaint":
        if lead.status == "新线索":
            return [("作出是否受理的决定", f"{cn_date(lead.accept_due)}前")]
        if lead.status in ("已受理", "调解中"):
            if (lead.extra or {}).get("paused_since"):
                return [("调解期限", "鉴定、检测期间暂停计算，结束后顺延")]
            return [("调解期限", f"{cn_date(lead.mediation_due)}前")]
        return []
    if lead.status in ("新线索", "核查中"):
        return [("完成核查", f"{cn_date(lead.verify_due)}前")]
    return []


def _local(moment: datetime) -> str:
    tz = ZoneInfo(AppSettings.of(current_app).timezone)
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M")


@bp.get("/<token>")
def show(token: str) -> Response:
    """The lead of a genuine, unexpired token; the plain 404 otherwise."""
    found = verify(current_app, token)
    lead = session().get(Lead, found[0]) if found else None
    if lead is None:
        return _respond(render_template("leads/gone.html"), 404)
    rows = session().scalars(
        select(LeadNotice)
        .where(LeadNotice.lead_id == lead.id, LeadNotice.party == "consumer")
        .order_by(LeadNotice.created_at, LeadNotice.id)
    )
    notices = [
        {"title": n.title, "at": _local(n.created_at), "text": mask_text(n.text), "reply": n.kind == "reply"}
        for n in rows
    ]
    expires = datetime.fromtimestamp(found[1], UTC)
    page = render_template(
        "leads/page.html",
        lead=lead,
        kind=KIND_NAMES.get(lead.kind, ""),
        status=wording(current_app).status_words(lead.status, lead.kind),
        received=cn_date(lead.received_on),
        closed=cn_date(lead.closed_on),
        deadlines=deadlines(lead),
        notices=notices,
        expires=_local(expires),
    )
    return _respond(page)
