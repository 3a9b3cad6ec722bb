"""The sandbox user's side of the wire: WeChat's XML for each action, signed (and in safe mode encrypted), POSTed to
/wechat, and the passive reply read back.

Delivery is an in-process WSGI call (werkzeug's Client on the app itself), not an HTTP round-trip to `[app]
public_url`: the page's own request would otherwise wait on a second request to the same server, which deadlocks a
single-worker server (gunicorn's sync worker, `flask run --without-threads`) and needs the server to reach itself.
The call still goes through the whole WSGI stack with WeChat's query, headers and body, so every check of the
webhook runs. It runs in a fresh app context (its own `g`, so its own database session), and the caller must hold
no open transaction: on SQLite every transaction takes the write lock, which the webhook's would wait for.
"""

from __future__ import annotations

import hashlib
import secrets
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from urllib.parse import urlencode

from flask import Flask
from wechatpy.crypto import WeChatCrypto
from werkzeug.test import Client

from bot import clock
from bot.wechat.render import cdata
from bot.wechat.settings import WechatSettings

# What WeChat's servers send with each POST (their User-Agent; the body is XML).
HEADERS = {"User-Agent": "Mozilla/4.0", "Accept": "*/*", "Pragma": "no-cache"}
ACCOUNT = "gh_sandbox0000"  # the account's original id (原始ID), as ToUserName


@dataclass
class Delivery:
    """What /wechat answered: HTTP status, the raw body, and the reply's fields ({} for `success` or a refusal)."""

    status: int
    body: str
    reply: dict[str, str] = field(default_factory=dict)

    @property
    def refused(self) -> bool:
        return self.status != 200


def new_msg_id() -> str:
    """A 64-bit MsgId like the platform's."""
    return str(secrets.randbelow(9 * 10**18) + 10**18)


def _xml(openid: str, msg_type: str, fields: list[tuple[str, str, bool]]) -> str:
    head = (
        f"<xml><ToUserName>{cdata(ACCOUNT)}</ToUserName><FromUserName>{cdata(openid)}</FromUserName>"
        f"<CreateTime>{clock.timestamp()}</CreateTime><MsgType>{cdata(msg_type)}</MsgType>"
    )
    body = "".join(f"<{name}>{cdata(value) if quoted else value}</{name}>" for name, value, quoted in fields)
    return head + body + "</xml>"


def text_xml(openid: str, content: str) -> str:
    """A text message."""
    return _xml(openid, "text", [("Content", content, True), ("MsgId", new_msg_id(), False)])


def image_xml(openid: str, pic_url: str, media_id: str) -> str:
    """A photo: where it can be fetched (PicUrl) and the media_id that media/get serves."""
    fields = [("PicUrl", pic_url, True), ("MsgId", new_msg_id(), False), ("MediaId", media_id, True)]
    return _xml(openid, "image", fields)


def location_xml(openid: str, lat: float, lon: float, label: str, scale: int = 15) -> str:
    """A location shared from the chat's 位置 picker (Location_X is the latitude)."""
    fields = [
        ("Location_X", f"{lat:.6f}", False),
        ("Location_Y", f"{lon:.6f}", False),
        ("Scale", str(scale), False),
        ("Label", label, True),
        ("MsgId", new_msg_id(), False),
    ]
    return _xml(openid, "location", fields)


def event_xml(openid: str, event: str, key: str | None = None) -> str:
    """An event: subscribe, unsubscribe, CLICK (key = the menu key) or VIEW (key = the URL)."""
    fields = [("Event", event, True)] + ([("EventKey", key, True)] if key is not None else [])
    return _xml(openid, "event", fields)


def _signature(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


class Wire:
    """WeChat's servers for one app: sign, seal, deliver to /wechat in-process, open the reply."""

    def __init__(self, app: Flask) -> None:
        wechat = WechatSettings.of(app)
        self.app, self.token = app, wechat.token
        key = wechat.encoding_aes_key
        # wechatpy's own crypto, not the webhook's: the two sides must agree without sharing code.
        self.crypto = WeChatCrypto(wechat.token, key, wechat.app_id) if key else None

    def envelope(self, xml: str, openid: str) -> tuple[dict[str, str], str]:
        """The query and body WeChat sends for `xml`: plain, or encrypted with msg_signature in safe mode."""
        timestamp, nonce = str(clock.timestamp()), str(secrets.randbelow(9 * 10**9) + 10**9)
        query = {"signature": _signature(self.token, timestamp, nonce), "timestamp": timestamp, "nonce": nonce}
        query["openid"] = openid
        if self.crypto is None:
            return query, xml
        sealed = ET.fromstring(self.crypto.encrypt_message(xml, nonce, timestamp))
        encrypt = sealed.findtext("Encrypt") or ""
        query.update(encrypt_type="aes", msg_signature=_signature(self.token, timestamp, nonce, encrypt))
        body = f"<xml><ToUserName>{cdata(ACCOUNT)}</ToUserName><Encrypt>{cdata(encrypt)}</Encrypt></xml>"
        return query, body

    def deliver(self, xml: str, openid: str) -> Delivery:
        """POST one message to /wechat as WeChat does and read the passive reply."""
        query, body = self.envelope(xml, openid)
        with self.app.app_context():  # a fresh context: the webhook gets its own g and database session
            response = Client(self.app).post(
                "/wechat?" + urlencode(query),
                data=body.encode(),
                headers={**HEADERS, "Content-Type": "text/xml"},
                environ_base={"REMOTE_ADDR": "127.0.0.1"},
            )
        text = response.get_data(as_text=True)
        if response.status_code != 200 or text.strip() in ("", "success"):
            return Delivery(response.status_code, text)
        return Delivery(200, text, self.open(text))

    def open(self, text: str) -> dict[str, str]:
        """The reply's fields, verified and decrypted in safe mode (wechatpy checks the signature)."""
        if self.crypto is not None:
            root = ET.fromstring(text)
            text = self.crypto.decrypt_message(
                text, root.findtext("MsgSignature"), root.findtext("TimeStamp"), root.findtext("Nonce")
            )
        root = ET.fromstring(text)
        return {child.tag: (child.text or "") for child in root.iter() if child is not root and len(child) == 0}
