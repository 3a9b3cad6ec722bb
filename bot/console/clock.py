"""Working days for the console's lists: the app's calendar with each day's answer remembered."""

from __future__ import annotations

from datetime import date

from flask import Flask

from bot import deadlines


class RememberingCalendar:
    """Wraps a WorkCalendar and remembers is_workday per day (chinese_calendar costs ~20 µs a call; a queue page
    asks for thousands of days). The calendar is fixed at start, so the answers never go stale."""

    def __init__(self, cal: deadlines.WorkCalendar) -> None:
        self.cal = cal
        self.known: dict[date, bool] = {}

    def is_workday(self, day: date) -> bool:
        """Same answer as the wrapped calendar."""
        answer = self.known.get(day)
        if answer is None:
            answer = self.known[day] = self.cal.is_workday(day)
        return answer


def calendar(app: Flask) -> RememberingCalendar:
    """The app's remembering calendar, made once."""
    cal = app.extensions.get("console_calendar")
    if cal is None:
        cal = app.extensions["console_calendar"] = RememberingCalendar(deadlines.calendar_for(app))
    return cal


def days_left(app: Flask, today: date, due: date | None) -> int | None:
    """Working days from today until due (negative = overdue), or None without a deadline."""
    return None if due is None else deadlines.working_days_left(today, due, calendar(app))  # type: ignore[arg-type]
