"""Dates absolute or relative, resolved against the message's date (never the machine's): a table of phrasings."""

from __future__ import annotations

from datetime import date

import pytest

from bot.dialogue.answers import Answer, Unclear
from bot.dialogue.answers.dates import parse_date

MONDAY = date(2026, 11, 30)  # the message's date

TABLE = [  # (what the consumer wrote, the date stored, how it is shown back for confirmation) — or an Unclear
    ("上周六", "2026-11-28", "2026年11月28日（上周六）"),
    ("前天", "2026-11-28", "2026年11月28日（前天）"),
    ("大前天", "2026-11-27", "2026年11月27日（大前天）"),
    ("昨天晚上", "2026-11-29", "2026年11月29日（昨天）"),
    ("今天上午", "2026-11-30", "2026年11月30日（今天）"),
    ("11月11日", "2026-11-11", "2026年11月11日（星期三）"),
    ("十一月十一号", "2026-11-11", "2026年11月11日（星期三）"),
    ("双十一那天", "2026-11-11", "2026年11月11日（双十一）"),
    ("2026.11.3", "2026-11-03", "2026年11月3日（星期二）"),
    ("2026-11-20", "2026-11-20", "2026年11月20日（星期五）"),
    ("2026年11月20日", "2026-11-20", "2026年11月20日（星期五）"),
    ("26年11月3日", "2026-11-03", "2026年11月3日（星期二）"),
    ("20261120", "2026-11-20", "2026年11月20日（星期五）"),
    ("11.20", "2026-11-20", "2026年11月20日（星期五）"),
    ("11/3", "2026-11-03", "2026年11月3日（星期二）"),
    ("11月28日中午", "2026-11-28", "2026年11月28日（星期六）"),
    ("20号", "2026-11-20", "2026年11月20日（星期五）"),
    ("31号", "2026-10-31", "2026年10月31日（星期六）"),  # November has none: the latest 31st
    ("12月20日", "2025-12-20", "2025年12月20日（星期六）"),  # not yet this year: last year's
    ("3天前", "2026-11-27", "2026年11月27日（3天前）"),
    ("一周前", "2026-11-23", "2026年11月23日（一周前）"),
    ("周六", "2026-11-28", "2026年11月28日（周六）"),
    ("礼拜六下午", "2026-11-28", "2026年11月28日（礼拜六）"),
    ("上周日", "2026-11-29", "2026年11月29日（上周日）"),
    ("上上周五", "2026-11-20", "2026年11月20日（上上周五）"),
    ("上个月15号", "2026-10-15", "2026年10月15日（上个月）"),
    ("上个月", "2026-10", "2026年10月（上个月）"),
    ("10月", "2026-10", "2026年10月"),
    ("去年12月", "2025-12", "2025年12月（去年）"),
    ("这周六", Unclear("future", {"understood": "2026年12月5日"}), None),
    ("2027年1月1日", Unclear("future", {"understood": "2027年1月1日"}), None),
    ("2月30日", Unclear("no_such_day", {"understood": "2月30日"}), None),
    ("上周", Unclear("which_day", {"understood": "11月23日至11月29日"}), None),
    ("前几天", Unclear("vague", {"understood": "前几天"}), None),
    ("很久了", Unclear("invalid"), None),
]


@pytest.mark.parametrize(("said", "stored", "shown"), TABLE, ids=[row[0] for row in TABLE])
def test_dates(said, stored, shown):
    result = parse_date(said, MONDAY)
    if isinstance(stored, Unclear):
        assert result == stored
    else:
        assert isinstance(result, Answer) and (result.value, result.shown) == (stored, shown) and result.as_typed


def test_the_same_words_on_another_day_mean_another_date():
    assert parse_date("上周六", date(2030, 6, 1)).value == "2030-05-25"  # a Saturday: last week's is a week back
    assert parse_date("20号", date(2026, 3, 5)).value == "2026-02-20"
    assert parse_date("昨天", date(2027, 1, 1)).value == "2026-12-31"
