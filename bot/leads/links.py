"""The consumer's own lead page is reached only by a signed link: the lead's id and an expiry, with an HMAC under the
app's secret key (its own salt), valid for `[leads] page_link_days` days. Nothing else opens the page: no login, no
ticket number in the address. Time comes from bot.clock, so tests can age a link."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import timedelta

from flask import Flask

from bot import clock
from bot.config import AppSettings
from bot.leads.settings import LeadsSettings

SALT = b"bot.leads.page/v1"
SIG_BYTES = 16  # 128 bits: not guessable, and the address stays short enough for a chat message


def _key(app: Flask) -> bytes:
    return hmac.new(AppSettings.of(app).secret_key.encode(), SALT, hashlib.sha256).digest()


def _sig(app: Flask, body: str) -> str:
    digest = hmac.new(_key(app), body.encode(), hashlib.sha256).digest()[:SIG_BYTES]
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _b36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = digits[r] + out
        if n == 0:
            return out


def sign(app: Flask, lead_id: int) -> str:
    """A token for this lead's page, valid from now for `[leads] page_link_days` days."""
    days = LeadsSettings.of(app).page_link_days
    expires = int((clock.utcnow() + timedelta(days=days)).timestamp())
    body = f"{_b36(lead_id)}.{_b36(expires)}"
    return f"{body}.{_sig(app, body)}"


def verify(app: Flask, token: str) -> tuple[int, int] | None:
    """(lead id, expiry as epoch seconds) of a genuine token that has not expired; None for anything else."""
    parts = token.split(".") if isinstance(token, str) and len(token) <= 80 else []
    if len(parts) != 3:
        return None
    body = f"{parts[0]}.{parts[1]}"
    if not hmac.compare_digest(_sig(app, body), parts[2]):
        return None
    try:
        lead_id, expires = int(parts[0], 36), int(parts[1], 36)
    except ValueError:
        return None
    if expires <= clock.timestamp():
        return None
    return lead_id, expires


def page_url(app: Flask, lead_id: int) -> str:
    """The absolute address of the lead's page, with a fresh token."""
    return f"{AppSettings.of(app).public_url.rstrip('/')}/my/{sign(app, lead_id)}"
