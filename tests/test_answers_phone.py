"""Mobile and landline numbers with spaces, dashes, +86 and 区号: a table of real phrasings."""

from __future__ import annotations

import pytest

from bot.dialogue.answers import Answer, Unclear
from bot.dialogue.answers.phone import parse_phone

TABLE = [  # (what the consumer wrote, the number stored) — or an Unclear
    ("13800138000", "13800138000"),
    ("138 0013 8000", "13800138000"),
    ("138-0013-8000", "13800138000"),
    ("138.0013.8000", "13800138000"),
    ("+86 13800138000", "13800138000"),
    ("+86-138-0013-8000", "13800138000"),
    ("0086 138 0013 8000", "13800138000"),
    ("8613800138000", "13800138000"),
    ("手机：１３８００１３８０００", "13800138000"),
    ("我的电话是13800138000", "13800138000"),
    ("13800138000，或者0760-88889999", "13800138000"),
    ("0760-88889999", "0760-88889999"),
    ("(0760)88889999", "0760-88889999"),
    ("（0760）88889999", "0760-88889999"),
    ("0760 8888 9999", "0760-88889999"),
    ("076088889999", "0760-88889999"),
    ("+86 760 88889999", "0760-88889999"),
    ("0760-8888999", "0760-8888999"),
    ("020-83388888转123", "020-83388888转123"),
    ("010-65123456", "010-65123456"),
    ("座机 0760-88889999", "0760-88889999"),
    ("88889999", Unclear("no_area_code", {"understood": "88889999"})),
    ("1380013800", Unclear("mobile_length", {"understood": "1380013800", "count": 10})),
    ("138001380001", Unclear("mobile_length", {"understood": "138001380001", "count": 12})),
    ("12345678901", Unclear("invalid", {"understood": "12345678901"})),
    ("没有电话", Unclear("invalid")),
]


@pytest.mark.parametrize(("said", "stored"), TABLE, ids=[row[0] for row in TABLE])
def test_phone_numbers(said, stored):
    result = parse_phone(said)
    if isinstance(stored, Unclear):
        assert result == stored
    else:
        assert result == Answer(stored)
