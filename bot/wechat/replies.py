"""Editors' words: the bot's phrases (content/phrases.toml) and keyword replies (content/replies.toml) -> replies."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from flask import Flask

from bot.config import ROOT, AppSettings
from bot.content import ContentFile, Source, fill
from bot.wechat.messages import Context, NewsReply, Reply, TextReply
from bot.wechat.router import KeywordRule, get_router, normalise
from bot.wechat.settings import WechatSettings

# Phrases this module needs, with what each is for (named in the error when one is missing).
REQUIRED_PHRASES = {
    "welcome": "the welcome sent on subscribe",
    "welcome_back": "the answer when a follower scans one of our QR codes",
    "help": "the default reply when nothing matched: what the account can do",
    "media": "the answer to a photo, voice, video, location or link outside a dialogue",
    "apology": "the apology when something went wrong on our side",
    "busy": "the answer when the message could not be saved in time (the database was busy): send it again",
    "notices_intro": "the first line of a list of notices ({category} = its category)",
    "notices_more": "the last line of a list of notices",
    "notices_none": "the answer when a category has no notice yet ({category})",
    "answer": "a free question's answer: {title}, {passage} and {url} of the best notice, then {related}",
    "answer_related": "the line before the related notices' links under an answer",
    "not_found": "the answer when no notice answers a free question: the complaint route, 12315, {search}",
    "question_empty": "the answer to an empty message",
    "question_emoji": "the answer to a message of emoji only",
    "question_long": "the answer to a very long message that no notice answers (a story rather than a question)",
    "question_foreign": "the answer to a message in another language that no notice answers",
}
PLACEHOLDERS = {"site", "category", "search", "title", "summary", "passage", "url", "related", "bureau"}
MODES = ("exact", "contains", "regex")
RULE_KEYS = {"name", "keywords", "match", "text", "notice"}
SLUG = re.compile(r"[a-z0-9][a-z0-9-]*")
RULE_PRIORITY = -10  # code-registered keywords (投诉, 进度, 取消 ...) come first


def build_phrases(data: dict[str, Any], src: Source) -> dict[str, str]:
    """Check phrases.toml: every required phrase present, a non-empty string, with known placeholders only."""
    for key, purpose in REQUIRED_PHRASES.items():
        if key not in data:
            raise src.error(len(src.lines) or 1, f'missing phrase `{key}` ({purpose}): add `{key} = "..."`')
        value = data[key]
        if not isinstance(value, str) or not value.strip():
            raise src.error(src.line_of_key(key), f"`{key}` must be a non-empty string in quotes")
        unknown = set(re.findall(r"\{(\w*)\}", value)) - PLACEHOLDERS
        if unknown:
            known = ", ".join("{" + p + "}" for p in sorted(PLACEHOLDERS))
            raise src.error(src.line_of_key(key), f"`{key}` uses unknown placeholder {{{unknown.pop()}}} ({known})")
    return {k: v.strip() for k, v in data.items() if isinstance(v, str)}


@dataclass(frozen=True)
class ReplyRule:
    """One keyword rule of replies.toml."""

    name: str
    mode: str
    keywords: tuple[str, ...]
    text: str
    notice: str | None
    line: int


def build_replies(data: dict[str, Any], src: Source) -> list[ReplyRule]:
    """Check replies.toml: a list of [[rule]] tables, each with keywords, a match mode and a text."""
    for key in data:
        if key != "rule":
            raise src.error(src.line_of_key(key), f"unknown key `{key}`: each rule starts with a [[rule]] line")
    raw_rules = data.get("rule", [])
    if not isinstance(raw_rules, list):
        raise src.error(src.line_of_table("rule", 0), "write each rule as a [[rule]] table (double brackets)")
    rules = [_rule(raw, src, src.line_of_table("rule", i)) for i, raw in enumerate(raw_rules)]
    seen: dict[str, int] = {}
    for rule in rules:
        if rule.name in seen:
            raise src.error(rule.line, f"two rules are named `{rule.name}` (see line {seen[rule.name]}): rename one")
        seen[rule.name] = rule.line
    return rules


def _rule(raw: dict[str, Any], src: Source, line: int) -> ReplyRule:
    def fail(key: str, problem: str):
        return src.error(src.line_of_key(key, line), problem)

    for key in raw:
        if key not in RULE_KEYS:
            raise fail(key, f"unknown key `{key}` (a rule has: {', '.join(sorted(RULE_KEYS))})")
    keywords = raw.get("keywords")
    if not isinstance(keywords, list) or not keywords or not all(isinstance(k, str) and k.strip() for k in keywords):
        raise fail("keywords", '`keywords` must be a list of words in quotes, e.g. keywords = ["双11", "双十一"]')
    mode = raw.get("match", "contains")
    if mode not in MODES:
        raise fail("match", f"`match` must be one of {', '.join(MODES)}, not {mode!r}")
    if mode == "regex":
        for pattern in keywords:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise fail("keywords", f"regular expression {pattern!r} is invalid: {exc}") from None
    text = raw.get("text")
    if not isinstance(text, str) or not text.strip():
        raise fail("text", "every rule needs `text`: the reply (also used when its notice is not available)")
    notice = raw.get("notice")
    if notice is not None and (not isinstance(notice, str) or not SLUG.fullmatch(notice)):
        raise fail("notice", "`notice` must be a notice's slug: lower-case letters, digits and hyphens")
    name = raw.get("name", keywords[0])
    if not isinstance(name, str):
        raise fail("name", "`name` must be a string in quotes")
    return ReplyRule(name, mode, tuple(keywords), text.strip(), notice, line)


def keyword_rule(app: Flask, rule: ReplyRule) -> KeywordRule:
    """The router rule answering `rule`: its notice as a news card when available, else its text."""

    def answer(ctx: Context) -> Reply:
        store = ctx.app.extensions.get("notices")
        card = notice_card(ctx.app, store.get(rule.notice)) if rule.notice and store is not None else None
        return card or TextReply(rule.text)

    patterns = rule.keywords if rule.mode == "regex" else tuple(normalise(k) for k in rule.keywords)
    compiled = [re.compile(p, re.IGNORECASE) for p in patterns] if rule.mode == "regex" else []
    return KeywordRule(
        f"replies:{rule.name}", rule.mode, patterns, answer, RULE_PRIORITY, pure=True, _compiled=compiled
    )


def notice_card(app: Flask, notice: Any) -> NewsReply | None:
    """A one-article news card for a live notice, or None when there is none to show."""
    if notice is None or getattr(notice, "expired", False):
        return None
    base = AppSettings.of(app).public_url.rstrip("/")
    image = f"{base}/notices/images/{notice.cover}" if getattr(notice, "cover", None) else ""
    return NewsReply(notice.title, notice.summary or "", f"{base}/notices/{notice.slug}", image)


def phrase(app: Flask, key: str, **values: str) -> str:
    """A phrase with {site} (the notices site), {bureau} (`[app] bureau_name`) and any given placeholders filled in."""
    text = app.extensions["wechat_content"]["phrases"].get()[key]
    values.setdefault("site", AppSettings.of(app).public_url.rstrip("/") + "/notices/")
    values.setdefault("bureau", AppSettings.of(app).bureau_name)
    for name, value in values.items():
        text = text.replace("{" + name + "}", value)
    return text


def notice_list(app: Flask, category: str, limit: int = 5) -> Reply:
    """The newest notices of a category as a text with links, or a pointer to the site when there is none."""
    store = app.extensions.get("notices")
    notices = [n for n in (store.latest(category, limit=limit) if store is not None else []) if not n.expired]
    if not notices:
        return TextReply(phrase(app, "notices_none", category=category))
    base = AppSettings.of(app).public_url.rstrip("/")
    lines = [phrase(app, "notices_intro", category=category)]
    for n, notice in enumerate(notices, 1):
        lines.append(f'{n}. <a href="{base}/notices/{notice.slug}">{html.escape(notice.title, quote=False)}</a>')
    lines.append(phrase(app, "notices_more", category=category))
    return TextReply("\n".join(lines))


def init_app(app: Flask) -> None:
    """Load both files (a broken file stops the start with file:line) and keep the router's rules in step."""
    settings = WechatSettings.of(app)
    phrases = ContentFile(_path(settings.phrases_file), build_phrases)
    bureau = AppSettings.of(app).bureau_name
    replies = ContentFile(_path(settings.replies_file), lambda data, src: build_replies(fill(data, bureau=bureau), src))
    router = get_router(app)
    replies.listeners.append(lambda rules: router.replace_rules("replies", [keyword_rule(app, r) for r in rules]))
    phrases.load()
    replies.load()
    app.extensions["wechat_content"] = {"phrases": phrases, "replies": replies}


def refresh(app: Flask) -> None:
    """Reload the content files that changed (each looked at no more than once a second)."""
    for item in app.extensions["wechat_content"].values():
        item.get()


def _path(value: str) -> Path:
    path = Path(value)
    return path if path.is_absolute() else ROOT / path


def search_url(app: Flask, text: str) -> str:
    """The public site's search page (/notices/search) for a consumer's words."""
    base = AppSettings.of(app).public_url.rstrip("/")
    words = " ".join(text.split())[:30]
    return f"{base}/notices/search" + (f"?q={quote(words)}" if words else "")
