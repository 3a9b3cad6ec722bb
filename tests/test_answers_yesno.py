"""Yes and no, and complaint or report, in their common forms: tables of real phrasings."""

from __future__ import annotations

import pytest

from bot.dialogue.answers import Answer, Unclear
from bot.dialogue.answers.kind import parse_kind
from bot.dialogue.answers.yesno import parse_yes_no

YES_NO = [
    ("对的", True), ("是的", True), ("是", True), ("对", True), ("嗯", True), ("嗯嗯", True), ("好", True),
    ("好的呀", True), ("可以", True), ("没问题", True), ("确认", True), ("确定", True), ("OK", True),
    ("嗯嗯好的", True), ("对的，没问题", True), ("没错。", True), ("要", True), ("需要", True),
    ("不用了", False), ("不要", False), ("算了", False), ("不是", False), ("错了", False), ("不对", False),
    ("否", False), ("不用", False), ("不需要", False), ("没有", False), ("不了谢谢", False),
    ("不对，电话写错了", False),
    ("不确定", None), ("也许吧", None), ("随便", None), ("看情况", None), ("不知道", None),
]  # fmt: skip


@pytest.mark.parametrize(("said", "meant"), YES_NO, ids=[row[0] for row in YES_NO])
def test_yes_or_no(said, meant):
    result = parse_yes_no(said)
    assert result == (Unclear("invalid") if meant is None else Answer(meant))


def test_a_question_adds_its_own_words_and_a_negation_comes_first():
    words = {"yes": ("举报", "同时举报"), "no": ("不举报", "只投诉")}
    assert parse_yes_no("同时举报", **words) == Answer(True)
    assert parse_yes_no("是的，要举报", **words) == Answer(True)
    assert parse_yes_no("不举报了", **words) == Answer(False)
    assert parse_yes_no("只投诉就行", **words) == Answer(False)


KINDS = [
    ("投诉", "complaint"), ("我要投诉", "complaint"), ("1", "complaint"), ("想让商家退款", "complaint"),
    ("要求赔偿", "complaint"), ("帮我调解一下", "complaint"), ("举报", "report"), ("2", "report"),
    ("举报违法", "report"), ("希望你们查处这家店", "report"), ("投诉举报", None), ("你好", None),
]  # fmt: skip


@pytest.mark.parametrize(("said", "meant"), KINDS, ids=[row[0] for row in KINDS])
def test_complaint_or_report(said, meant):
    assert parse_kind(said) == (Unclear("invalid") if meant is None else Answer(meant))
