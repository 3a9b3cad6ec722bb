"""Passwords (argon2), the sign-in lockout per account and per address, and the session's idle clock."""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.db import aware, utcnow
from bot.models import KeyValue, StaffUser

_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("an unused password that keeps unknown names as slow as known ones")
MIN_PASSWORD = 10


def hash_password(password: str) -> str:
    """An argon2id hash of the password."""
    return _hasher.hash(password)


def check_password(user: StaffUser | None, password: str) -> bool:
    """True when the password matches; an unknown user costs the same time as a known one."""
    try:
        return _hasher.verify(user.password_hash if user else _DUMMY_HASH, password) and user is not None
    except (VerificationError, InvalidHashError):
        return False


def password_problem(password: str, again: str) -> str | None:
    """Why a new password cannot be used, or None."""
    if password != again:
        return "两次输入的密码不一致。"
    if len(password) < MIN_PASSWORD:
        return f"密码至少需要 {MIN_PASSWORD} 个字符。"
    return None


def fingerprint(user: StaffUser) -> str:
    """A short value kept in the session: a changed password or a disabled account ends existing sessions."""
    return hashlib.sha256(f"{user.id}:{user.password_hash}:{user.disabled}".encode()).hexdigest()[:16]


def minutes_until(moment: datetime, now: datetime) -> int:
    """Whole minutes (at least 1) from now until moment."""
    return max(1, math.ceil((moment - now).total_seconds() / 60))


@dataclass
class Limits:
    """The lockout settings ([console] in config)."""

    attempts: int
    minutes: int
    address_attempts: int


def address_wait(s: Session, address: str, limits: Limits) -> int | None:
    """Minutes this address must wait before trying again, or None if it may try."""
    row = s.get(KeyValue, f"console-fail:{address}")
    now = utcnow()
    if row is None or aware(row.expires_at) <= now or int(row.value or 0) < limits.address_attempts:
        return None
    return minutes_until(aware(row.expires_at), now)


def _name_key(username: str) -> str:
    return "console-fail-name:" + hashlib.sha256(username.strip().encode()).hexdigest()[:32]


def account_wait(s: Session, user: StaffUser | None, username: str, limits: Limits) -> int | None:
    """Minutes a locked name must wait, or None. A name that is no account locks the same way as one that is, so
    that the answers never tell which names exist."""
    now = utcnow()
    if user is not None:
        locked = aware(user.locked_until)
        return minutes_until(locked, now) if locked and locked > now else None
    row = s.get(KeyValue, _name_key(username))
    if row is None or aware(row.expires_at) <= now or int(row.value or 0) < limits.attempts:
        return None
    return minutes_until(aware(row.expires_at), now)


def _count(s: Session, key: str, now: datetime, minutes: int) -> KeyValue:
    """One more failure on a key_value counter that starts again after `minutes`."""
    row = s.get(KeyValue, key)
    if row is None:
        row = KeyValue(key=key, value="0", expires_at=now + timedelta(minutes=minutes))
        s.add(row)
    elif aware(row.expires_at) <= now:
        row.value, row.expires_at = "0", now + timedelta(minutes=minutes)
    row.value = str(int(row.value or 0) + 1)
    return row


def record_failure(s: Session, user: StaffUser | None, address: str, limits: Limits, username: str = "") -> int | None:
    """Count a failed sign-in against the name (an account or not) and the address; the minutes of a lockout it
    starts, or None."""
    now = utcnow()
    _count(s, f"console-fail:{address}", now, limits.minutes)
    if user is None:
        named = _count(s, _name_key(username), now, limits.minutes)
        if int(named.value) >= limits.attempts:
            named.expires_at = now + timedelta(minutes=limits.minutes)
            return limits.minutes
        return None
    user.failed_logins = (user.failed_logins or 0) + 1
    if user.failed_logins >= limits.attempts:
        user.failed_logins = 0
        user.locked_until = now + timedelta(minutes=limits.minutes)
        return limits.minutes
    return None


def record_success(user: StaffUser) -> None:
    """A good sign-in clears the account's failure count."""
    user.failed_logins = 0
    user.locked_until = None


def find_user(s: Session, username: str) -> StaffUser | None:
    """The account with this user name, or None."""
    return s.scalar(select(StaffUser).where(StaffUser.username == username.strip()))
