"""One consumer's pass through the dialogue: control words, answers, photos, locations, the summary and submission."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bot import outbox
from bot.dialogue import confirm, review
from bot.dialogue.answers import Answer, Result, Unclear
from bot.dialogue.settings import DialogueSettings
from bot.dialogue.steps import BY_KEY, CONTACTS, Env, first_missing, is_sticker, next_step
from bot.dialogue.texts import texts
from bot.leads.create import rules
from bot.leads.deadlines import today_local
from bot.models import DialogueState, Evidence
from bot.wechat.messages import Context, TextReply
from bot.wechat.router import normalise

CANCEL = {"取消", "退出", "结束", "取消投诉", "取消举报"}
BACK = {"返回", "上一步", "返回上一步", "修改"}
SKIP = {"跳过", "略过", "不填", "不知道", "不清楚", "记不清", "记不清了", "不记得", "不记得了", "忘了", "找不到"}
NONE = {"没有", "没", "无", "没写", "没公示", "没有写", "没有公示", "没标", "没有标"}  # skips an optional step only
ANONYMOUS = {"匿名", "匿名举报", "我要匿名", "不留名"}
COORDINATES = re.compile(r"^[\d.,\s-]*$")


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
            question = self.t.get("steps.confirm.prompt", summary=review.summary(self.t, self.data))
        else:
            question = self.t.get(f"steps.{key}.prompt", self._variant(key))
            if key == "also_report" and (word := self._violation_hint()):
                question = self.t.get("steps.also_report.detected", word=word) + question
        return TextReply("\n".join(p for p in (before, question, self._hint()) if p))

    def _hint(self) -> str:
        key = self.state.step
        if key == "confirm":
            return self.t.get("control.hint_confirm")
        return self.t.get("control.hint_optional" if BY_KEY[key].optional(self.data) else "control.hint")

    def reask(self, message: str) -> TextReply:
        """A re-ask: what was understood and an example (the question itself is not repeated)."""
        return TextReply("\n".join(p for p in (message, self._hint()) if p))

    def _variant(self, key: str) -> str | None:
        if key in ("business", "address") and self.data.get("online") is False:
            return "offline"
        return self.data.get("kind")

    def _violation_hint(self) -> str | None:
        facts = f"{self.data.get('facts', '')}{self.data.get('item', '')}"
        return next((w for w in self.t.data["steps"]["also_report"].get("hints", []) if w in facts), None)

    def env(self) -> Env:
        """The message's date in the bureau's time zone (from the app's clock) and the city's 镇街."""
        towns = tuple(alias for alias, _code in rules(self.ctx.app).branches.aliases)
        return Env(today=today_local(self.ctx.app, self.ctx.now), towns=towns)

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
        if not text or not text.strip():
            kind = {"voice": "voice", "text": "empty"}.get(msg.type, "not_text")
            return self.ask(self.t.get(f"control.{kind}"))
        word = normalise(text)
        if word in CANCEL:
            return self.cancel()
        if self.state.step == "confirm":
            return self.review(text)
        if word in BACK:
            return self.back()
        if is_sticker(text):
            return self.ask(self.t.get("control.not_text"))
        if word in SKIP or (self.state.step == "name" and word in ANONYMOUS):
            return self.skip()
        if review.is_numbered_edit(text):  # 改3 before the numbers were shown
            return self.reask(self.t.get("control.edit_later"))
        return self.answer(text)

    def _kind_label(self) -> str:
        return self.t.data["labels"].get(self.data.get("kind") or "complaint", "")

    def answer(self, text: str) -> TextReply:
        key = self.state.step
        result = self._parse(key, text)
        if isinstance(result, Unclear) and normalise(text).rstrip("。.!！") in NONE and BY_KEY[key].optional(self.data):
            return self.skip()
        if isinstance(result, Unclear):
            return self.unclear(key, result, text)
        self.store(key, result, text)
        return self.advance()

    def _parse(self, key: str, text: str) -> Result:
        """The step's parser; a town understood before (typed, or from a pin) is put in front of a street."""
        env, partial = self.env(), self.data.get("_partial") or {}
        if partial.get("key") == key and partial["town"] not in text:
            combined = BY_KEY[key].parse(partial["prefix"] + text.strip(), env)
            if isinstance(combined, Answer):
                return combined
        return BY_KEY[key].parse(text, env)

    def store(self, key: str, result: Answer, text: str, location: dict | None = None) -> None:
        """Keep a normalised answer, how it is shown back, and the consumer's words where the record needs them."""
        d = self.data
        d[key] = result.value
        for bucket, value in (("shown", result.shown), ("typed", text.strip()[:100] if result.as_typed else None)):
            entries = d.setdefault(bucket, {})
            if value is None:
                entries.pop(key, None)
            else:
                entries[key] = value
        d.setdefault("_misses", {}).pop(key, None)
        partial = d.pop("_partial", None) or {}
        location = location or (partial.get("location") if partial.get("key") == key else None)
        if key == "online":
            platform = result.extra.get("platform")
            d.update(platform=platform, platform_named=True) if platform else d.pop("platform_named", None)
            if not platform:
                d.pop("platform", None)
        elif key == "amount":
            d["amount_high"] = result.extra.get("amount_high")
        elif key == "name":
            d["anonymous"] = False
        elif key == "address":
            d.pop("address_location", None)
            if location:  # the business's place (not personal data); the consumer's own stays encrypted only
                d["address_location"] = location

    def unclear(self, key: str, result: Unclear, text: str, location: dict | None = None) -> TextReply:
        """Re-ask with what was understood and one example; a choice offers its numbers after two misses."""
        misses = self.data.setdefault("_misses", {})
        misses[key] = misses.get(key, 0) + 1
        if result.reason == "town_only":
            self.data["_partial"] = {"key": key, "town": result.fields["understood"], "prefix": text.strip()[:100]}
            if location:
                self.data["_partial"]["location"] = location
        self.save()
        reason = f"pin_{result.reason}" if location is not None else result.reason
        parts = [self._reask_text(key, reason, result.fields)]
        if BY_KEY[key].choice and misses[key] >= 2:
            parts.append(self.t.get(f"steps.{key}.numbered", self._variant(key)))
        return self.reask("\n".join(parts))

    def _reask_text(self, key: str, reason: str, fields: dict) -> str:
        for dotted in (f"steps.{key}.{reason}", f"steps.{key}.invalid", "control.unclear"):
            if self.t.has(dotted):
                return self.t.get(dotted, self._variant(key), **fields)
        return self.t.get("control.unclear")

    def advance(self) -> TextReply:
        key = self.state.step
        self.state.history = [*(self.state.history or []), key]
        before = ""
        if self.data.get("_editing"):  # back to the confirmation, unless the change calls for a new answer
            self.state.step = first_missing(self.data)
            if self.state.step == "confirm":
                self.data.pop("_editing", None)
                before = self.t.get("steps.confirm.edited")
        else:
            self.state.step = next_step(key, self.data)
        self.save()
        return self.ask(before)

    def skip(self) -> TextReply:
        key = self.state.step
        if not BY_KEY[key].optional(self.data):  # a miss like any other: a choice then offers its numbers
            misses = self.data.setdefault("_misses", {})
            misses[key] = misses.get(key, 0) + 1
            self.save()
            numbered = BY_KEY[key].choice and misses[key] >= 2
            before = [self.t.get("control.cannot_skip"), self.t.get(f"steps.{key}.numbered") if numbered else ""]
            return self.ask("\n".join(p for p in before if p))
        self.data[key] = None
        for bucket in ("shown", "typed"):
            self.data.get(bucket, {}).pop(key, None)
        if key == "name":
            self.anonymise()
        return self.advance()

    def anonymise(self) -> None:
        """An anonymous reporter: every contact detail typed before (also before going back) is dropped."""
        self.data["anonymous"] = True
        self.data["name"] = None
        for key in CONTACTS[1:]:
            self.data.pop(key, None)
        for bucket in ("shown", "typed", "_misses"):
            for key in CONTACTS:
                self.data.get(bucket, {}).pop(key, None)
        if (self.data.get("_partial") or {}).get("key") in CONTACTS:
            self.data.pop("_partial")

    def back(self) -> TextReply:
        history = list(self.state.history or [])
        if not history:
            return self.ask(self.t.get("control.first_step"))
        self.state.step = history.pop()
        self.state.history = history
        if self.state.step == "confirm":  # 返回 in the middle of a change: the old answer stays
            self.data.pop("_editing", None)
        self.save()
        return self.ask()

    def cancel(self) -> TextReply:
        discard(self.ctx, self.state)
        return TextReply(self.t.get("control.cancelled"))

    def location(self) -> TextReply:
        """A pin answers an address question when its label is an address; a bare town asks for the street."""
        key, msg = self.state.step, self.ctx.msg
        if not BY_KEY[key].takes_location:
            return self.ask(self.t.get("control.location_here"))
        label = (msg.label or "").strip()[:200]
        if not label or COORDINATES.match(label):
            return self.unclear(key, Unclear("unreadable"), "", location={})
        place = {"lat": msg.latitude, "lng": msg.longitude, "label": label}
        result = self._parse(key, label)
        if isinstance(result, Unclear):
            return self.unclear(key, result, label, location=place)
        self.store(key, result, label, location=place)
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

    def review(self, text: str) -> TextReply:
        """The confirmation's answers: a change, 返回, 确认 (bot/dialogue/confirm.py)."""
        return confirm.at_confirmation(self, text)


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
