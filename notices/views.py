"""The public pages: home, index, category, notice, search, images and the friendly 404 (feeds in feeds.py)."""

from __future__ import annotations

import math
from collections.abc import Callable

from flask import Blueprint, Response, abort, current_app, render_template, request, send_from_directory
from werkzeug.exceptions import NotFound

from notices.model import CATEGORIES, Notice
from notices.pagecache import PageCache, respond
from notices.store import NoticeStore

bp = Blueprint("notices", __name__, template_folder="templates")
MAX_QUERY = 40


def store() -> NoticeStore:
    """The app's notice store."""
    return current_app.extensions["notices"]


def absolute(path: str) -> str:
    """An absolute URL for a path, on the configured public address (or this request's host)."""
    base = current_app.config.get("NOTICES_PUBLIC_URL") or request.host_url.rstrip("/")
    return base + path


def conditional(render: Callable[[], str | bytes], mimetype: str = "text/html") -> Response:
    """The page `render()` makes, cached per URL and content generation, with an ETag (of the body) and
    Last-Modified (of the content); 304 when the client has it (notices/pagecache.py)."""
    cache = current_app.extensions.setdefault("notices_pages", PageCache())
    return respond(cache, store(), render, mimetype, current_app.extensions.get("notices_fast"))


@bp.app_template_filter("cn_date")
def cn_date(value) -> str:
    """2022-11-01 -> 2022年11月1日."""
    return f"{value.year}年{value.month}月{value.day}日"


def bureau() -> str:
    """The bureau's name as the pages and the feed give it (`notices.init_app(bureau=...)`)."""
    return current_app.config.get("NOTICES_BUREAU") or "市场监督管理局"


@bp.app_context_processor
def _common() -> dict:
    return {"categories": CATEGORIES, "absolute": absolute, "bureau": bureau()}


@bp.get("/")
def home():
    """The home page: what the service is, how to use it in WeChat, the latest notices."""
    return conditional(lambda: render_template("notices/home.html", latest=store().latest(limit=6)))


@bp.get("/notices/")
def index():
    """All notices, newest first, ?category= to filter, ?page= to page."""
    category = request.args.get("category") or None
    if category is not None and category not in CATEGORIES:
        abort(404)
    return _listing(category)


@bp.get("/notices/category/<name>")
def category(name: str):
    """The notices of one category."""
    if name not in CATEGORIES:
        abort(404)
    return _listing(name)


def _listing(category: str | None):
    notices = store().latest(category=category, limit=None)
    per_page = current_app.config["NOTICES_PER_PAGE"]
    pages = max(math.ceil(len(notices) / per_page), 1)
    page = request.args.get("page", "1")
    if not page.isdigit() or not 1 <= int(page) <= pages:
        abort(404)
    page_no = int(page)
    shown = notices[(page_no - 1) * per_page : page_no * per_page]
    return conditional(
        lambda: render_template(
            "notices/list.html", notices=shown, category=category, page=page_no, pages=pages, total=len(notices)
        )
    )


@bp.get("/notices/search")
def search():
    """Search titles, keywords and bodies (?q=)."""
    query = " ".join(request.args.get("q", "").split())[:MAX_QUERY]
    return conditional(
        lambda: render_template("notices/search.html", query=query, hits=store().search(query) if query else [])
    )


@bp.get("/notices/images/<path:filename>")
def image(filename: str):
    """A picture under content/notices/images (covers and pictures in bodies)."""
    return send_from_directory(store().images.resolve(), filename, max_age=3600)


@bp.get("/notices/<slug>")
def notice(slug: str):
    """One notice: title, date, category, body, related notices; an expired one says so."""
    found: Notice | None = store().get(slug)
    if found is None:
        abort(404)
    return conditional(lambda: render_template("notices/notice.html", notice=found, related=store().related(found)))


@bp.app_errorhandler(404)
def not_found(error: NotFound):
    """A friendly Chinese page for a missing page (JSON clients get the plain error)."""
    if request.accept_mimetypes.best == "application/json":
        return error
    latest = store().latest(limit=3)
    return render_template("notices/404.html", latest=latest), 404
