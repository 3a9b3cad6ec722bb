"""The platform's wire protocol: signatures, the replay window, the body limit, safe XML parsing and AES (safe mode).

Everything here refuses bad input with `Refused` (a 4xx status and a short reason) and never lets an exception
from hostile bytes escape as a 500.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import struct
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from typing import Any

from cryptography.hazmat.primitives import ciphers
from werkzeug.wsgi import get_content_length, get_input_stream

from bot import clock
from bot.wechat.messages import Incoming


class Refused(Exception):
    """A request we do not process: `status` is the 4xx answer, `reason` a short log-safe explanation."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


_NONCE = re.compile(r"[A-Za-z0-9_-]{1,64}")


def sign(*parts: str) -> str:
    """WeChat's signature: sha1 of the parts sorted and concatenated."""
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def check_signature(token: str, args: Mapping[str, str]) -> tuple[str, str]:
    """Verify `signature` over token/timestamp/nonce; return (timestamp, nonce)."""
    signature, timestamp, nonce = args.get("signature", ""), args.get("timestamp", ""), args.get("nonce", "")
    if not (signature and timestamp and nonce):
        raise Refused(400, "missing signature, timestamp or nonce")
    if not _NONCE.fullmatch(nonce) or len(timestamp) > 20:
        raise Refused(400, "malformed timestamp or nonce")
    if not hmac.compare_digest(sign(token, timestamp, nonce), signature.lower().encode("ascii", "replace").decode()):
        raise Refused(403, "bad signature")
    return timestamp, nonce


def check_timestamp(timestamp: str, window: int, now: float | None = None) -> int:
    """The request's time; refused when it is not an integer or further than `window` seconds from now."""
    if not timestamp.isascii() or not timestamp.isdigit():
        raise Refused(400, "timestamp is not a number")
    value = int(timestamp)
    if abs((now if now is not None else clock.timestamp()) - value) > window:
        raise Refused(403, "timestamp outside the replay window")
    return value


def read_body(environ: dict, limit: int) -> bytes:
    """The POST body of a WSGI request, refused with 413 when larger than `limit` (declared or actual).

    Never reads past the declared length (werkzeug's input stream bounds it, or ends a chunked body).
    """
    length = get_content_length(environ)
    if length is not None and length > limit:
        raise Refused(413, "body too large")
    data = get_input_stream(environ, max_content_length=None).read(limit + 1)
    if len(data) > limit:
        raise Refused(413, "body too large")
    return data


_DECLARATION = re.compile(r"<!\s*(?:DOCTYPE|ENTITY)", re.IGNORECASE)


def parse_xml(data: bytes | str) -> dict[str, Any]:
    """A WeChat XML document as a dict (leaves are strings); DTDs and entities are refused before parsing."""
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
    except UnicodeDecodeError:
        raise Refused(400, "body is not UTF-8") from None
    if _DECLARATION.search(text):
        raise Refused(400, "DOCTYPE or ENTITY declarations are not accepted")
    if not text.strip():
        raise Refused(400, "empty body")
    if text.count("<") > 2 * MAX_ELEMENTS:  # each element opens and closes: refused before any parsing
        raise Refused(400, "too many XML elements")
    try:
        # A str is fed to expat as UTF-8 whatever the XML declaration says, so the check above saw what expat sees.
        root = ET.fromstring(text)
    except ET.ParseError:
        raise Refused(400, "malformed XML") from None
    if root.tag != "xml":
        raise Refused(400, "the root element is not <xml>")
    return _element_dict(root)


MAX_DEPTH = 8  # WeChat's deepest payload (a mass-send report) nests 4 levels
MAX_ELEMENTS = 1000  # its largest (a mass-send report with its copyright-check list) has a few dozen


def _element_dict(element: ET.Element, depth: int = 1) -> dict[str, Any]:
    if depth > MAX_DEPTH:
        raise Refused(400, "XML nested too deeply")
    out: dict[str, Any] = {}
    for child in element:
        value: Any = _element_dict(child, depth + 1) if len(child) else (child.text or "")
        if child.tag in out:
            previous = out[child.tag]
            if isinstance(previous, list):
                previous.append(value)  # in place: a copy per repeat made many siblings cost quadratic time
            else:
                out[child.tag] = [previous, value]
        else:
            out[child.tag] = value
    return out


BLOCK = 32  # WeChat pads to 32-byte blocks (PKCS#7 with a 32-byte block), though AES's block is 16


