"""The bot's side of the notices: a text no keyword rule or dialogue claimed is answered from the notices.

Registered as the `text` message-type handler, so keyword rules (replies.toml) are tried before it. A short text
naming a notice's keyword gets that notice as a news card; any other question goes to the search engine
(notices/retrieval/): the best notice's key paragraph with a link, and up to two related notices, when it covers
enough of the question (`[notices] answer_confidence`); otherwise an honest "not found" with the complaint route.
Empty, emoji-only, very long and foreign-language messages get a kind reply of their own.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import quote

from flask import Flask

import notices
from bot.config import AppSettings, ConfigError, Section
from bot.content import ContentFile, Source, resolve
from bot.wechat import replies
from bot.wechat.messages import Context, NewsReply, Reply, TextReply
from bot.wechat.router import get_router, normalise
from notices.retrieval import Lexicon, LexiconError, from_data
from notices.retrieval.text import has_chinese, has_foreign_words, only_emoji

CARD_LENGTH = 12  # a text this short that names a notice's keyword is a lookup of that notice: its news card
LONG = 300  # characters: a message longer than this is a story rather than a question
RELATED = 2  # related notices linked under an answer
RELATED_SHARE = 0.5  # a related notice scores at least this share of the answer's score
MAX_BYTES = 2000  # WeChat's limit for a text reply is 2048 bytes


@dataclass(frozen=True, kw_only=True)
class NoticesSettings(Section):
    """[notices]: the editors' notices and the public site."""

    NAME: ClassVar[str] = "notices"
    content_dir: str = "content/notices"
    per_page: int = 10
    reload_seconds: float = 1.0
    synonyms_file: str = "content/synonyms.toml"
    answer_confidence: float = 0.4

    def check(self, source: str, app: AppSettings) -> NoticesSettings:
        if self.per_page < 1:
            raise ConfigError(source, "[notices] per_page", "must be at least 1")
        if not 0 <= self.answer_confidence <= 1:
            raise ConfigError(source, "[notices] answer_confidence", "must be between 0 and 1")
        return self


def site_settings(app: Flask) -> dict:
    """The notice site's arguments (`notices.init_app`) from the bot's settings."""
    notices_, app_ = NoticesSettings.of(app), AppSettings.of(app)
    return {
        "content_dir": str(resolve(notices_.content_dir)),
        "public_url": app_.public_url,
        "timezone": app_.timezone,
        "interval": notices_.reload_seconds,
        "per_page": notices_.per_page,
        "bureau": app_.bureau_name,
    }


def build_lexicon(data: dict[str, Any], src: Source) -> Lexicon:
    """Check content/synonyms.toml and turn it into the search's Lexicon; a mistake names its line."""
    try:
        return from_data(data)
    except LexiconError as exc:
        start = src.line_of_table("group", exc.index) if exc.key != "stopwords" and exc.index is not None else 1
        raise src.error(src.line_of_key(exc.key, start), exc.message) from None


def init_app(app: Flask) -> None:
    """Load the search's dictionary (a broken file stops the start with file:line) and answer free questions."""
    lexicon = ContentFile(resolve(NoticesSettings.of(app).synonyms_file), build_lexicon)
    lexicon.load()
    notices.get_store(app).set_lexicon(lexicon.get)  # reloaded when the file is saved (a broken edit is logged)
    app.extensions["notices_lexicon"] = lexicon
    get_router(app).message("text", "voice", pure=True)(
        notice_reply
    )  # a voice message with WeChat's recognised words too


def news_card(app: Flask, notice: notices.Notice) -> NewsReply:
    """A one-article news card for a notice: title, summary, cover and a link to its page."""
    base = AppSettings.of(app).public_url.rstrip("/")
    image = f"{base}/notices/images/{quote(notice.cover)}" if notice.cover else ""
    return NewsReply(title=notice.title, description=notice.summary, url=f"{base}/notices/{notice.slug}", image=image)


def notice_reply(ctx: Context) -> Reply:
    """The answer to a text that no keyword rule claimed (see the module's docstring)."""
    text = ctx.msg.text
    if not text:
        return TextReply(replies.phrase(ctx.app, "question_empty" if ctx.msg.type == "text" else "media"))
    if only_emoji(text):
        return TextReply(replies.phrase(ctx.app, "question_emoji"))
    if len(text) > LONG:  # a story, most likely a complaint: how to file it, rather than a guess at a notice
        return TextReply(unanswered(ctx.app, text))
    store = notices.get_store(ctx.app)
    if len(normalise(text)) <= CARD_LENGTH:
        found = store.by_keyword(text)
        if found is not None:
            return news_card(ctx.app, found)
    return answer(ctx.app, text)


def unanswered(app: Flask, text: str) -> str:
    """What the bot says when no notice answers a text: "not found" with the complaint route and 12315; for a long
    story, how to file it; for a message in another language, that the account answers in Chinese."""
    search = replies.search_url(app, text)
    if not has_chinese(text) and has_foreign_words(text):
        return replies.phrase(app, "question_foreign", search=search)
    return replies.phrase(app, "question_long" if len(text) > LONG else "not_found", search=search)


def answer(app: Flask, text: str) -> TextReply:
    """The best live notice's key paragraph with its link and related links, or "not found"."""
    hits = [h for h in notices.get_store(app).search(text, limit=RELATED + 3) if not h.notice.expired]
    threshold = NoticesSettings.of(app).answer_confidence
    if not hits or hits[0].confidence < threshold:
        return TextReply(unanswered(app, text))
    best = hits[0]
    related = [h for h in hits[1:] if h.score >= RELATED_SHARE * best.score][:RELATED]
    base = AppSettings.of(app).public_url.rstrip("/")
    lines = [
        f'· <a href="{base}/notices/{h.notice.slug}">{html.escape(h.notice.title, quote=False)}</a>' for h in related
    ]
    values = {
        "title": html.escape(best.notice.title, quote=False),
        "summary": html.escape(best.notice.summary, quote=False),
        "passage": "" if best.passage in best.notice.summary else html.escape(best.passage, quote=False),
        "url": f"{base}/notices/{best.notice.slug}",
    }
    for shown in (lines, []):
        values["related"] = replies.phrase(app, "answer_related") + "\n" + "\n".join(shown) if shown else ""
        reply = "\n".join(line for line in replies.phrase(app, "answer", **values).strip().splitlines() if line)
        if len(reply.encode()) <= MAX_BYTES:
            break
    return TextReply(reply)
