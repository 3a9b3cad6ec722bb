"""The instant every test starts at, on the app's one clock (`bot.clock`), and the helpers that move it.

A plain working Monday: 2026-11-30 10:00 in Shanghai, with no holiday in the next seven working days. The autouse
`clock` fixture (conftest.py) sets it before each test, ticking on from there, and puts the system clock back after;
a test that means another moment ("just after midnight in Shanghai", "three days later") says so with `at` or
`clock.advance`, never by waiting for the calendar to get there.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bot import clock

SHANGHAI = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 11, 30, 10, 0, tzinfo=SHANGHAI).astimezone(UTC)


def at(year: int, month: int, day: int, hour: int = 10, minute: int = 0, second: int = 0, *, tick: bool = True):
    """Set the app's clock to this wall-clock time in Shanghai; returns the instant (UTC)."""
    instant = datetime(year, month, day, hour, minute, second, tzinfo=SHANGHAI).astimezone(UTC)
    clock.set_now(instant, tick=tick)
    return instant
