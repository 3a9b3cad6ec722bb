"""Small helpers for reading query strings and forms safely (bad input is ignored, never a 500)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from flask import current_app

from bot.config import AppSettings


def parse_date(text: str | None) -> date | None:
    """A date from YYYY-MM-DD, or None for anything else."""
    try:
        return date.fromisoformat((text or "").strip())
    except ValueError:
        return None


def parse_int(text: str | None, default: int = 1, lo: int = 1, hi: int = 1_000_000) -> int:
    """A bounded integer from text, or the default."""
    try:
        return min(hi, max(lo, int((text or "").strip())))
    except ValueError:
        return default


def day_start_utc(day: date) -> datetime:
    """Midnight of a local day (the bureau's time zone) as a UTC time, for comparing with stored times."""
    tz = ZoneInfo(AppSettings.of(current_app).timezone)
    return datetime.combine(day, time.min, tz).astimezone(UTC)


def local_time(moment: datetime | None) -> str:
    """A stored time shown in the bureau's time zone, e.g. 2026-05-01 09:30."""
    if moment is None:
        return ""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    tz = ZoneInfo(AppSettings.of(current_app).timezone)
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M")
