"""The public notice service: editors' Markdown under content/notices becomes pages, a feed and search.

It knows nothing of WeChat and never imports `bot`; the bot registers it with `init_app`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask

from notices.fastpath import FastIndex, FastPath
from notices.model import CATEGORIES, Notice, Problem
from notices.store import NoticeStore

__all__ = ["CATEGORIES", "Notice", "NoticeStore", "Problem", "fast_path", "get_store", "init_app"]


def init_app(
    app: Flask,
    content_dir: Path | str | None = None,
    *,
    public_url: str | None = None,
    timezone: str = "Asia/Shanghai",
    interval: float = 1.0,
    per_page: int = 10,
    bureau: str = "市场监督管理局",
) -> NoticeStore:
    """Register the store (app.extensions["notices"]), the public pages and `flask notices`; the app adds the
    `fast_path` WSGI layer where it builds its request path.

    content_dir defaults to app.config["NOTICES_DIR"]; public_url (for the feed, sitemap and share tags) to the
    request's own host; bureau is the name the pages and the feed sign with. Nothing is read until the first
    request or command.
    """
    from notices import cli, feeds, preview, views  # noqa: F401  (feeds and preview add their routes to views.bp)

    directory = Path(content_dir or app.config.get("NOTICES_DIR") or "content/notices")
    store = NoticeStore(directory, timezone=timezone, interval=interval)
    app.extensions["notices"] = store
    app.config["NOTICES_PUBLIC_URL"] = (public_url or "").rstrip("/")
    app.config["NOTICES_PER_PAGE"] = per_page
    app.config["NOTICES_BUREAU"] = bureau
    app.register_blueprint(views.bp)
    app.cli.add_command(cli.notices_cli)
    app.extensions["notices_fast"] = FastIndex()
    return store


def fast_path(app: Flask, inner: Any) -> FastPath:
    """The WSGI layer that answers repeated GETs of public pages from their cached bytes, before Flask."""
    return FastPath(inner, app.extensions["notices_fast"], get_store(app))


def get_store(app: Flask) -> NoticeStore:
    """The app's notice store."""
    return app.extensions["notices"]
