"""The sandbox platform's building blocks: the endpoint registry, the call being answered, shared lookups."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.config import AppSettings, Settings
from bot.db import aware  # noqa: F401  (re-exported for this package's modules)
from bot.models import Follower

SERVICE_WINDOW = timedelta(hours=48)


class Fail(Exception):
    """Answer the call with the platform's error JSON {"errcode", "errmsg", ...extra}."""

    def __init__(self, errcode: int, errmsg: str, **extra: Any) -> None:
        super().__init__(errcode, errmsg)
        self.errcode, self.errmsg, self.extra = errcode, errmsg, extra

    def payload(self) -> dict:
        return {"errcode": self.errcode, "errmsg": self.errmsg, **self.extra}


@dataclass
class Call:
    """One API call being answered: what came in, and what to record beside the answer."""

    session: Session
    path: str
    args: dict[str, str]
    body: dict[str, Any]
    now: datetime
    settings: Settings
    call_id: int = 0
    openid: str | None = None
    note: str | None = None

    def local(self) -> datetime:
        """Now in the account's time zone (days and months of the mass-send budget are local)."""
        return self.now.astimezone(ZoneInfo(self.settings.get(AppSettings).timezone))


Answer = dict | Response
Handler = Callable[[Call], Answer]


@dataclass(frozen=True)
class Endpoint:
    """An API path the sandbox answers: its handler, HTTP method, channel (for the record) and token check."""

    handler: Handler
    method: str
    channel: str
    auth: bool


ENDPOINTS: dict[str, Endpoint] = {}


def endpoint(path: str, *, channel: str, method: str = "POST", auth: bool = True) -> Callable[[Handler], Handler]:
    """Register handler for /sandbox/api/cgi-bin/<path>."""

    def register(handler: Handler) -> Handler:
        ENDPOINTS[path] = Endpoint(handler, method, channel, auth)
        return handler

    return register


def follower(call: Call, openid: Any) -> Follower:
    """The follower with this openid (the account's users are the Follower rows); 40003 when there is none."""
    if not isinstance(openid, str) or not openid:
        raise Fail(40003, "invalid openid")
    row = call.session.execute(select(Follower).where(Follower.openid == openid)).scalar_one_or_none()
    if row is None:
        raise Fail(40003, "invalid openid")
    call.openid = openid
    return row
