"""Structured logging: one key=value line per request, job and command; personal data never logged."""

from __future__ import annotations

import logging
import time

from flask import Flask, g, request

from bot.privacy import mask_text


class MaskingFormatter(logging.Formatter):
    """A key=value formatter that masks any mobile number that slipped into a message."""

    def format(self, record: logging.LogRecord) -> str:
        return mask_text(super().format(record))


def init_app(app: Flask) -> None:
    """Configure the root logger once and log every request with its status and duration."""
    level = app.config["SETTINGS"]["app"]["log_level"]
    root = logging.getLogger()
    if not any(getattr(h, "_bot", False) for h in root.handlers):
        handler = logging.StreamHandler()
        handler._bot = True  # type: ignore[attr-defined]
        handler.setFormatter(MaskingFormatter("%(asctime)s level=%(levelname)s logger=%(name)s %(message)s"))
        root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # our jobs log their own one line

    @app.before_request
    def _start_timer() -> None:
        g.request_started = time.perf_counter()

    @app.after_request
    def _log_request(response):
        started = g.get("request_started")
        ms = (time.perf_counter() - started) * 1000 if started else -1
        # The path only: WeChat's query string carries the user's openid.
        logging.getLogger("bot.request").info(
            "method=%s path=%s status=%s ms=%.1f", request.method, request.path, response.status_code, ms
        )
        return response
