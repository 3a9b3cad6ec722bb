"""The consumer's side of a lead's conversation (bot/leads/conversation.py): answers to a staff reply, `补充 <编号>`,
and the choice among several open leads. Commands (any keyword rule, 投诉, 进度 ...) and events are not part of it."""

from __future__ import annotations

import json
import re
from datetime import timedelta

from bot import outbox
from bot.db import aware
from bot.dialogue import progress
from bot.dialogue.flow import discard
from bot.dialogue.texts import texts
from bot.leads import conversation
from bot.leads.settings import LeadsSettings
from bot.models import DialogueState, Evidence, Lead
from bot.wechat.messages import Context, Reply, TextReply
from bot.wechat.router import NOT_MINE, Router, get_router, normalise

SUPPLEMENT = re.compile(r"^\s*补充\s*[:：]?\s*")
ENDING = frozenset({"取消", "结束", "不用了", "没有了"})


def register(router: Router) -> None:
    """补充 / 补充 <编号> [内容]: add to an open lead at any time."""
    router.keyword(r"^\s*补充", mode="regex", name="supplement", priority=10)(supplement)


def handle(ctx: Context, state: DialogueState) -> object:
    """A message while a staff reply awaits an answer: it goes to the lead unless it is a command or an event."""
    msg = ctx.msg
    if msg.type not in ("text", "image"):
        return NOT_MINE
    if msg.type == "text" and _is_command(ctx, msg.text):
        return NOT_MINE
    days = LeadsSettings.of(ctx.app).conversation_days
    if ctx.now - aware(state.updated_at) > timedelta(days=days):
        discard(ctx, state)
        return NOT_MINE
    data = json.loads(state.data or "{}")
    t = texts(ctx.app)
    leads = conversation.open_leads(ctx.session, msg.openid, data.get("leads", []))
    if msg.type == "text" and normalise(msg.text) in ENDING:
        discard(ctx, state)
        ticket = leads[0].ticket if leads else ""
        return TextReply(
            t.get("conversation.dropped" if state.step == "choose" else "conversation.ended", ticket=ticket)
        )
    if state.step == "choose":
        return _choose(ctx, state, data, leads)
    focus = [lead for lead in leads if lead.id == data.get("focus")]
    if focus or len(leads) == 1:
        return _forward(ctx, (focus or leads)[0])
    if not leads:
        discard(ctx, state)
        last = ctx.session.get(Lead, (data.get("leads") or [0])[-1])
        return TextReply(_closed(ctx, last)) if last is not None else NOT_MINE
    data["pending"] = _pending(ctx)
    _save(ctx, state, data, "choose")
    return TextReply(_choice_list(ctx, leads))


def supplement(ctx: Context) -> Reply:
    """补充 <编号> [内容]: the content goes to that open lead; without content, the next messages do."""
    t = texts(ctx.app)
    rest = SUPPLEMENT.sub("", ctx.msg.text, count=1).strip()
    m = progress.TICKET.match(rest.replace(" ", "")) if rest else None
    if m is not None:
        ticket = f"{m.group(1)}-{m.group(2)}"
        lead = conversation.own_lead(ctx.session, ctx.msg.openid, ticket)
        if lead is None:
            return TextReply(t.get("progress.not_found", ticket=ticket))
        content = progress.TICKET.sub("", rest, count=1).strip(" ：:，,")
    else:
        leads = conversation.open_leads(ctx.session, ctx.msg.openid)
        if not leads:
            return TextReply(t.get("conversation.none_open"))
        if len(leads) > 1:
            lines = [t.get("conversation.which", n=len(leads), ticket=leads[0].ticket)]
            lines += [_item(ctx, i, lead) for i, lead in enumerate(leads, 1)]
            return TextReply("\n".join(lines))
        lead, content = leads[0], rest
    if lead.status not in conversation.OPEN_STATUSES:
        return TextReply(_closed(ctx, lead))
    _focus(ctx, lead)
    if content:
        conversation.record(ctx.session, lead, ctx.now, text=content)
        return TextReply(t.get("conversation.forwarded", ticket=lead.ticket))
    return TextReply(t.get("conversation.ask_content", ticket=lead.ticket))


