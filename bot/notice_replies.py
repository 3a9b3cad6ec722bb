"""The bot's side of the notices: a text that names a notice's keyword gets that notice as a news card.

Registered as the `text` message-type handler, so keyword rules (replies.toml) are tried before it; a text that
matches no notice goes to the router's fallback (the webhook's help reply, which links to the search page).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar
from urllib.parse import quote

from flask import Flask

import notices
from bot.config import AppSettings, ConfigError, Section
from bot.content import resolve
from bot.wechat.messages import Context, NewsReply, Reply
from bot.wechat.router import get_router


@dataclass(frozen=True, kw_only=True)
class NoticesSettings(Section):
    """[notices]: the editors' notices and the public site."""

    NAME: ClassVar[str] = "notices"
    content_dir: str = "content/notices"
    per_page: int = 10
    reload_seconds: float = 1.0

    def check(self, source: str, app: AppSettings) -> NoticesSettings:
        if self.per_page < 1:
            raise ConfigError(source, "[notices] per_page", "must be at least 1")
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


def init_app(app: Flask) -> None:
    """Answer the notices' keywords in the bot (the notice site itself is registered by create_app)."""
    get_router(app).message("text")(notice_reply)


def news_card(app: Flask, notice: notices.Notice) -> NewsReply:
    """A one-article news card for a notice: title, summary, cover and a link to its page."""
    base = AppSettings.of(app).public_url.rstrip("/")
    image = f"{base}/notices/images/{quote(notice.cover)}" if notice.cover else ""
    return NewsReply(title=notice.title, description=notice.summary, url=f"{base}/notices/{notice.slug}", image=image)


def notice_reply(ctx: Context) -> Reply:
    """The newest live notice whose keyword the text contains, else the router's fallback."""
    found = notices.get_store(ctx.app).by_keyword(ctx.msg.text)
    if found is not None:
        return news_card(ctx.app, found)
    fallback = get_router(ctx.app).fallback
    return fallback(ctx) if fallback is not None else None
