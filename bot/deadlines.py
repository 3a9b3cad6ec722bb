"""Statutory deadlines on the Chinese calendar: working days with holidays and 调休, counted as Order 121 Art 45 says.

Art 45: the day a period starts is not counted (day 1 is the next working day, or the next calendar day for a limit
in days); when the last day of a period is a holiday, the period ends on the first working day after it.
`chinese_calendar` knows the State Council's holiday arrangements up to the year it was released; for a later year
the calendar falls back to Monday–Friday plus the holidays and 调休 working days listed in `[calendar]` in config.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar
from flask import Flask

log = logging.getLogger(__name__)


@dataclass
class WorkCalendar:
    """Which days are working days: chinese_calendar, then config's additions, then Monday–Friday."""

    extra_holidays: frozenset[date] = frozenset()
    extra_workdays: frozenset[date] = frozenset()
    adjusted_weekends_work: bool = True  # 调休 Saturdays/Sundays count as working days
    _warned: set[int] = field(default_factory=set)

    def is_workday(self, day: date) -> bool:
        """True when state bodies work on this day."""
        if day in self.extra_holidays:
            return False
        if day in self.extra_workdays:
            return True
        try:
            workday = chinese_calendar.is_workday(day)
        except NotImplementedError:
            if day.year not in self._warned:
                self._warned.add(day.year)
                log.warning(
                    "no holiday calendar for %s: counting Monday-Friday only; add the year's holidays "
                    "to [calendar] holidays / workdays in config.toml",
                    day.year,
                )
            return day.weekday() < 5
        if workday and day.weekday() >= 5 and not self.adjusted_weekends_work:
            return False
        return workday


DEFAULT = WorkCalendar()


def calendar_for(app: Flask) -> WorkCalendar:
    """The app's calendar, built once from `[calendar]` in config."""
    cal = app.extensions.get("work_calendar")
    if cal is None:
        settings = app.config["SETTINGS"].get("calendar", {})
        cal = WorkCalendar(
            frozenset(date.fromisoformat(d) for d in settings.get("holidays", [])),
            frozenset(date.fromisoformat(d) for d in settings.get("workdays", [])),
            settings.get("adjusted_weekends_work", True),
        )
        app.extensions["work_calendar"] = cal
    return cal


def add_working_days(start: date, n: int, cal: WorkCalendar | None = None) -> date:
    """The last day of a period of n working days that starts on `start` (which is not counted)."""
    cal = cal or DEFAULT
    day, counted = start, 0
    while counted < n:
        day += timedelta(days=1)
        if cal.is_workday(day):
            counted += 1
    return day


def add_days(start: date, n: int, cal: WorkCalendar | None = None) -> date:
    """The last day of a period of n calendar days from `start`; a last day off work moves to the next working day."""
    cal = cal or DEFAULT
    day = start + timedelta(days=n)
    while not cal.is_workday(day):
        day += timedelta(days=1)
    return day


def working_days_left(today: date, due: date, cal: WorkCalendar | None = None) -> int:
    """Working days from today until due: 0 on the last day, negative once overdue (working days past it)."""
    cal = cal or DEFAULT
    lo, hi, sign = (today, due, 1) if due >= today else (due, today, -1)
    count, day = 0, lo
    while day < hi:
        day += timedelta(days=1)
        if cal.is_workday(day):
            count += 1
    return sign * count


def today_local(app: Flask, now: datetime | None = None) -> date:
    """Today's date in the bureau's time zone ([app] timezone)."""
    tz = ZoneInfo(app.config["SETTINGS"]["app"]["timezone"])
    return (now or datetime.now(tz)).astimezone(tz).date()