def _is_command(ctx: Context, text: str) -> bool:
    """A word the bot acts on (投诉, 进度 <编号>, 补充, an editor's exact keyword), not words to the staff: a message
    that merely contains an editor's keyword (“商家不给退货”) is still the consumer talking about their lead."""
    folded = normalise(text)
    rules = get_router(ctx.app).rules
    return any(
        rule.matches(text, folded) for rule in rules if not (rule.group == "replies" and rule.mode == "contains")
    )


def _forward(ctx: Context, lead: Lead, pending: dict | None = None) -> Reply:
    t = texts(ctx.app)
    item = pending or _pending(ctx)
    if "media_id" in item:
        ev = Evidence(openid=ctx.msg.openid, media_id=item["media_id"], pic_url=item.get("pic_url"), lead_id=lead.id)
        ev.state, ev.received_at = "pending", ctx.now
        ctx.session.add(ev)
        ctx.session.flush()
        outbox.enqueue(ctx.session, "fetch_evidence", {"evidence_id": ev.id}, dedupe_key=f"evidence:{ev.id}")
        conversation.record(ctx.session, lead, ctx.now, evidence_id=ev.id)
        return TextReply(t.get("conversation.photo_forwarded", ticket=lead.ticket))
    conversation.record(ctx.session, lead, ctx.now, text=item["text"])
    return TextReply(t.get("conversation.forwarded", ticket=lead.ticket))


def _pending(ctx: Context) -> dict:
    msg = ctx.msg
    if msg.type == "image":
        return {"media_id": msg.media_id, "pic_url": msg.pic_url or None}
    return {"text": msg.text.strip()[:2000]}


def _choose(ctx: Context, state: DialogueState, data: dict, leads: list[Lead]) -> Reply:
    text = ctx.msg.text.strip() if ctx.msg.type == "text" else ""
    chosen = None
    m = progress.TICKET.search(text.replace(" ", ""))
    if m is not None:
        chosen = next((lead for lead in leads if lead.ticket == f"{m.group(1)}-{m.group(2)}"), None)
    elif normalise(text).isdigit() and 1 <= int(normalise(text)) <= len(leads):
        chosen = leads[int(normalise(text)) - 1]
    if chosen is None or "pending" not in data:
        if not leads:
            discard(ctx, state)
            return TextReply(texts(ctx.app).get("conversation.none_open"))
        return TextReply(_choice_list(ctx, leads))
    pending = data.pop("pending")
    data["focus"] = chosen.id
    _save(ctx, state, data, "open")
    return _forward(ctx, chosen, pending)


def _focus(ctx: Context, lead: Lead) -> None:
    """Make `lead` the one the consumer's next messages go to (opening the conversation when there is none)."""
    conversation.open_after_reply(ctx.session, lead, ctx.now)
    state = ctx.session.get(DialogueState, ctx.msg.openid)
    if state is not None and state.flow == conversation.FLOW:
        data = json.loads(state.data or "{}")
        data["focus"] = lead.id
        _save(ctx, state, data, "open")


def _save(ctx: Context, state: DialogueState, data: dict, step: str) -> None:
    state.data, state.step, state.updated_at = json.dumps(data), step, ctx.now


def _choice_list(ctx: Context, leads: list[Lead]) -> str:
    t = texts(ctx.app)
    lines = [t.get("conversation.choose", n=len(leads))]
    lines += [_item(ctx, i, lead) for i, lead in enumerate(leads, 1)]
    lines.append(t.get("conversation.choose_tail"))
    return "\n".join(lines)


def _item(ctx: Context, i: int, lead: Lead) -> str:
    t = texts(ctx.app)
    kind = t.get(f"labels.{lead.kind}")
    return t.get("conversation.choose_item", i=i, ticket=lead.ticket, kind=kind, business=lead.business_name or "")


def _closed(ctx: Context, lead: Lead) -> str:
    t = texts(ctx.app)
    return t.get("conversation.closed", ticket=lead.ticket, kind=t.get(f"labels.{lead.kind}"), status=lead.status)
