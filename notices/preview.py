"""Preview links: a draft shown to whoever holds a signed link, for seven days, with a 草稿预览 banner.

The link carries the slug signed with the app's secret key (itsdangerous, its own salt) and the moment it was made;
a forged, altered or expired link is a 404, like a page that does not exist. Preview pages are never cached.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import Flask, abort, current_app, redirect, render_template, url_for
from itsdangerous import BadData, TimestampSigner, URLSafeTimedSerializer

from bot import clock
from notices.views import bp, store

SALT = "notices.preview"
LIFETIME = timedelta(days=7)


class _ClockSigner(TimestampSigner):
    """Timestamps from the app's one clock (bot/clock.py), so that a link's age follows it."""

    def get_timestamp(self) -> int:
        return clock.timestamp()


def _serializer(app: Flask) -> URLSafeTimedSerializer:
    if not app.secret_key:
        raise RuntimeError("preview links need the app's secret key (SECRET_KEY)")
    return URLSafeTimedSerializer(app.secret_key, salt=SALT, signer=_ClockSigner)


def preview_token(app: Flask, slug: str) -> str:
    """A signed token naming the notice, valid for LIFETIME from now."""
    return _serializer(app).dumps(slug.lower())


def preview_path(app: Flask, slug: str) -> str:
    """The preview page's path for a notice."""
    return f"/notices/preview/{preview_token(app, slug)}"


def expires_at(now: datetime | None = None) -> datetime:
    """When a link made now stops working (UTC)."""
    return (now or clock.utcnow()) + LIFETIME


@bp.get("/notices/preview/<token>")
def preview(token: str):
    """The draft the token names, with the preview banner; a published notice redirects to its page; 404 otherwise."""
    if not current_app.secret_key:
        abort(404)
    try:
        slug, made = _serializer(current_app).loads(token, max_age=int(LIFETIME.total_seconds()), return_timestamp=True)
    except BadData:  # forged, altered, garbled or expired
        abort(404)
    if not isinstance(slug, str):
        abort(404)
    published = store().get(slug)
    if published is not None:
        return redirect(url_for("notices.notice", slug=published.slug))
    draft = store().draft(slug)
    if draft is None:
        abort(404)
    until = expires_at(made.replace(tzinfo=UTC)).astimezone(store().tz)
    page = render_template("notices/notice.html", notice=draft, related=[], preview_until=until)
    return page, 200, {"Cache-Control": "no-store", "X-Robots-Tag": "noindex"}
