"""The last step: the consumer checks the numbered answers, changes one (改3, 电话改成 …) or confirms, and the
filing becomes one lead or two."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from bot.dialogue import review
from bot.dialogue.answers import Answer
from bot.dialogue.answers.yesno import parse_yes_no
from bot.dialogue.progress import cn_date
from bot.dialogue.steps import BY_KEY, first_missing
from bot.leads import create_leads
from bot.wechat.messages import TextReply
from bot.wechat.router import normalise

if TYPE_CHECKING:
    from bot.dialogue.flow import Flow

log = logging.getLogger(__name__)
BACK = {"返回", "上一步", "返回上一步"}
SKIP_OR_ANONYMOUS = {"跳过", "不填", "匿名", "匿名举报", "不留名"}


def at_confirmation(flow: Flow, text: str) -> TextReply:
    """A message at the confirmation: a change, 返回, yes (submit) or no (then: which one?)."""
    t = flow.t
    edit = review.read_edit(t, text, review.listed(flow.data))
    if edit is not None:
        return change(flow, edit)
    if normalise(text) in BACK:
        return flow.back()
    result = parse_yes_no(text)
    if isinstance(result, Answer):
        return submit(flow) if result.value else flow.reask(t.get("steps.confirm.which"))
    return flow.reask(t.get("steps.confirm.invalid"))


def change(flow: Flow, edit: review.Edit) -> TextReply:
    """Change one answer: at once when the new one came with the request and is understood, else by asking it."""
    t, keys = flow.t, review.listed(flow.data)
    key = edit.key
    if edit.number is not None:
        if not 1 <= edit.number <= len(keys):
            return flow.reask(t.get("steps.confirm.no_such_item", n=edit.number, count=len(keys)))
        key = keys[edit.number - 1]
    if key is None:
        return flow.reask(t.get("steps.confirm.which"))
    flow.state.history = [*(flow.state.history or []), "confirm"]
    flow.data["_editing"] = True
    flow.state.step = key
    if edit.value and normalise(edit.value) in SKIP_OR_ANONYMOUS:
        return flow.skip()
    if edit.value:
        result = flow._parse(key, edit.value)
        if isinstance(result, Answer):
            flow.store(key, result, edit.value)
            return flow.advance()
        return flow.unclear(key, result, edit.value)
    flow.save()
    n = keys.index(key) + 1
    return flow.ask(t.get("steps.confirm.editing", n=n, label=review.label(t, key)))


def filed(data: dict[str, Any]) -> dict[str, Any]:
    """The answers that go on the lead: only those of steps that apply (an anonymous report keeps no contact)."""
    answers = {k: v for k, v in data.items() if not k.startswith("_")}
    shown = set(review.listed(data))
    for key in BY_KEY:
        if key not in shown:
            answers.pop(key, None)
    answers["typed"] = {k: v for k, v in (data.get("typed") or {}).items() if k in shown}
    if "amount" not in shown:
        answers.pop("amount_high", None)
    return answers


def submit(flow: Flow) -> TextReply:
    """File the answers as lead(s) and end the dialogue; a failure keeps the answers for another 确认."""
    ctx = flow.ctx
    if first_missing(flow.data) != "confirm":  # an answer a change made necessary is still missing
        flow.state.step = first_missing(flow.data)
        flow.save()
        return flow.ask()
    try:
        with ctx.session.begin_nested():
            leads = create_leads(ctx.session, ctx.app, ctx.msg.openid, filed(flow.data), ctx.now)
    except Exception:
        log.exception("submitting a dialogue failed msg_id=%s", ctx.msg.msg_id)
        return TextReply(flow.t.get("submitted.failed"))
    ctx.session.delete(flow.state)
    return TextReply(submitted(flow, leads))


def submitted(flow: Flow, leads) -> str:
    t, parts = flow.t, []
    if len(leads) == 2:
        parts.append(t.get("submitted.split", complaint=leads[0].ticket, report=leads[1].ticket))
    for lead in leads:
        parts.append(t.get(f"submitted.{lead.kind}", ticket=lead.ticket, due=cn_date(lead.next_due)))
    if flow.data.get("anonymous") and leads[0].kind == "report":
        parts.append(t.get("submitted.anonymous"))
    return "\n".join(parts)
