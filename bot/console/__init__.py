"""The staff console at /console/: sign-in, the work queue, leads, statistics, the period report, exports, audit."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Flask, Response, abort, g, render_template, request
from flask.sessions import SecureCookieSessionInterface
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException

from bot.config import AppSettings
from bot.console.access import public
from bot.db import BUSY_ERRORS, is_busy

bp = Blueprint("console", __name__, url_prefix="/console", template_folder="templates", static_folder="static")
csrf = CSRFProtect()

ERROR_TEXTS = {
    400: "请求有误，请返回上一页重试。",
    403: "您没有权限访问此页面。",
    404: "找不到此页面，或您无权查看这条线索。",
    405: "不支持这种访问方式。",
    413: "上传的文件太大。",
}


def init_app(app: Flask) -> None:
    """Register the console: session cookie rules, CSRF on console forms only, Chinese error pages, `flask staff`."""
    from bot.console import (  # noqa: F401
        audit,
        auth,
        exports,
        lead,
        lead_actions,
        lead_notices,
        lead_periods,
        notices_editor,
        planner,
        pushes,
        queue,
        staff,
        stats,
        templating,
    )
    from bot.console.cli import staff_cli

    production = AppSettings.of(app).production
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=production,
        # CSRF is checked by the console's own before_request: the WeChat webhook and the sandbox API are not forms.
        WTF_CSRF_CHECK_DEFAULT=False,
    )
    app.session_interface = CachedCookieSessions()
    csrf.init_app(app)
    app.register_blueprint(bp)
    # Browsers ask every site for /favicon.ico; the public pages get the console's icon instead of a 404.
    app.add_url_rule("/favicon.ico", "favicon", _favicon)
    app.cli.add_command(staff_cli)
    planner.init_app(app)
    for code in ERROR_TEXTS:
        app.register_error_handler(code, _error_page)
    app.register_error_handler(CSRFError, _csrf_error)


class CachedCookieSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, with the signing serializer built once per key set instead of on every
    request (every request opens the session, the webhook's and the public pages' too: ~35 µs each)."""

    def get_signing_serializer(self, app: Flask):
        keys = (app.secret_key, tuple(app.config["SECRET_KEY_FALLBACKS"] or ()))
        cached = getattr(self, "_cached", None)
        if cached is None or cached[0] != keys:
            cached = self._cached = (keys, super().get_signing_serializer(app))
        return cached[1]


def _favicon() -> Response:
    """The site's icon (the console's pages link it from their static folder), read whole: 235 bytes."""
    data = (Path(bp.static_folder) / "console" / "favicon.ico").read_bytes()
    return Response(data, mimetype="image/x-icon", headers={"Cache-Control": "public, max-age=604800"})


def _error_page(exc: HTTPException):
    """A Chinese error page under /console/; elsewhere the default response."""
    if not request.path.startswith("/console"):
        return exc
    text = ERROR_TEXTS.get(exc.code or 500, "出错了。")
    return render_template("console/error.html", code=exc.code, text=text), exc.code


def _busy_page(exc: Exception):
    """A console page whose database stayed held past its wait: 503 with a page saying so (nothing was changed)."""
    if not is_busy(exc):
        raise exc
    g.database_busy = True  # the page itself asks the database nothing more
    text = "系统繁忙，本次操作未能完成，请稍后再试。"
    return render_template("console/error.html", code=503, text=text), 503, {"Retry-After": "5"}


for _error in BUSY_ERRORS:
    bp.register_error_handler(_error, _busy_page)


def _csrf_error(exc: CSRFError):
    text = "页面已过期或表单校验未通过，请刷新页面后重新提交。"
    return render_template("console/error.html", code=400, text=text), 400


# Errors raised in a console view get the console's pages, though the public site handles the app's 404s.
for _code in ERROR_TEXTS:
    bp.register_error_handler(_code, _error_page)
bp.register_error_handler(CSRFError, _csrf_error)


@bp.route("/<path:path>", methods=["GET", "POST"])
@public  # it shows nothing but the 404 page
def unknown(path: str):
    """An address under /console/ that is no console page: the console's own 404 page, with its menu."""
    abort(404)


# Scripts only from the console itself (it has none inline), never framed, no plugins, forms posted to itself.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


@bp.after_request
def _headers(response):
    """Console pages carry personal data: never kept in a cache, never framed, never sniffed into another type."""
    response.headers.setdefault("Cache-Control", "no-store")
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    return response
