"""Working days for the console's lists: the app's calendar with each day's answer remembered and counted ahead."""

from __future__ import annotations

from datetime import date, timedelta

from flask import Flask

from bot.leads import deadlines

MAX_SPAN_DAYS = 40 * 366  # a table wider than this is not kept: such dates are counted day by day


class RememberingCalendar:
    """Wraps a WorkCalendar and remembers is_workday per day (a queue page asks for thousands of days), plus a
    running count of working days over whole years, so the working days between two dates are one subtraction.
    The calendar is fixed at start, so the answers never go stale."""

    def __init__(self, cal: deadlines.WorkCalendar) -> None:
        self.cal = cal
        self.known: dict[date, bool] = {}
        self.table: tuple[int, list[int]] = (0, [])  # (ordinal of the day before the first, running counts)

    def is_workday(self, day: date) -> bool:
        """Same answer as the wrapped calendar."""
        answer = self.known.get(day)
        if answer is None:
            answer = self.known[day] = self.cal.is_workday(day)
        return answer

    def workdays_after(self, lo: date, hi: date) -> int:
        """How many working days lie in (lo, hi], for lo <= hi."""
        first, counts = self.table
        a, b = lo.toordinal() - first, hi.toordinal() - first
        if a < 0 or b >= len(counts):
            first, counts = self._cover(lo, hi, first, counts)
            if not counts:
                return deadlines.working_days_left(lo, hi, self)  # type: ignore[arg-type]
            a, b = lo.toordinal() - first, hi.toordinal() - first
        return counts[b] - counts[a]

    def signed_days(self, today: date, due: date) -> int:
        """Working days from today until due, negative when due is earlier (see days_left)."""
        return self.workdays_after(today, due) if due >= today else -self.workdays_after(due, today)

    def _cover(self, lo: date, hi: date, first: int, counts: list[int]) -> tuple[int, list[int]]:
        """A new running-count table over whole years covering [lo, hi] and the old table (replaced in one step,
        so a thread reading the old one meanwhile still reads a consistent pair)."""
        if counts:
            lo, hi = min(lo, date.fromordinal(first + 1)), max(hi, date.fromordinal(first + len(counts) - 1))
        if (hi - lo).days > MAX_SPAN_DAYS or lo.year <= date.min.year or hi.year >= date.max.year:
            return 0, []
        day, end = date(lo.year, 1, 1) - timedelta(days=1), date(hi.year, 12, 31)
        first, running, counts = day.toordinal(), 0, [0]
        while day < end:
            day += timedelta(days=1)
            running += self.is_workday(day)
            counts.append(running)
        self.table = (first, counts)
        return first, counts


def calendar(app: Flask) -> RememberingCalendar:
    """The app's remembering calendar, made once."""
    cal = app.extensions.get("console_calendar")
    if cal is None:
        cal = app.extensions["console_calendar"] = RememberingCalendar(deadlines.calendar_for(app))
    return cal


def days_left(app: Flask, today: date, due: date | None) -> int | None:
    """Working days from today until due (negative = overdue), or None without a deadline; the same count as
    deadlines.working_days_left: the days after the earlier date up to and including the later one."""
    if due is None:
        return None
    return calendar(app).signed_days(today, due)