class Cipher:
    """Safe mode for one account: verify msg_signature, decrypt (checking the AppID), encrypt and sign replies.

    WeChat's scheme: base64(AES-256-CBC(key, iv=key[:16], 16 random bytes + big-endian length + XML + AppID,
    padded to 32 bytes)). Written here on `cryptography` directly so that the AES key schedule is set up once per
    account rather than per message (bench/README.md); tests check it against Tencent's published vectors.
    """

    def __init__(self, token: str, encoding_aes_key: str, app_id: str) -> None:
        self.token, self.app_id = token, app_id
        self.key = base64.b64decode(encoding_aes_key + "=")
        if len(self.key) != 32:
            raise ValueError("encoding_aes_key must decode to 32 bytes")
        self._aes = ciphers.Cipher(ciphers.algorithms.AES(self.key), ciphers.modes.CBC(self.key[:16]))
        self._app_id = app_id.encode()

    def decrypt(self, encrypt: Any, msg_signature: str, timestamp: str, nonce: str) -> str:
        """The inner XML of an <Encrypt> element, after checking its signature and the AppID inside."""
        if not isinstance(encrypt, str) or not encrypt.strip():
            raise Refused(400, "no <Encrypt> element")
        if not msg_signature:
            raise Refused(400, "missing msg_signature")
        expected = sign(self.token, timestamp, nonce, encrypt)
        if not hmac.compare_digest(expected, msg_signature.lower().encode("ascii", "replace").decode()):
            raise Refused(403, "bad msg_signature")
        try:
            data = base64.b64decode(encrypt)
            if not data or len(data) % 16:
                raise ValueError("not whole AES blocks")
            decryptor = self._aes.decryptor()
            plain = decryptor.update(data) + decryptor.finalize()
            pad = plain[-1]
            if not 1 <= pad <= BLOCK or len(plain) < 20 + pad:
                raise ValueError("bad padding")
            content = plain[16:-pad]
            (length,) = struct.unpack(">I", content[:4])
            xml, app_id = content[4 : 4 + length], content[4 + length :]
            if len(xml) != length:
                raise ValueError("length beyond the content")
            text = xml.decode("utf-8")
        except Exception:  # base64, padding, length and UTF-8 errors: hostile bytes, whatever the exact kind
            raise Refused(400, "cannot decrypt the message") from None
        if app_id != self._app_id:
            raise Refused(403, "message is for another AppID (or another key)")
        return text

    def encrypt(self, xml: str, nonce: str, timestamp: str, random_prefix: str | None = None) -> str:
        """The encrypted, signed reply envelope for `xml`."""
        body = xml.encode()
        prefix = (random_prefix or secrets.token_hex(8)).encode()
        plain = b"".join((prefix, struct.pack(">I", len(body)), body, self._app_id))
        pad = BLOCK - len(plain) % BLOCK
        encryptor = self._aes.encryptor()
        sealed = encryptor.update(plain + bytes([pad]) * pad) + encryptor.finalize()
        encrypted = base64.b64encode(sealed).decode()
        signature = sign(self.token, timestamp, nonce, encrypted)
        return (
            f"<xml><Encrypt><![CDATA[{encrypted}]]></Encrypt><MsgSignature><![CDATA[{signature}]]></MsgSignature>"
            f"<TimeStamp>{timestamp}</TimeStamp><Nonce><![CDATA[{nonce}]]></Nonce></xml>"
        )


KNOWN_TYPES = frozenset({"text", "image", "voice", "video", "shortvideo", "location", "link", "event"})
KNOWN_EVENTS = frozenset(
    {"subscribe", "unsubscribe", "scan", "location", "click", "view", "templatesendjobfinish", "masssendjobfinish"}
)


def incoming(fields: Mapping[str, Any]) -> Incoming:
    """The Incoming of a parsed message; refused when the fields every message has are missing or malformed."""
    openid, msg_type = _leaf(fields, "FromUserName"), _leaf(fields, "MsgType").lower()
    if not openid or len(openid) > 64 or not msg_type or len(msg_type) > 32:
        raise Refused(400, "missing or malformed FromUserName or MsgType")
    event, key = _leaf(fields, "Event").lower(), _leaf(fields, "EventKey")
    if len(event) > 40:
        raise Refused(400, "malformed Event")
    if event in ("subscribe", "scan") and key.startswith("qrscene_"):
        key = key[len("qrscene_") :]
    msg_id = _leaf(fields, "MsgId") or _leaf(fields, "MsgID")
    created = _leaf(fields, "CreateTime")
    if len(msg_id) > 40 or (created and (not created.isascii() or not created.isdigit() or len(created) > 12)):
        raise Refused(400, "malformed MsgId or CreateTime")
    latitude = _number(fields, "Location_X" if msg_type == "location" else "Latitude")
    longitude = _number(fields, "Location_Y" if msg_type == "location" else "Longitude")
    return Incoming(
        openid=openid,
        type=msg_type,
        event=event,
        key=key,
        content=_leaf(fields, "Content") or _leaf(fields, "Recognition"),
        media_id=_leaf(fields, "MediaId"),
        pic_url=_leaf(fields, "PicUrl"),
        latitude=latitude,
        longitude=longitude,
        label=_leaf(fields, "Label"),
        msg_id=msg_id,
        create_time=int(created or 0),
        raw=dict(fields),
    )


def dedupe_key(msg: Incoming) -> str:
    """What makes a retry the same message: sender + MsgId, or for events sender + CreateTime + event + EventKey
    (two different menu taps within one second share their CreateTime; the key, hashed, tells them apart)."""
    if msg.type != "event" and msg.msg_id:
        return f"{msg.openid}:{msg.msg_id}"
    base = f"{msg.openid}:{msg.create_time}:{msg.event or msg.type}"
    return f"{base}:{hashlib.sha256(msg.key.encode()).hexdigest()[:16]}" if msg.key else base


def _leaf(fields: Mapping[str, Any], name: str) -> str:
    value = fields.get(name, "")
    return value.strip() if isinstance(value, str) else ""


def _number(fields: Mapping[str, Any], name: str) -> float | None:
    text = _leaf(fields, name)
    if not text:  # most messages carry no coordinates: no exception to raise and catch
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    return value if -360.0 <= value <= 360.0 else None
