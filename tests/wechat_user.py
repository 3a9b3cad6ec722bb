"""A stand-in for WeChat's servers in tests: signs (and in safe mode encrypts) XML and POSTs it to /wechat.

It talks to a Flask test client or to a real server URL, and decodes (and in safe mode verifies and decrypts) the
reply. Signing and AES come from wechatpy's own WeChatCrypto, not from the app's code under test.
"""

from __future__ import annotations

import hashlib
import http.client
import itertools
import random
import re
import urllib.parse
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from wechatpy.crypto import WeChatCrypto

from bot import clock

SAMPLES = Path("/work/shared/wechat-samples")
_ids = itertools.count(random.randrange(10**15, 9 * 10**15))


def signature(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def new_id() -> str:
    return str(next(_ids))


def new_nonce() -> str:
    return str(random.randrange(10**9, 10**10)) + str(next(_ids))[-6:]


@dataclass
class Result:
    """What the app answered: HTTP status, raw body, and the reply's fields ({} for `success` or a refusal)."""

    status: int
    body: str
    reply: dict = field(default_factory=dict)

    @property
    def content(self) -> str:
        return self.reply.get("Content", "")


def text_xml(openid: str, content: str, msg_id: str | None = None, to: str = "gh_test") -> str:
    return (
        f"<xml><ToUserName><![CDATA[{to}]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{clock.timestamp()}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id or new_id()}</MsgId></xml>"
    )


def event_xml(openid: str, event: str, key: str | None = None, create_time: int | None = None) -> str:
    key_xml = f"<EventKey><![CDATA[{key}]]></EventKey>" if key is not None else ""
    return (
        f"<xml><ToUserName><![CDATA[gh_test]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{create_time or clock.timestamp()}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
        f"<Event><![CDATA[{event}]]></Event>{key_xml}</xml>"
    )


def sample(name: str, openid: str | None = None) -> str:
    """A published sample with a fresh sender, CreateTime and MsgId, so each POST is a distinct message."""
    xml = (SAMPLES / "messages" / name).read_text(encoding="utf-8")
    xml = re.sub(
        r"<FromUserName>.*?</FromUserName>",
        f"<FromUserName><![CDATA[{openid or 'o' + new_id()}]]></FromUserName>",
        xml,
        flags=re.S,
    )
    xml = re.sub(r"<CreateTime>\d+</CreateTime>", f"<CreateTime>{clock.timestamp()}</CreateTime>", xml)
    return re.sub(r"<(MsgId|MsgID)>\d+</(MsgId|MsgID)>", lambda m: f"<{m[1]}>{new_id()}</{m[1]}>", xml)


def parse(xml: str) -> dict:
    root = ET.fromstring(xml)
    out = {}
    for child in root.iter():
        if child is not root and len(child) == 0:
            out.setdefault(child.tag, child.text or "")
    return out


class WeChat:
    """WeChat's side of the webhook for one account (plain mode when aes_key is empty)."""

    def __init__(self, target, token: str, app_id: str, aes_key: str = "") -> None:
        self.target, self.token, self.app_id, self.aes_key = target, token, app_id, aes_key
        self.crypto = WeChatCrypto(token, aes_key, app_id) if aes_key else None

    def query(self, timestamp: str | None = None, nonce: str | None = None, **extra: str) -> dict[str, str]:
        timestamp = timestamp or str(clock.timestamp())
        nonce = nonce or new_nonce()
        q = {"signature": signature(self.token, timestamp, nonce), "timestamp": timestamp, "nonce": nonce}
        q["openid"] = "oQueryOpenid"
        return {**q, **extra}

    def envelope(self, xml: str, query: dict[str, str]) -> tuple[str, dict[str, str]]:
        """The body and query WeChat would send for `xml` (encrypted and msg_signed in safe mode)."""
        if self.crypto is None:
            return xml, query
        sealed = parse(self.crypto.encrypt_message(xml, query["nonce"], query["timestamp"]))
        encrypt = sealed["Encrypt"]
        body = f"<xml><ToUserName><![CDATA[gh_test]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
        msg_sig = signature(self.token, query["timestamp"], query["nonce"], encrypt)
        return body, {**query, "encrypt_type": "aes", "msg_signature": msg_sig}

    def post(self, xml: str, query: dict[str, str] | None = None, *, raw: bool = False) -> Result:
        """Send `xml` as WeChat would (raw=True: send the body and query exactly as given)."""
        query = self.query() if query is None else query
        body, query = (xml, query) if raw else self.envelope(xml, query)
        status, text = self.send("POST", query, body.encode())
        return Result(status, text, self.decode(text, query) if status == 200 else {})

    def decode(self, text: str, query: dict[str, str]) -> dict:
        if text == "success":
            return {}
        if self.crypto is None:
            return parse(text)
        sealed = parse(text)
        assert sealed["Nonce"] == query["nonce"]
        return parse(self.crypto.decrypt_message(text, sealed["MsgSignature"], sealed["TimeStamp"], sealed["Nonce"]))

    def send(self, method: str, query: dict[str, str], body: bytes = b"", headers: dict | None = None):
        path = "/wechat?" + urllib.parse.urlencode(query)
        if isinstance(self.target, str):
            return self._send_http(method, path, body, headers or {})
        response = self.target.open(path, method=method, data=body, content_type="text/xml", headers=headers)
        return response.status_code, response.get_data(as_text=True)

    def _send_http(self, method: str, path: str, body: bytes, headers: dict):
        host, port = urllib.parse.urlsplit(self.target).netloc.split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        try:
            conn.request(method, path, body=body, headers={"Content-Type": "text/xml", **headers})
            response = conn.getresponse()
            return response.status, response.read().decode()
        finally:
            conn.close()

    def text(self, openid: str, content: str, msg_id: str | None = None) -> Result:
        return self.post(text_xml(openid, content, msg_id))

    def event(self, openid: str, event: str, key: str | None = None, create_time: int | None = None) -> Result:
        return self.post(event_xml(openid, event, key, create_time))


# ---------------------------------------------------------------- apps and servers for the webhook tests

AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
TOKEN, APP_ID = "test-token", "wxtestappid0000001"


def recorded(app) -> None:
    """Write now what the webhook writes after its answer (bot/db/later.py): the records of messages without effect."""
    app.extensions["webhook"].inbox.later.flush()


def make_wechat(db_url: str, mode: str, **sections: dict) -> WeChat:
    """An app in plain or safe mode on db_url, and WeChat's side talking to it through the Flask test client."""
    from bot import create_app
    from tests.conftest import make_config

    key = AES_KEY if mode == "safe" else ""
    wechat = {"encoding_aes_key": key, **sections.pop("wechat", {})}
    app = create_app(make_config(db_url, wechat=wechat, **sections))
    wx = WeChat(app.test_client(), TOKEN, APP_ID, key)
    wx.app = app
    return wx


def help_reply(app, text: str) -> str:
    """What the bot says when nothing answers: the help (with a search link) to a menu key it does not know, and to
    a text or recognised voice that no notice answers, "not found" with the complaint route (in another language:
    that the account answers in Chinese)."""
    from bot.notice_replies import unanswered
    from bot.wechat.replies import phrase, search_url

    return unanswered(app, text) if text else phrase(app, "help", search=search_url(app, text))
