"""Addresses judged by what they contain (a street and number, or a 镇街 and a landmark), not by their length."""

from __future__ import annotations

import pytest

from bot.dialogue.answers import Answer, Unclear
from bot.dialogue.answers.address import parse_address
from bot.leads.rules import Branches
from tests.leads_support import ROOT

TOWNS = tuple(alias for alias, _code in Branches(ROOT / "content" / "branches.toml").aliases)

BUSINESS = [  # where the business is: accepted as typed, or the re-ask's reason and what was understood
    ("小榄镇升平中路8号", None),
    ("小榄镇升平中路 8 号", None),
    ("古镇镇海洲灯饰城", None),
    ("小榄镇利和广场", None),
    ("三乡镇雅居乐花园", None),
    ("小榄镇永宁村", None),
    ("石岐孙文西路步行街", None),
    ("东区兴中道6号", None),
    ("火炬开发区张家边市场旁边", None),
    ("中山市东区中山四路1号", None),
    ("升平中路8号", None),
    ("利和广场3楼", None),
    ("广东省中山市坦洲镇界狮南路", None),
    ("广州市天河区体育西路", None),
    ("浙江省杭州市余杭区文一西路969号", None),
    ("小榄镇华润万家超市", None),
    ("小榄镇", Unclear("town_only", {"understood": "小榄镇"})),
    ("小榄", Unclear("town_only", {"understood": "小榄"})),
    ("广东省中山市小榄镇", Unclear("town_only", {"understood": "小榄镇"})),
    ("小榄镇附近", Unclear("town_only", {"understood": "小榄镇"})),
    ("利和广场", Unclear("no_town", {"understood": "利和广场"})),
    ("升平中路", Unclear("no_town", {"understood": "升平中路"})),
    ("中山市", Unclear("invalid")),
    ("那家店", Unclear("invalid")),
    ("不记得了", Unclear("invalid")),
    ("x" * 201, Unclear("too_long")),
]


@pytest.mark.parametrize(("said", "unclear"), BUSINESS, ids=[row[0][:20] for row in BUSINESS])
def test_business_addresses(said, unclear):
    result = parse_address(said, TOWNS)
    assert result == (unclear or Answer(said.strip()))


MAILING = [  # a letter must reach the consumer: a number is needed
    ("中山市东区中山四路1号", None),
    ("小榄镇升平中路8号3栋502房", None),
    ("东区兴中道6号", None),
    ("雅居乐花园5栋1203", None),
    ("小榄镇永宁村二街12号", None),
    ("东区中山四路", Unclear("no_number", {"understood": "东区中山四路"})),
    ("三乡镇雅居乐花园", Unclear("no_number", {"understood": "三乡镇雅居乐花园"})),
    ("广东省中山市东区街道", Unclear("town_only", {"understood": "东区街道"})),
    ("中山", Unclear("invalid")),
]


@pytest.mark.parametrize(("said", "unclear"), MAILING, ids=[row[0] for row in MAILING])
def test_mailing_addresses(said, unclear):
    result = parse_address(said, TOWNS, mailing=True)
    assert result == (unclear or Answer(said.strip()))
