"""Complaint or report, in words: 投诉 / 举报, or what the consumer wants (退款 -> complaint; 查处 -> report)."""

from __future__ import annotations

import re

from bot.dialogue.answers import Answer, Result, Unclear, bare

COMPLAINT = re.compile(r"投诉|退款|退货|退钱|赔偿|赔钱|维修|换货|调解|纠纷|维权|解决|要回")
REPORT = re.compile(r"举报|违法|查处|处罚|查一下|查一查|查查|曝光|无证|无照")


def parse_kind(text: str) -> Result:
    """'complaint' or 'report'; 1 and 2 are the numbered choice."""
    word = bare(text)
    if word in ("1", "一", "第一个"):
        return Answer("complaint")
    if word in ("2", "二", "第二个"):
        return Answer("report")
    complaint, report = bool(COMPLAINT.search(word)), bool(REPORT.search(word))
    if complaint != report:
        return Answer("complaint" if complaint else "report")
    return Unclear("invalid")
