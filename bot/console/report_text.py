"""The period report in the form of the bureau's own summaries: the paragraphs, and the same as a Word document."""

from __future__ import annotations

import io
from datetime import date

from docx import Document
from docx.shared import Pt

from bot.console.cells import without_controls
from bot.console.figures import Figures


def _day(d: date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


def period_title(f: Figures, scope: str) -> str:
    """The report's title, e.g. 2026年5月1日至5月31日消费投诉举报线索办理情况（全局）."""
    end = f"{f.end.month}月{f.end.day}日" if f.end.year == f.start.year else _day(f.end)
    return f"{_day(f.start)}至{end}消费投诉举报线索办理情况（{scope}）"


def paragraphs(f: Figures) -> list[tuple[str, str]]:
    """(heading, text) pairs: overall, key areas, branches, alerts and guides published."""

    def st(kind: str, status: str) -> int:
        return f.steps.get(f"{kind}:{status}", 0)

    complaints, reports = f.kinds.get("投诉", 0), f.kinds.get("举报", 0)
    overall = (
        f"{_day(f.start)}至{_day(f.end)}，本局通过微信公众号共收到消费者投诉举报线索{f.received}条，"
        f"其中投诉{complaints}件、举报{reports}件。期间受理投诉{st('complaint', '已受理')}件，"
        f"不予受理{st('complaint', '不予受理')}件，调解成功办结{st('complaint', '已办结')}件，"
        f"终止调解{st('complaint', '终止调解')}件；核查举报{st('report', '核查中')}件，"
        f"立案查处{st('report', '已立案')}宗，不予立案{st('report', '不予立案')}件；"
        f"转办其他部门{st('complaint', '已转办') + st('report', '已转办')}件。"
        f"本期共办结线索{f.handled}条。截至报告日，尚有{f.open_now}条线索在办，其中超过法定期限{f.overdue_now}条。"
    )
    if f.avg_days_to_accept is not None:
        overall += f"投诉从收到至受理平均用时{f.avg_days_to_accept}个工作日。"
    areas = "；".join(f"{cat}类收到{n}条、办结{f.closed_by_category.get(cat, 0)}条" for cat, n in f.by_category)
    branches = "；".join(f"{b}{n}条" for b, n in f.by_branch)
    titles = "、".join(f"《{n.title}》" for n in f.notices[:20])
    alerts = f"期间发布消费提示、维权指南等{len(f.notices)}篇"
    alerts += f"（{titles}）" if titles else ""
    alerts += f"，向关注用户推送{f.pushes}次，送达{f.reach}人次，引导消费者理性消费、依法维权。"
    return [
        ("一、总体情况", overall),
        ("二、重点领域", (areas + "。") if areas else "本期没有收到线索。"),
        ("三、各分局办理情况", (f"按承办分局统计：{branches}。") if branches else "本期没有收到线索。"),
        ("四、消费提示和宣传", alerts),
    ]


def docx_bytes(f: Figures, scope: str) -> bytes:
    """The report as an editable Word document with the same figures as the page."""
    doc = Document()
    style = doc.styles["Normal"]
    style.font.name = "SimSun"
    style.font.size = Pt(12)
    doc.add_heading(without_controls(period_title(f, scope)), level=1)
    for heading, text in paragraphs(f):
        doc.add_heading(heading, level=2)
        doc.add_paragraph(without_controls(text))
    _table(
        doc,
        "附表一：重点领域",
        ["领域", "收到（条）", "办结（条）"],
        [(c, n, f.closed_by_category.get(c, 0)) for c, n in f.by_category],
    )
    _table(doc, "附表二：承办分局", ["分局", "收到（条）"], f.by_branch)
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


def _table(doc, title: str, header: list[str], rows: list[tuple]) -> None:
    doc.add_heading(title, level=2)
    table = doc.add_table(rows=1, cols=len(header))
    table.style = "Table Grid"
    for cell, text in zip(table.rows[0].cells, header, strict=True):
        cell.text = text
    for row in rows:
        cells = table.add_row().cells
        for cell, value in zip(cells, row, strict=True):
            cell.text = without_controls(str(value))  # categories and branches are staff's free text
