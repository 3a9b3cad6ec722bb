"""The one clock the app reads: every "now", "today" and epoch second in `bot/` and `notices/` comes from here.

In production it is the system clock. Tests (and nothing else) set it to a chosen instant with `set_now`, either
frozen or ticking from there, and move it with `advance`; every thread of the process sees the same time. Durations
measured with `time.monotonic()` / `perf_counter()` (timeouts, rates, request timings) do not come from here: they
measure how long something took, not what time it is.
"""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

# (the instant it was set to, time.monotonic() when it was set, whether it ticks), or None for the system clock.
_fixed: tuple[datetime, float, bool] | None = None


def utcnow() -> datetime:
    """The current time, timezone-aware (UTC); also the column default of every `created_at`-like column."""
    fixed = _fixed
    if fixed is None:
        return datetime.now(UTC)
    instant, set_at, ticks = fixed
    return instant + timedelta(seconds=time.monotonic() - set_at) if ticks else instant


def timestamp() -> int:
    """The current time in whole seconds since the epoch (WeChat's CreateTime and signature timestamps)."""
    return int(utcnow().timestamp())


def local_now(tz: ZoneInfo | str) -> datetime:
    """The current time in a time zone (the bureau's: `[app] timezone`)."""
    return utcnow().astimezone(tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz))


def today(tz: ZoneInfo | str) -> date:
    """Today's date in a time zone; a day begins at midnight there, whatever the machine's own zone."""
    return local_now(tz).date()


def set_now(instant: datetime, *, tick: bool = False) -> None:
    """Make `instant` (timezone-aware) the current time: frozen there, or running on from it when `tick`."""
    global _fixed
    if instant.tzinfo is None:
        raise ValueError("set_now needs a timezone-aware datetime")
    _fixed = (instant.astimezone(UTC), time.monotonic(), tick)


def advance(delta: timedelta) -> None:
    """Move a set clock forward (or back, with a negative delta), keeping whether it ticks."""
    if _fixed is None:
        raise RuntimeError("advance needs a clock set with set_now")
    set_now(utcnow() + delta, tick=_fixed[2])


def reset() -> None:
    """Back to the system clock."""
    global _fixed
    _fixed = None
