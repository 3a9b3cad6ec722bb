"""Amounts in digits or Chinese numerals, with 元/块/万/¥/RMB, ranges kept as typed: a table of real phrasings."""

from __future__ import annotations

import pytest

from bot.dialogue.answers import Answer, Unclear
from bot.dialogue.answers.amount import parse_amount

TABLE = [  # (what the consumer wrote, the amount stored, how it is shown back) — or an Unclear
    ("三百元", "300", "300 元"),
    ("1.2万", "12000", "12000 元"),
    ("两千五", "2500", "2500 元"),
    ("¥399", "399", "399 元"),
    ("￥399", "399", "399 元"),
    ("大概五六百", "500", "500–600 元（大概五六百）"),
    ("25元", "25", "25 元"),
    ("128.5", "128.5", "128.5 元"),
    ("1,280 块", "1280", "1280 元"),
    ("RMB 500", "500", "500 元"),
    ("人民币五百元", "500", "500 元"),
    ("一块五", "1.5", "1.5 元"),
    ("3块5毛", "3.5", "3.5 元"),
    ("八十八块八", "88.8", "88.8 元"),
    ("五毛", "0.5", "0.5 元"),
    ("5k", "5000", "5000 元"),
    ("2.5w", "25000", "25000 元"),
    ("2万5", "25000", "25000 元"),
    ("一万二", "12000", "12000 元"),
    ("一千零五块", "1005", "1005 元"),
    ("二十五", "25", "25 元"),
    ("300-500元", "300", "300–500 元（300-500元）"),
    ("三百到五百", "300", "300–500 元（三百到五百）"),
    ("一两千", "1000", "1000–2000 元（一两千）"),
    ("一千多", "1000", "1000 元（一千多）"),
    ("100块钱左右", "100", "100 元（100块钱左右）"),
    ("买了3件，每件99，一共297元", "297", "297 元"),
    ("399元/件", "399", "399 元"),
    ("双十一买的，799", "799", "799 元"),
    ("没花钱", "0", "0 元"),
    ("0", "0", "0 元"),
    ("几百块", Unclear("vague", {"understood": "几百"}), None),
    ("5000元，另外运费10元", Unclear("several", {"understood": "5000、10"}), None),
    ("99999999999", Unclear("too_large"), None),
    ("好贵", Unclear("invalid"), None),
]


@pytest.mark.parametrize(("said", "stored", "shown"), TABLE, ids=[row[0] for row in TABLE])
def test_amounts(said, stored, shown):
    result = parse_amount(said)
    if isinstance(stored, Unclear):
        assert result == stored
    else:
        assert isinstance(result, Answer) and (result.value, result.shown) == (stored, shown)


def test_a_range_keeps_its_upper_end_and_the_words():
    result = parse_amount("大概五六百")
    assert result.extra == {"amount_high": "600"} and result.as_typed
    assert not parse_amount("300元").as_typed  # an exact amount needs no words beside it
