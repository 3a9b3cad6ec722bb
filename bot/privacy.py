"""Personal data: encryption at rest (with key rotation), a keyed hash for matching, and masking.

Values are written as AES-256-GCM tokens (`gcm1.` + base64url of key id, nonce, ciphertext and tag) under a key
derived from the first `data_key`; Fernet tokens written before (`gAAAA...`) are still read and are moved to the new
form by `flask rotate-keys`. GCM is one call into OpenSSL, 2-3 µs for a reply against Fernet's 14-15 µs (HMAC-SHA256,
AES-CBC, padding and base64 driven from Python): the webhook stores one encrypted reply per message (bench/README.md).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re

from cryptography.exceptions import InvalidTag
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import Flask
from sqlalchemy import Text
from sqlalchemy.types import TypeDecorator

from bot import config
from bot.config import AppSettings, ConfigError

_keys: dict[str, object] = {}


def init_app(app: Flask) -> None:
    """Load the data keys: `[app] data_key` holds one or more comma-separated Fernet keys, newest first."""
    try:
        configure(AppSettings.of(app).data_key)
    except (ValueError, TypeError, IndexError):  # binascii.Error is a ValueError; IndexError: no key at all
        raise ConfigError(
            config.source(app),
            "[app] data_key",
            "is not a Fernet key (44 characters of URL-safe base64; make one with "
            '`python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"`)',
        ) from None


def configure(data_key: str) -> None:
    """Install the keys used by EncryptedText (the first encrypts, every one decrypts)."""
    keys = [k.strip() for k in data_key.split(",") if k.strip()]
    _keys["fernet"] = MultiFernet([Fernet(k.encode()) for k in keys])
    _keys["hmac"] = hashlib.sha256(("match:" + keys[0]).encode()).digest()
    ciphers = {}
    for key in keys:
        derived = hmac.new(base64.urlsafe_b64decode(key), b"bot.privacy aes-256-gcm v1", hashlib.sha256).digest()
        ciphers.setdefault(hashlib.sha256(derived).digest()[:4], AESGCM(derived))
    _keys["gcm"] = ciphers
    _keys["gcm_primary"] = next(iter(ciphers.items()))


GCM = "gcm1."  # the prefix of an AES-GCM token
FERNET = "gAAAAA"  # how every Fernet token begins (version byte 0x80 and a timestamp's leading zeros)


def is_token(value: str) -> bool:
    """Whether a stored value has the shape of an encrypted token (AES-GCM or Fernet), rather than clear text."""
    return value.startswith((GCM, FERNET))


def _fernet() -> MultiFernet:
    try:
        return _keys["fernet"]  # type: ignore[return-value]
    except KeyError:
        raise RuntimeError("personal-data keys are not configured (privacy.init_app)") from None


def encrypt(text: str) -> str:
    """Encrypt a string with the primary key (an AES-GCM token)."""
    try:
        kid, cipher = _keys["gcm_primary"]
    except KeyError:
        raise RuntimeError("personal-data keys are not configured (privacy.init_app)") from None
    nonce = os.urandom(12)
    sealed = cipher.encrypt(nonce, text.encode(), None)  # type: ignore[attr-defined]
    return GCM + base64.urlsafe_b64encode(kid + nonce + sealed).decode()  # type: ignore[operator]


def decrypt(token: str) -> str:
    """Decrypt a string written with any configured key (an AES-GCM or an older Fernet token)."""
    if not token.startswith(GCM):
        try:
            return _fernet().decrypt(token.encode()).decode()
        except InvalidToken:
            raise ValueError("personal data cannot be decrypted with the configured keys") from None
    try:
        raw = base64.urlsafe_b64decode(token[len(GCM) :])
        cipher = _keys["gcm"][raw[:4]]  # type: ignore[index]
        return cipher.decrypt(raw[4:16], raw[16:], None).decode()
    except KeyError:
        if "gcm" not in _keys:
            raise RuntimeError("personal-data keys are not configured (privacy.init_app)") from None
        raise ValueError("personal data cannot be decrypted with the configured keys") from None
    except (InvalidTag, ValueError):
        raise ValueError("personal data cannot be decrypted with the configured keys") from None


def rotate(token: str) -> str:
    """Re-encrypt a value under the primary key (used by key rotation); an older Fernet token moves to AES-GCM."""
    return encrypt(decrypt(token))


def to_fernet(token: str) -> str:
    """A value as a Fernet token under the primary key, the form releases before AES-GCM read (migration 0009's
    downgrade); a Fernet token is returned as it is."""
    if not token.startswith(GCM):
        return token
    return _fernet().encrypt(decrypt(token).encode()).decode()


def match_hash(text: str) -> str:
    """A keyed hash of a normalised value (a phone number, an address) to find related leads without decrypting."""
    norm = re.sub(r"\s+", "", text).lower()
    return hmac.new(_keys["hmac"], norm.encode(), hashlib.sha256).hexdigest()[:32]  # type: ignore[arg-type]


class EncryptedText(TypeDecorator):
    """A text column stored encrypted (see the module docstring); None stays None."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return None if value is None else encrypt(value)

    legacy_plain = False  # see LegacyEncryptedText

    def process_result_value(self, value, dialect):
        if value is None or (self.legacy_plain and not is_token(value)):
            return value
        return decrypt(value)


class LegacyEncryptedText(EncryptedText):
    """An encrypted column that was once stored in the clear: a value written in the clear (by a release still
    running while migration 0009 encrypted the column) is read as it is, until `flask rotate-keys` encrypts it."""

    cache_ok = True
    legacy_plain = True


# A mainland mobile number, also when written in groups (138 0013 8000, 138-0013-8000).
PHONE = re.compile(r"(?<!\d)(1[3-9]\d)[ \-]?(\d{4})[ \-]?(\d{4})(?!\d)")


def mask_phone(phone: str | None) -> str:
    """138****8000 for a mainland mobile number; other numbers keep only their last four digits."""
    if not phone:
        return ""
    digits = re.sub(r"\D", "", phone)
    if len(digits) == 11:
        return f"{digits[:3]}****{digits[-4:]}"
    return "*" * max(len(digits) - 4, 0) + digits[-4:]


def mask_text(text: str) -> str:
    """Mask every mainland mobile number inside free text (logs, notifications)."""
    return PHONE.sub(lambda m: f"{m.group(1)}****{m.group(3)}", text)


def mask_name(name: str | None) -> str:
    """张** for 张三丰: the family name only."""
    if not name:
        return ""
    return name[0] + "*" * (len(name) - 1)
