"""Build signed WeChat webhook requests in advance, as WeChat would send them, in plain or safe mode."""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from urllib.parse import urlencode

from wechatpy.crypto import WeChatCrypto

TEXT = (
    "<xml><ToUserName><![CDATA[gh_bench]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
    "<CreateTime>{ts}</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[{text}]]></Content>"
    "<MsgId>{msgid}</MsgId></xml>"
)


def sign(*parts: str) -> str:
    """WeChat's signature: sha1 of the sorted parts joined."""
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def text_request(cfg: dict, openid: str, text: str, msgid: int, *, safe: bool) -> dict:
    """One POST /wechat carrying a text message, with a fresh nonce and the current timestamp."""
    ts, nonce = str(int(time.time())), secrets.token_hex(8)
    xml = TEXT.format(openid=openid, ts=ts, text=text, msgid=msgid)
    query = {"signature": sign(cfg["token"], ts, nonce), "timestamp": ts, "nonce": nonce, "openid": openid}
    body = xml
    if safe:
        crypto = WeChatCrypto(cfg["token"], cfg["encoding_aes_key"], cfg["app_id"])
        encrypted = crypto.encrypt_message(xml, nonce, ts)  # the reply envelope; we need its Encrypt
        enc = encrypted.split("<Encrypt><![CDATA[")[1].split("]]></Encrypt>")[0]
        body = f"<xml><ToUserName><![CDATA[gh_bench]]></ToUserName><Encrypt><![CDATA[{enc}]]></Encrypt></xml>"
        query.update(encrypt_type="aes", msg_signature=sign(cfg["token"], ts, nonce, enc))
    return {
        "method": "POST",
        "path": "/wechat?" + urlencode(query),
        "headers": {"Content-Type": "text/xml"},
        "body": body,
        "expect": openid,
    }


def get_request(path: str) -> dict:
    """One GET of a public page."""
    return {"method": "GET", "path": path, "headers": {}, "body": ""}


def write(path: str, requests: list[dict]) -> None:
    """Write requests as JSON lines for bench/loadgen.py."""
    with open(path, "w", encoding="utf-8") as fh:
        for req in requests:
            fh.write(json.dumps(req, ensure_ascii=False) + "\n")
