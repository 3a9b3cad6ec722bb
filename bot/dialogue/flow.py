"""One consumer's pass through the dialogue: control words, answers, photos, locations, the summary and submission."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bot import outbox
from bot.dialogue.progress import cn_date
from bot.dialogue.settings import DialogueSettings
from bot.dialogue.steps import BY_KEY, STEPS, is_sticker, next_step
from bot.dialogue.texts import texts
from bot.leads import create_leads
from bot.models import DialogueState, Evidence
from bot.privacy import mask_phone
from bot.wechat.messages import Context, TextReply
from bot.wechat.router import normalise

log = logging.getLogger(__name__)

CANCEL = {"取消", "退出", "结束", "取消投诉", "取消举报"}
BACK = {"返回", "上一步", "返回上一步", "修改"}
SKIP = {"跳过", "略过", "不填", "不知道"}
ANONYMOUS = {"匿名", "匿名举报"}
SUMMARY_WIDTH = 60


class Flow:
    """The dialogue state of one openid, loaded for one message (the row is locked until the request commits)."""

    def __init__(self, ctx: Context, state: DialogueState) -> None:
        self.ctx, self.state, self.t = ctx, state, texts(ctx.app)
        self.data: dict[str, Any] = json.loads(state.data or "{}")

    # ------------------------------------------------------------------ replies

    def save(self) -> None:
        self.state.data = json.dumps(self.data, ensure_ascii=False)
        self.state.updated_at = self.ctx.now
        if self.ctx.msg.msg_id:
            self.state.note = self.ctx.msg.msg_id

    def ask(self, before: str = "") -> TextReply:
        """The current question (after `before`), with the hint on what else can be said."""
        key = self.state.step
        if key == "confirm":
            question = self.t.get("steps.confirm.prompt", summary=self.summary())
        else:
            question = self.t.get(f"steps.{key}.prompt", self._variant(key))
            if key == "also_report" and (word := self._violation_hint()):
                question = self.t.get("steps.also_report.detected", word=word) + question
        optional = BY_KEY[key].optional(self.data)
        hint = self.t.get("control.hint_optional" if optional else "control.hint")
        return TextReply("\n".join(p for p in (before, question, hint) if p))

    def _variant(self, key: str) -> str | None:
        if key in ("business", "address") and self.data.get("online") is False:
            return "offline"
        return self.data.get("kind")

    def _violation_hint(self) -> str | None:
        facts = f"{self.data.get('facts', '')}{self.data.get('item', '')}"
        return next((w for w in self.t.data["steps"]["also_report"].get("hints", []) if w in facts), None)

    def summary(self) -> str:
        """The answers for the consumer to check, the phone masked and long answers shortened."""
        lines = []
        for step in STEPS:
            if step.key == "confirm" or not step.applies(self.data):
                continue
            lines.append(self.t.get(f"summary.{step.key}", value=self._shown(step.key)))
        if self.data.get("evidence"):
            lines.append(self.t.get("summary.photos", value=len(self.data["evidence"])))
        return "\n".join(lines)

    def _shown(self, key: str) -> str:
        value = self.data.get(key)
        labels = self.t.data["labels"]
        if key == "kind":
            return labels[value]
        if key == "online":
            return labels["online" if value else "offline"]
        if key == "also_report":
            return labels["yes" if value else "no"]
        if key == "name" and self.data.get("anonymous"):
            return labels["anonymous"]
        if value in (None, ""):
            return labels["skipped"]
        if key == "phone":
            return mask_phone(value)
        text = str(value)
        return text if len(text) <= SUMMARY_WIDTH else text[:SUMMARY_WIDTH] + "…"

    # ------------------------------------------------------------------ one message

    def handle(self) -> TextReply:
        """Answer one message inside the dialogue."""
        msg = self.ctx.msg
        if msg.type == "event":  # the complaint menu again: say where they are
            return self.ask(self.t.get("control.resume", kind=self._kind_label()))
        if msg.msg_id and msg.msg_id == self.state.note:  # a retry of what was already taken
            return self.ask()
        if msg.type == "image":
            return self.photo()
        if msg.type == "location":
            return self.location()
        text = msg.text
        if not text:
            return self.ask(self.t.get("control.voice" if msg.type == "voice" else "control.not_text"))
        word = normalise(text)
        if word in CANCEL:
            return self.cancel()
        if word in BACK:
            return self.back()
        if is_sticker(text):
            return self.ask(self.t.get("control.not_text"))
        if word in SKIP or (self.state.step == "name" and word in ANONYMOUS):
            return self.skip()
        return self.answer(text)

    def _kind_label(self) -> str:
        return self.t.data["labels"].get(self.data.get("kind") or "complaint", "")

    def answer(self, text: str) -> TextReply:
        key = self.state.step
        value, error = BY_KEY[key].parse(text)
        if error:
            return self.ask(self.t.get(f"steps.{key}.{error}"))
        if key == "confirm":
            return self.submit()
        self.data[key] = value
        if key == "name":
            self.data["anonymous"] = False
        if key in ("address", "mail_address"):
            self.data.pop(f"{key}_location", None)
        return self.advance()

    def advance(self) -> TextReply:
        key = self.state.step
        self.state.history = [*(self.state.history or []), key]
        self.state.step = next_step(key, self.data)
        self.save()
        return self.ask()

    def skip(self) -> TextReply:
        key = self.state.step
        if not BY_KEY[key].optional(self.data):
            return self.ask(self.t.get("control.cannot_skip"))
        self.data[key] = None
        if key == "name":
            self.data["anonymous"] = True
        return self.advance()

    def back(self) -> TextReply:
        history = list(self.state.history or [])
        if not history:
            return self.ask(self.t.get("control.first_step"))
        self.state.step = history.pop()
        self.state.history = history
        self.save()
        return self.ask()

    def cancel(self) -> TextReply:
        discard(self.ctx, self.state)
        return TextReply(self.t.get("control.cancelled"))

    def location(self) -> TextReply:
        key, msg = self.state.step, self.ctx.msg
        if not BY_KEY[key].takes_location:
            return self.ask(self.t.get("control.location_here"))
        label = msg.label.strip() or f"{msg.latitude:.5f},{msg.longitude:.5f}"
        self.data[key] = label[:200]
        if key == "address":  # the business's place (not personal data); the consumer's own stays encrypted only
            self.data["address_location"] = {"lat": msg.latitude, "lng": msg.longitude, "label": label[:200]}
        return self.advance()

    def photo(self) -> TextReply:
        if self.state.step == "kind":
            return self.ask(self.t.get("control.photo_early"))
        media = self.data.setdefault("media", [])
        ids = self.data.setdefault("evidence", [])
        kind = self._kind_label()
        if self.ctx.msg.media_id in media:  # the same photo again: nothing new
            return self.ask(self.t.get("control.photo_received", n=media.index(self.ctx.msg.media_id) + 1, kind=kind))
        limit = DialogueSettings.of(self.ctx.app).max_photos
        if len(ids) >= limit:
            return self.ask(self.t.get("control.photo_limit", max=limit))
        ev = Evidence(openid=self.ctx.msg.openid, media_id=self.ctx.msg.media_id, pic_url=self.ctx.msg.pic_url or None)
        ev.state, ev.received_at = "pending", self.ctx.now
        self.ctx.session.add(ev)
        self.ctx.session.flush()
        outbox.enqueue(self.ctx.session, "fetch_evidence", {"evidence_id": ev.id}, dedupe_key=f"evidence:{ev.id}")
        ids.append(ev.id)
        media.append(self.ctx.msg.media_id)
        self.save()
        return self.ask(self.t.get("control.photo_received", n=len(ids), kind=kind))

    def submit(self) -> TextReply:
        session = self.ctx.session
        try:
            with session.begin_nested():
                leads = create_leads(session, self.ctx.app, self.ctx.msg.openid, self.data, self.ctx.now)
        except Exception:
            log.exception("submitting a dialogue failed msg_id=%s", self.ctx.msg.msg_id)
            return TextReply(self.t.get("submitted.failed"))
        session.delete(self.state)
        return TextReply(self.submitted(leads))

    def submitted(self, leads) -> str:
        parts = []
        if len(leads) == 2:
            parts.append(self.t.get("submitted.split", complaint=leads[0].ticket, report=leads[1].ticket))
        for lead in leads:
            parts.append(self.t.get(f"submitted.{lead.kind}", ticket=lead.ticket, due=cn_date(lead.next_due)))
        if self.data.get("anonymous") and leads[0].kind == "report":
            parts.append(self.t.get("submitted.anonymous"))
        return "\n".join(parts)


def discard(ctx: Context, state: DialogueState) -> None:
    """Drop a dialogue and the photos sent during it that no lead took (they are personal data)."""
    ids = json.loads(state.data or "{}").get("evidence", [])
    if ids:
        rows = ctx.session.execute(select(Evidence).where(Evidence.id.in_(ids), Evidence.lead_id.is_(None)))
        for ev in rows.scalars():
            if ev.path:
                Path(ev.path).unlink(missing_ok=True)
            ctx.session.delete(ev)
    ctx.session.delete(state)
