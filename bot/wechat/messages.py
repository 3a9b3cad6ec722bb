"""What handlers see and return: an inbound message or event, and the passive replies."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask
    from sqlalchemy.orm import Session


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


@dataclass
class Context:
    """Everything a handler needs: the message, the request's database session, the app and the time."""

    msg: Incoming
    session: Session
    app: Flask
    now: datetime
    # Whether the sender is in a dialogue, when the webhook already knows it (from the follower upsert); None: unknown.
    in_dialogue: bool | None = None
