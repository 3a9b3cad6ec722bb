"""Statutory deadlines on the Chinese calendar: working days with holidays and 调休, counted as Order 121 Art 45 says.

Art 45: the day a period starts is not counted (day 1 is the next working day, or the next calendar day for a limit
in days); when the last day of a period is a holiday, the period ends on the first working day after it.

Which days are working days, in order of trust:

1. `[calendar] holidays` / `workdays` in config: the bureau's own record of a year's arrangement, entered once the
   State Council publishes it (a year with any such day is shown as coming from config);
2. the State Council's published arrangement for the year (statutory holidays, the days off in lieu and the 调休
   weekend working days), from the `holidays` package, which carries each year's notice once it is out;
3. for a year not yet published, the statutory holidays alone (全国年节及纪念日放假办法: 元旦 1 day, 春节 4 days
   from 除夕, 清明 1, 劳动节 2, 端午 1, 中秋 1, 国庆 3). The package's "observed" days for such a year are its guess
   at the arrangement, not law, so they are left out. Counting only statutory days can end a period earlier than the
   final arrangement will, never later: the bureau is never late;
4. Monday to Friday, only when the package cannot answer for a year at all.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from importlib.metadata import version
from zoneinfo import ZoneInfo

from flask import Flask

from bot import clock
from bot.config import AppSettings
from bot.leads.settings import CalendarSettings

log = logging.getLogger(__name__)

CONFIG, PUBLISHED, STATUTORY, WEEKDAYS = "config", "published", "statutory", "weekdays"
SOURCE_NAMES = {
    CONFIG: "配置文件 [calendar] 中登记的放假安排",
    PUBLISHED: "国务院已公布的放假安排",
    STATUTORY: "仅法定节假日（调休安排尚未公布）",
    WEEKDAYS: "仅周一至周五（无节假日数据）",
}


def published_years() -> frozenset[int]:
    """The years whose State Council arrangement the installed `holidays` package carries."""
    # Imported on first use: the package and its lunar tables take ~18 MB, which a web worker that only answers
    # keywords never needs.
    from holidays.countries.china import ChinaStaticHolidays

    return frozenset(ChinaStaticHolidays.special_public_holidays)


@dataclass(frozen=True)
class Year:
    """Where one year's working days come from, and what is still missing."""

    year: int
    source: str  # CONFIG, PUBLISHED, STATUTORY or WEEKDAYS
    days_off: frozenset[date]  # holidays and days off in lieu, from the package (config's are kept apart)
    weekend_workdays: frozenset[date]  # 调休 Saturdays and Sundays that are working days

    @property
    def complete(self) -> bool:
        """True when the year's whole arrangement is known (published, or entered in config)."""
        return self.source in (CONFIG, PUBLISHED)

    def describe(self) -> str:
        """One line for `flask calendar status` and the console's banner."""
        if self.source == STATUTORY:
            return (
                f"{self.year} 年：{SOURCE_NAMES[STATUTORY]}；国务院公布后请把放假日期和调休上班日"
                "加到 config.toml 的 [calendar] holidays / workdays"
            )
        if self.source == WEEKDAYS:
            return f"{self.year} 年：{SOURCE_NAMES[WEEKDAYS]}；请在 config.toml 的 [calendar] 中登记当年的放假安排"
        return f"{self.year} 年：{SOURCE_NAMES[self.source]}"


