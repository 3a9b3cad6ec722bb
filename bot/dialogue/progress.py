"""进度: a consumer's own leads, or one of them by ticket with a fresh link to its page — only to the openid that
filed it."""

from __future__ import annotations

import re
from datetime import date

from flask import Flask
from sqlalchemy import select

from bot.dialogue.texts import texts
from bot.leads.links import page_url
from bot.leads.wording import wording
from bot.models import Lead
from bot.wechat.messages import Context, Reply, TextReply
from bot.wechat.router import Router

TICKET = re.compile(r"(\d{8})-?(\d{4,})")
LIST_LIMIT = 10


def cn_date(day: date | None) -> str:
    """2026年12月8日."""
    return f"{day.year}年{day.month}月{day.day}日" if day else ""


def next_step(app: Flask, lead: Lead) -> str:
    """What happens next for a lead, in the consumer's words."""
    t = texts(app)
    for key in (f"{lead.status}/{lead.kind}", lead.status, "other"):
        if t.has(f"progress.next.{key}"):
            return t.get(f"progress.next.{key}").replace("{due}", cn_date(lead.next_due))
    return ""


def show_list(ctx: Context) -> Reply:
    """The consumer's latest leads with their status and next step."""
    t = texts(ctx.app)
    leads = ctx.session.execute(
        select(Lead).where(Lead.openid == ctx.msg.openid).order_by(Lead.id.desc()).limit(LIST_LIMIT)
    ).scalars()
    leads = list(leads)
    if not leads:
        return TextReply(t.get("progress.none"))
    lines = [t.get("progress.list_head", n=len(leads))]
    for lead in leads:
        kind = t.get(f"labels.{lead.kind}")
        lines.append(
            t.get(
                "progress.list_item",
                ticket=lead.ticket,
                kind=kind,
                status=wording(ctx.app).status_words(lead.status, lead.kind),
                next=next_step(ctx.app, lead),
            )
        )
    lines.append(t.get("progress.list_tail", ticket=leads[0].ticket))
    return TextReply("\n".join(lines))


def show_one(ctx: Context) -> Reply:
    """One lead by its ticket, if this openid filed it; otherwise 未找到 (never whether it exists)."""
    t = texts(ctx.app)
    m = TICKET.search(ctx.msg.text.replace(" ", ""))
    if m is None:
        return show_list(ctx)
    ticket = f"{m.group(1)}-{m.group(2)}"
    lead = ctx.session.execute(
        select(Lead).where(Lead.ticket == ticket, Lead.openid == ctx.msg.openid)
    ).scalar_one_or_none()
    if lead is None:
        return TextReply(t.get("progress.not_found", ticket=ticket))
    detail = t.get(
        "progress.detail",
        ticket=lead.ticket,
        kind=t.get(f"labels.{lead.kind}"),
        business=lead.business_name,
        received=cn_date(lead.received_on),
        status=wording(ctx.app).status_words(lead.status, lead.kind),
        next=next_step(ctx.app, lead),
    )
    # A fresh link to the consumer's own page: every notice in full (bot/leads/page.py).
    link = wording(ctx.app).common["link"].format(url=page_url(ctx.app, lead.id))
    return TextReply(f"{detail}\n{link}")


def register(router: Router) -> None:
    """进度 / 查询进度 / the PROGRESS menu key list; 进度 <ticket> shows one."""
    words = ("进度", "查询进度", "进度查询", "我的投诉", "我的举报")
    router.keyword(*words, name="progress_list", priority=5, pure=True)(show_list)
    router.keyword(
        r"^\s*(查询)?进度\s*[:：]?\s*\d{8}\s*-?\s*\d{4,}\s*$", mode="regex", name="progress_one", priority=5, pure=True
    )(show_one)
    router.menu("PROGRESS", pure=True)(show_list)
