"""The app's one clock: what every "now" and "today" reads, set and moved by tests, the day taken in Shanghai."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta

import pytest

from bot.leads import deadlines
from tests.timekeeping import SHANGHAI, START, at


def test_every_test_starts_on_the_same_monday(clock):
    assert clock.utcnow() - START < timedelta(seconds=30)
    assert clock.today(SHANGHAI) == date(2026, 11, 30) and clock.local_now(SHANGHAI).hour == 10


def test_a_frozen_clock_stands_still_and_moves_only_when_told(clock):
    instant = at(2026, 12, 31, 23, 59, 59, tick=False)
    time.sleep(0.01)
    assert clock.utcnow() == instant and clock.timestamp() == int(instant.timestamp())
    clock.advance(timedelta(seconds=1))
    assert clock.utcnow() == instant + timedelta(seconds=1)


def test_a_ticking_clock_runs_on_from_where_it_was_set(clock):
    instant = at(2027, 2, 10)
    time.sleep(0.02)
    assert timedelta(seconds=0.02) <= clock.utcnow() - instant < timedelta(seconds=5)


def test_the_day_and_the_year_turn_at_midnight_in_shanghai_not_in_utc(app, clock):
    at(2026, 12, 31, 23, 59, 59, tick=False)  # 15:59:59 UTC
    assert deadlines.today_local(app) == date(2026, 12, 31)
    clock.advance(timedelta(seconds=1))  # 16:00 UTC, still 12-31 in UTC
    assert clock.utcnow().date() == date(2026, 12, 31)
    assert deadlines.today_local(app) == date(2027, 1, 1)


def test_set_now_refuses_a_naive_time(clock):
    with pytest.raises(ValueError, match="timezone-aware"):
        clock.set_now(datetime(2026, 11, 30, 10, 0))


def test_reset_gives_the_system_clock_back(clock):
    clock.reset()
    assert abs(clock.utcnow() - datetime.now(UTC)) < timedelta(seconds=1)
