"""The file `flask notices new` writes (a draft), and the check that finds its example text left in a notice."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

TITLE = "在此填写标题"
KEYWORDS = "在此填写关键词"
SUMMARY = "在此用一两句话概括"
BODY = ("在此用 Markdown 撰写正文。", "## 小标题", "- 要点一", "- 要点二")

TEMPLATE = f"""\
---
title: {TITLE}
date: {{today}}
category: 消费提示  # 消费提示、维权指南、合规指导、典型案例、通知公告 之一
keywords: [{KEYWORDS}]  # 消费者在公众号里发送的词，如 [双11, 退货]
summary: {SUMMARY}，会显示在列表和公众号图文消息里。
# cover: {{slug}}.jpg  # 封面图片，放在 content/notices/images/ 下
# expires: {{today}}  # 过期日期，过期后页面仍可访问，但会标明“已过期”
draft: true  # 草稿：网站和公众号都看不到。写好后运行 flask notices publish {{slug}}，或删去这一行
---

{BODY[0]}

{BODY[1]}

{BODY[2]}
{BODY[3]}
"""


def check_placeholders(add: Callable[[int, str], None], values: dict[str, Any], body: str, body_line: int) -> None:
    """Report each piece of the template's example text still in the file, at its line."""
    title = values.get("title")
    if title and TITLE in str(title[1]):
        add(title[0], f"标题还是模板里的“{TITLE}”，请写上这篇公告的标题")
    keywords = values.get("keywords")
    if keywords and isinstance(keywords[1], list) and any(KEYWORDS in str(k) for k in keywords[1]):
        add(keywords[0], f"关键词还是模板里的“{KEYWORDS}”，请写上消费者会发送的词，如 [双11, 退货]")
    summary = values.get("summary")
    if summary and SUMMARY in str(summary[1]):
        add(summary[0], "摘要还是模板里的示例文字，请用一两句话概括这篇公告")
    for offset, line in enumerate(body.splitlines()):
        if line.strip() in BODY:
            add(body_line + offset, f"正文还是模板里的示例文字（“{line.strip()}”），请换成公告的内容")
            return
