"""What handlers see and return: an inbound message or event, and the passive replies."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask
    from sqlalchemy import Connection
    from sqlalchemy.orm import Session

    from bot.db.statements import Prepared


@dataclass(frozen=True)
class Incoming:
    """One message or event from a user, parsed from WeChat's XML (field names are WeChat's, snake-cased)."""

    openid: str
    type: str  # text | image | voice | video | shortvideo | location | link | event
    event: str = ""  # for type == "event", lower-case: subscribe, unsubscribe, scan, location, click, view, ...
    key: str = ""  # EventKey: the menu key of a CLICK, the URL of a VIEW, the scene of a QR code (qrscene_ removed)
    content: str = ""  # text Content, or a voice message's Recognition
    media_id: str = ""
    pic_url: str = ""
    latitude: float | None = None
    longitude: float | None = None
    label: str = ""  # a location message's Label (the address the user picked)
    msg_id: str = ""
    create_time: int = 0
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def text(self) -> str:
        """The user's words, stripped (empty for anything that is not text or recognised voice)."""
        return self.content.strip()


@dataclass(frozen=True)
class TextReply:
    content: str


@dataclass(frozen=True)
class NewsReply:
    """A one-article news card (the platform's limit for a reply to a user's message)."""

    title: str
    description: str
    url: str
    image: str = ""


@dataclass(frozen=True)
class ImageReply:
    media_id: str


Reply = TextReply | NewsReply | ImageReply | None  # None: answer "success" (nothing shown)


class Context:
    """Everything a handler needs: the message, a database session, the app and the time.

    The webhook opens the session only when a handler first asks for it (`opener`), joined to the transaction that
    already holds the message's claims; a keyword reply never pays for one.
    """

    __slots__ = ("_conn", "_opener", "_session", "app", "in_dialogue", "msg", "now")

    def __init__(
        self,
        msg: Incoming,
        session: Session | None,
        app: Flask,
        now: datetime,
        in_dialogue: bool | None = None,
        *,
        opener: Callable[[], Session] | None = None,
        conn: Connection | None = None,
    ) -> None:
        self.msg, self.app, self.now = msg, app, now
        # Whether the sender is in a dialogue, when the webhook knows it (from the follower upsert); None: unknown.
        self.in_dialogue = in_dialogue
        self._session, self._opener = session, opener
        self._conn = conn  # the webhook's Connection, in the message's transaction (never handed out)

    @property
    def session(self) -> Session:
        """The database session (opened on first use when the context was given an opener)."""
        if self._session is None:
            if self._opener is None:
                raise RuntimeError("this context has no database session")
            self._session = self._opener()
        return self._session

    @property
    def session_opened(self) -> bool:
        return self._session is not None

    def run(self, statement: Prepared, **params: Any) -> tuple | None:
        """A precompiled statement in the message's transaction; its first row or None. Through the session when
        one is open (its pending ORM work goes first), else straight on the webhook's connection: a Session opened
        for one INSERT costs more than the INSERT (bench/README.md, "Before and after": opening a dialogue)."""
        if self._conn is None or self._session is not None:
            return statement.first(self.session, **params)
        return statement.run(self._conn, **params)
