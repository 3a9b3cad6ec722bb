"""Passwords (argon2), the sign-in limits (per name and address, per address, per name), the session's fingerprint.

The limits follow what trusted systems do so that nobody can lock someone else out: failures are counted per
(name, address), per address and per name. A name is locked only for the address its failures came from; an address
that fails too often is refused for every name; a name guessed at from many addresses is slowed to one try per
`name_throttle_seconds`, never locked. Names that are no account are counted and answered exactly like accounts, and
cost the same argon2 verification, so that nothing tells which names exist.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from bot.console.settings import ConsoleSettings
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
    """The sign-in limits ([console] in config)."""

    attempts: int  # failures of one name from one address before that pair is locked
    minutes: int  # how long a lock lasts, and the window the per-address counters count in
    address_attempts: int  # failures from one address, any name, before that address is refused
    name_attempts: int = 50  # failures of one name from anywhere within NAME_WINDOW before it is slowed down
    throttle_seconds: int = 60  # then: one try of that name per this many seconds

    @classmethod
    def of(cls, settings: ConsoleSettings) -> Limits:
        return cls(
            settings.lockout_attempts,
            settings.lockout_minutes,
            settings.address_attempts,
            settings.name_attempts,
            settings.name_throttle_seconds,
        )


NAME_WINDOW = timedelta(hours=24)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _keys(username: str, address: str) -> dict[str, str]:
    """The key_value counters of a sign-in: the address, the (name, address) pair, the name, the name's throttle.
    A name is kept only as a hash (a password typed into the name field is never stored)."""
    name = _digest(username.strip())
    return {
        "address": f"console-fail:{address}",
        "pair": f"console-fail-pair:{name}:{_digest(address)}",
        "name": f"console-fail-name:{name}",
        "throttle": f"console-throttle:{name}",
    }


def _live(s: Session, key: str, now: datetime) -> KeyValue | None:
    row = s.get(KeyValue, key)
    return row if row is not None and aware(row.expires_at) > now else None


@dataclass
class Refusal:
    """Why a sign-in is not even tried: which limit, and the wait."""

    kind: str  # "address", "pair" or "throttle"
    minutes: int = 0
    seconds: int = 0


def refusal(s: Session, username: str, address: str, limits: Limits) -> Refusal | None:
    """The limit this sign-in runs into before its password is looked at, or None. The same for every name,
    an account's or not, so that the answers never tell which names exist."""
    now, keys = utcnow(), _keys(username, address)
    row = _live(s, keys["address"], now)
    if row is not None and int(row.value or 0) >= limits.address_attempts:
        return Refusal("address", minutes=minutes_until(aware(row.expires_at), now))
    row = _live(s, keys["pair"], now)
    if row is not None and int(row.value or 0) >= limits.attempts:
        return Refusal("pair", minutes=minutes_until(aware(row.expires_at), now))
    row = _live(s, keys["throttle"], now)
    if row is not None:
        return Refusal("throttle", seconds=max(1, math.ceil((aware(row.expires_at) - now).total_seconds())))
    return None


def _count(s: Session, key: str, now: datetime, window: timedelta) -> KeyValue:
    """One more failure on a key_value counter that starts again after `window`."""
    row = s.get(KeyValue, key)
    if row is None:
        row = KeyValue(key=key, value="0", expires_at=now + window)
        s.add(row)
    elif aware(row.expires_at) <= now:
        row.value, row.expires_at = "0", now + window
    row.value = str(int(row.value or 0) + 1)
    return row


def record_failure(s: Session, username: str, address: str, limits: Limits) -> int | None:
    """Count a failed sign-in against the address, the (name, address) pair and the name (the same writes for a
    name that is no account); the minutes of the pair's lock it starts, or None."""
    now, keys = utcnow(), _keys(username, address)
    window = timedelta(minutes=limits.minutes)
    _count(s, keys["address"], now, window)
    named = _count(s, keys["name"], now, NAME_WINDOW)
    if int(named.value) >= limits.name_attempts:  # guessed at from everywhere: slowed down, never locked
        throttle = s.get(KeyValue, keys["throttle"]) or KeyValue(key=keys["throttle"], value="1")
        throttle.expires_at = now + timedelta(seconds=limits.throttle_seconds)
        s.add(throttle)
    pair = _count(s, keys["pair"], now, window)
    if int(pair.value) >= limits.attempts:
        pair.expires_at = now + window  # the lock lasts its full time from the last failure
        return limits.minutes
    return None


def record_success(s: Session, user: StaffUser, address: str) -> None:
    """A good sign-in clears its (name, address) counter; the address's and the name's keep counting."""
    row = s.get(KeyValue, _keys(user.username, address)["pair"])
    if row is not None:
        s.delete(row)


def clear_lockout(s: Session, username: str) -> None:
    """Lift every lock and throttle of a name (a new password, an account enabled again)."""
    keys = _keys(username, "")
    pair_prefix = keys["pair"].rsplit(":", 1)[0] + ":"
    s.execute(
        delete(KeyValue).where(
            or_(KeyValue.key.in_([keys["name"], keys["throttle"]]), KeyValue.key.startswith(pair_prefix))
        )
    )


def locked_names(s: Session, usernames: list[str], limits: Limits) -> set[str]:
    """Of these names, those locked for some address or slowed down right now (for the accounts page)."""
    now, by_digest = utcnow(), {_digest(u.strip()): u for u in usernames}
    rows = s.execute(
        select(KeyValue.key, KeyValue.value).where(
            or_(KeyValue.key.startswith("console-fail-pair:"), KeyValue.key.startswith("console-throttle:")),
            KeyValue.expires_at > now,
        )
    )
    found = set()
    for key, value in rows:
        digest = key.split(":")[1]
        if digest in by_digest and (key.startswith("console-throttle:") or int(value or 0) >= limits.attempts):
            found.add(by_digest[digest])
    return found


def find_user(s: Session, username: str) -> StaffUser | None:
    """The account with this user name, or None."""
    return s.scalar(select(StaffUser).where(StaffUser.username == username.strip()))
