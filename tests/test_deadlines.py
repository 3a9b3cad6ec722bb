"""Deadline arithmetic (Order 121 Art 45) across 春节 and 国庆 with their 调休 Saturdays; years not yet published."""

from __future__ import annotations

import logging
from datetime import date

import pytest

from bot.leads.deadlines import (
    CONFIG,
    PUBLISHED,
    STATUTORY,
    WEEKDAYS,
    WorkCalendar,
    add_days,
    add_working_days,
    working_days_left,
)


@pytest.mark.parametrize(
    ("received", "days", "due", "why"),
    [
        # An ordinary week: received Monday, day 1 is Tuesday; 7 working days end next Wednesday.
        (date(2026, 3, 2), 7, date(2026, 3, 11), "plain week"),
        # 国庆 2025: 10-01..10-08 off; Sunday 09-28 and Saturday 10-11 are 调休 working days.
        (date(2025, 9, 26), 7, date(2025, 10, 13), "09-28 and Saturday 10-11 count, 10-01..08 do not"),
        (date(2025, 9, 30), 1, date(2025, 10, 9), "the holiday is skipped entirely"),
        (date(2025, 10, 9), 2, date(2025, 10, 11), "Saturday 10-11 is a 调休 working day"),
        # 春节 2026: 02-15..02-23 off; Saturday 02-14 and Saturday 02-28 are 调休 working days.
        (date(2026, 2, 13), 1, date(2026, 2, 14), "Saturday 02-14 is a working day"),
        (date(2026, 2, 13), 7, date(2026, 3, 2), "02-14, then 02-24..02-28 and 03-02"),
        # 国庆 2026: 10-01..10-07 off; Sunday 09-20 and Saturday 10-10 are 调休 working days.
        (date(2026, 9, 30), 15, date(2026, 10, 27), "report verification across 国庆 2026"),
    ],
)
def test_working_days_follow_the_holiday_calendar(received, days, due, why):
    assert add_working_days(received, days) == due, why


def test_receipt_day_is_not_counted_even_when_it_is_a_working_day():
    assert add_working_days(date(2026, 3, 2), 1) == date(2026, 3, 3)


def test_calendar_days_ending_on_a_holiday_move_to_the_next_working_day():
    # Mediation: 60 days from acceptance. 2026-08-02 + 60 = 2026-10-01, 国庆: the period ends on 10-08.
    assert add_days(date(2026, 8, 2), 60) == date(2026, 10, 8)


def test_sixty_days_on_an_ordinary_day():
    # 2026-03-03 + 60 days = 2026-05-02, inside the 劳动节 holiday (05-01..05-05): ends 05-06.
    assert add_days(date(2026, 3, 3), 60) == date(2026, 5, 6)
    # 2026-03-10 + 60 days = 2026-05-09, a 调休 Saturday (working day): stays.
    assert add_days(date(2026, 3, 10), 60) == date(2026, 5, 9)
    # 2026-04-01 + 60 = 2026-05-31, a Sunday: moves to Monday 06-01.
    assert add_days(date(2026, 4, 1), 60) == date(2026, 6, 1)


def test_working_days_left_counts_down_and_goes_negative():
    due = date(2026, 10, 9)  # a Friday after 国庆
    assert working_days_left(date(2026, 9, 30), due) == 2  # 10-08, 10-09
    assert working_days_left(due, due) == 0
    assert working_days_left(date(2026, 10, 12), due) == -2  # 10-10 (调休 Saturday) and 10-12


@pytest.mark.parametrize(
    ("received", "days", "due", "why"),
    [
        # 2027 has no published arrangement yet: its statutory holidays still count.
        (date(2026, 12, 31), 7, date(2027, 1, 12), "元旦 2027-01-01 (a Friday) is a holiday"),
        (date(2027, 2, 4), 7, date(2027, 2, 17), "春节 2027: 除夕 02-05 to 初三 02-08 are holidays"),
        (date(2027, 4, 30), 1, date(2027, 5, 3), "劳动节 05-01 and 05-02 fall on a weekend: no day in lieu guessed"),
        (date(2027, 9, 30), 1, date(2027, 10, 4), "国庆 10-01..10-03"),
        (date(2030, 2, 1), 3, date(2030, 2, 8), "春节 2030: 除夕 02-02 (a Saturday) to 初三 02-05"),
    ],
)
def test_a_year_not_yet_published_counts_its_statutory_holidays(received, days, due, why):
    assert add_working_days(received, days, WorkCalendar()) == due, why


def test_sixty_days_ending_on_new_years_day_2027_move_to_the_next_working_day():
    # Accepted 2026-11-02: day 60 is 2027-01-01 (元旦), then a weekend: the mediation limit ends on Monday 01-04.
    assert add_days(date(2026, 11, 2), 60, WorkCalendar()) == date(2027, 1, 4)


def test_each_year_says_where_its_days_come_from():
    cal = WorkCalendar(extra_holidays=frozenset({date(2028, 1, 3)}))
    assert cal.year(2026).source == PUBLISHED and cal.year(2026).complete
    assert cal.year(2027).source == STATUTORY and not cal.year(2027).complete
    assert "调休安排尚未公布" in cal.year(2027).describe() and "[calendar]" in cal.year(2027).describe()
    assert cal.year(2028).source == CONFIG and cal.year(2028).complete  # entered by the bureau: trusted first


def test_a_year_the_package_cannot_answer_falls_back_to_monday_to_friday_and_warns(caplog):
    cal = WorkCalendar()
    with caplog.at_level(logging.WARNING, logger="bot.leads.deadlines"):
        assert add_working_days(date(9998, 12, 31), 1, cal) == date(9999, 1, 1)  # a Friday, no data: counted
    assert cal.year(9999).source == WEEKDAYS
    assert any("9999" in r.message and "[calendar]" in r.message for r in caplog.records)


def test_the_fingerprint_follows_the_config_and_nothing_else():
    plain, same = WorkCalendar(), WorkCalendar()
    edited = WorkCalendar(extra_workdays=frozenset({date(2027, 2, 20)}))
    assert plain.fingerprint() == same.fingerprint() != edited.fingerprint()


def test_a_years_holidays_are_a_config_change():
    cal = WorkCalendar(extra_holidays=frozenset({date(2027, 1, 1)}), extra_workdays=frozenset({date(2027, 1, 2)}))
    assert add_working_days(date(2026, 12, 31), 1, cal) == date(2027, 1, 2)


def test_adjusted_weekends_can_be_counted_as_days_off():
    cal = WorkCalendar(adjusted_weekends_work=False)
    assert add_working_days(date(2026, 2, 13), 1, cal) == date(2026, 2, 24)