class WorkCalendar:
    """Which days are working days, per the order of trust in this module's docstring; each year built once."""

    def __init__(
        self,
        extra_holidays: frozenset[date] = frozenset(),
        extra_workdays: frozenset[date] = frozenset(),
        adjusted_weekends_work: bool = True,  # 调休 Saturdays/Sundays count as working days
    ) -> None:
        self.extra_holidays, self.extra_workdays = frozenset(extra_holidays), frozenset(extra_workdays)
        self.adjusted_weekends_work = adjusted_weekends_work
        self._years: dict[int, Year] = {}
        self._lock = threading.Lock()

    def year(self, y: int) -> Year:
        """How year y is known (built on first use, then remembered)."""
        known = self._years.get(y)
        if known is None:
            with self._lock:
                known = self._years.get(y) or self._build(y)
                self._years[y] = known
        return known

    def _build(self, y: int) -> Year:
        import holidays

        configured = any(d.year == y for d in self.extra_holidays | self.extra_workdays)
        if y in published_years():
            # Neighbouring years too: a late-December working day can belong to the next year's arrangement.
            cn = holidays.China(years=(y - 1, y, y + 1))
            off = frozenset(d for d in cn if d.year == y)
            work = frozenset(d for d in cn.weekend_workdays if d.year == y)
            return Year(y, CONFIG if configured else PUBLISHED, off, work)
        try:
            statutory = frozenset(d for d in holidays.China(years=y, observed=False) if d.year == y)
        except (NotImplementedError, ValueError, KeyError, OverflowError):
            statutory = frozenset()
        if statutory:
            return Year(y, CONFIG if configured else STATUTORY, statutory, frozenset())
        # Beyond the package's lunar tables (after 2100) not even 元旦 comes back.
        log.warning("no holiday data for %s: counting Monday-Friday only; add the year to [calendar]", y)
        return Year(y, CONFIG if configured else WEEKDAYS, frozenset(), frozenset())

    def is_workday(self, day: date) -> bool:
        """True when state bodies work on this day."""
        if day in self.extra_holidays:
            return False
        if day in self.extra_workdays:
            return True
        known = self.year(day.year)
        if day in known.weekend_workdays:
            return self.adjusted_weekends_work
        return day.weekday() < 5 and day not in known.days_off

    def fingerprint(self) -> str:
        """Changes when anything the answers depend on changes: the package's release or `[calendar]` in config."""
        basis = {
            "holidays": version("holidays"),
            "published": sorted(published_years()),
            "config_holidays": sorted(d.isoformat() for d in self.extra_holidays),
            "config_workdays": sorted(d.isoformat() for d in self.extra_workdays),
            "adjusted_weekends_work": self.adjusted_weekends_work,
        }
        return hashlib.sha256(json.dumps(basis, sort_keys=True).encode()).hexdigest()[:16]


DEFAULT = WorkCalendar()


def calendar_for(app: Flask) -> WorkCalendar:
    """The app's calendar, built once from `[calendar]` in config."""
    cal = app.extensions.get("work_calendar")
    if cal is None:
        settings = CalendarSettings.of(app)
        cal = WorkCalendar(
            frozenset(date.fromisoformat(str(d)) for d in settings.holidays),
            frozenset(date.fromisoformat(str(d)) for d in settings.workdays),
            settings.adjusted_weekends_work,
        )
        app.extensions["work_calendar"] = cal
    return cal


def incomplete_years(app: Flask, years: int = 3) -> list[Year]:
    """Of this year and the next ones (three in all by default), those whose arrangement is not known yet."""
    cal, first = calendar_for(app), today_local(app).year
    return [known for known in map(cal.year, range(first, first + years)) if not known.complete]


def log_status(app: Flask) -> None:
    """One warning per year (this and the next two) whose deadlines are counted without its arrangement; logged by
    the scheduler's first calendar check after it starts (bot/leads/recompute.py)."""
    for known in incomplete_years(app):
        log.warning(
            "calendar %s: %s",
            known.year,
            "statutory holidays only, 调休 working days not yet published: add them to [calendar] when announced"
            if known.source == STATUTORY
            else "no holiday data, Monday-Friday only: add the year's arrangement to [calendar]",
        )


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
    """Today's date in the bureau's time zone ([app] timezone), from the app's clock unless `now` is given."""
    tz = ZoneInfo(AppSettings.of(app).timezone)
    return (now or clock.utcnow()).astimezone(tz).date()
