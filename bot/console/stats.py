"""The statistics dashboard (server-side SVG charts) and the period report as a page and a Word document."""

from __future__ import annotations

from datetime import date, timedelta

from flask import Response, current_app, render_template, request

from bot.console import audit, bp, charts
from bot.console.access import STATS_ROLES, current_staff, requires
from bot.console.figures import Figures, compute
from bot.console.forms import parse_date
from bot.console.report_text import docx_bytes, paragraphs, period_title
from bot.db import read_session
from bot.leads import deadlines
from bot.leads.create import rules

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _period(default_start: date, today: date) -> tuple[date, date]:
    """The period asked for in ?from=&to=, sane and at most three years long."""
    start = parse_date(request.args.get("from")) or default_start
    end = parse_date(request.args.get("to")) or today
    if end < start:
        start, end = end, start
    return max(start, end - timedelta(days=3 * 366)), end


def scope_name() -> str:
    """Whose figures these are: the whole bureau, or one branch for a handler."""
    user = current_staff()
    return rules(current_app).branches.name(user.branch) if user.role == "handler" else "全局"


def _figures(default_days: int | None) -> Figures:
    today = deadlines.today_local(current_app)
    default = today - timedelta(days=default_days) if default_days else today.replace(day=1)
    start, end = _period(default, today)
    return compute(read_session(), current_staff(), start, end, today)


@bp.get("/stats")
@requires(*STATS_ROLES)
def stats():
    """Charts of the period: leads per week, by key area, by branch, handled vs overdue, kinds, pushes."""
    f = _figures(83)
    pictures = {
        "weekly": charts.column_chart(f.weekly, "每周收到线索（条）"),
        "category": charts.bar_chart(f.by_category[:12], "按重点领域", "条"),
        "branch": charts.bar_chart(f.by_branch[:15], "按承办分局", "条"),
        "handling": charts.bar_chart(
            [("本期办结", f.handled), ("在办未超期", f.open_now - f.overdue_now), ("在办已超期", f.overdue_now)],
            "办结与超期",
            "条",
        ),
        "kinds": charts.share_bar(list(f.kinds.items()), "投诉与举报", "件"),
        "pushes": charts.bar_chart(
            [("推送次数", f.pushes, "次"), ("送达人次", f.reach, "人次"), ("发布公告", len(f.notices), "篇")], "宣传"
        ),
    }
    return render_template("console/stats.html", f=f, pictures=pictures, scope=scope_name())


@bp.get("/report")
@requires(*STATS_ROLES)
def report():
    """The period report, written like the bureau's own summaries; downloadable as Word."""
    f = _figures(None)
    return render_template(
        "console/report.html", f=f, title=period_title(f, scope_name()), paragraphs=paragraphs(f), scope=scope_name()
    )


@bp.get("/report.docx")
@requires(*STATS_ROLES)
def report_docx():
    """The same report as an editable Word document."""
    f = _figures(None)
    audit.record_if_free("report_download", detail=f"{f.start.isoformat()} 至 {f.end.isoformat()}")
    name = f"report-{f.start.isoformat()}-{f.end.isoformat()}.docx"
    return Response(
        docx_bytes(f, scope_name()), mimetype=DOCX, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )
