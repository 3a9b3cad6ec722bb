"""Lead exports (CSV, XLSX) of the user's own scope, streamed in batches; personal data only for an admin, audited.

A file reads as the console does: branches by their names (content/branches.toml), kinds in words. In the XLSX,
dates are date cells and amounts number cells with their formats, so that a spreadsheet sorts and adds them; every
text cell is made safe first (bot/console/cells.py)."""

from __future__ import annotations

import csv
import io
import os
import re
import tempfile
from collections.abc import Iterator, Mapping
from datetime import date
from decimal import Decimal

from flask import Response, current_app, flash, redirect, render_template, request, url_for
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from sqlalchemy import select

from bot.console import audit, bp
from bot.console.access import LEAD_ROLES, current_staff, requires
from bot.console.cells import spreadsheet_text
from bot.console.queue import filter_options, filtered
from bot.db import Database, get_db, session
from bot.leads import deadlines
from bot.leads.create import rules
from bot.leads.rules import UNASSIGNED
from bot.leads.workflow import KIND_NAMES
from bot.models import Lead
from bot.privacy import mask_text

BATCH = 500
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# (header, column) in the order 12315 asks for them; personal columns come only with 包含个人信息.
FIELDS = [
    ("编号", Lead.ticket),
    ("类型", Lead.kind),
    ("状态", Lead.status),
    ("重点领域", Lead.category),
    ("分类依据", Lead.category_rule),
    ("承办分局", Lead.branch),
    ("收到日期", Lead.received_on),
    ("受理期限", Lead.accept_due),
    ("受理日期", Lead.accepted_on),
    ("调解期限", Lead.mediation_due),
    ("核查期限", Lead.verify_due),
    ("办结日期", Lead.closed_on),
    ("被投诉（举报）经营者", Lead.business_name),
    ("网络交易平台", Lead.business_platform),
    ("经营者地址", Lead.business_address),
    ("所在镇街", Lead.business_town),
    ("商品或服务", Lead.item),
    ("消费日期", Lead.purchase_date),
    ("涉及金额（元）", Lead.amount),
    ("事实与理由", Lead.facts),
    ("诉求", Lead.request),
    ("办理结果", Lead.outcome),
]
PERSONAL = [("投诉（举报）人姓名", Lead.name), ("联系电话", Lead.phone), ("通讯地址", Lead.address)]
FREE_TEXT = {"事实与理由", "诉求", "办理结果"}
DATE_FORMAT = "yyyy-mm-dd"
AMOUNT_FORMAT = "#,##0.00"
# A purchase date is the consumer's own words (上周六, 11月20日); only a full date becomes a date cell.
FULL_DATE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")
WIDTHS = {"编号": 16, "被投诉（举报）经营者": 28, "事实与理由": 48, "诉求": 28, "办理结果": 28, "经营者地址": 28}


@bp.get("/export")
@requires(*LEAD_ROLES)
def export_form():
    """The export form: the queue's filters, the format, and (admins only) 包含个人信息 with a reason."""
    return render_template("console/export.html", **filter_options(), args=request.args)


@bp.post("/export")
@requires(*LEAD_ROLES)
def export_download():
    """Stream the leads of the user's scope matching the filters as CSV or XLSX."""
    form = request.form
    personal = form.get("personal") == "1"
    reason = form.get("reason", "").strip()[:200]
    if personal and current_staff().role != "admin":
        flash("只有管理员可以导出个人信息。", "error")
        return redirect(url_for("console.export_form"), code=303)
    if personal and not reason:
        flash("导出个人信息须填写理由。", "error")
        return redirect(url_for("console.export_form"), code=303)
    fmt = "xlsx" if form.get("format") == "xlsx" else "csv"
    where = filtered(form, deadlines.today_local(current_app), triage=None).whereclause
    detail = f"格式 {fmt}；个人信息：{'包含，理由：' + reason if personal else '不含'}"
    if personal:  # never without its audit entry: while the database is held, the busy page instead
        s = session()
        audit.record(s, "export", detail=detail)
        s.commit()
    else:
        audit.record_if_free("export", detail=detail)
    fields = FIELDS + PERSONAL if personal else FIELDS
    branches = {code: b.name for code, b in rules(current_app).branches.branches.items()}
    # _rows needs no request context: the file streams after the view has returned.
    rows = _rows(get_db(), where, fields, personal, branches)
    name = f"leads-{deadlines.today_local(current_app).isoformat()}.{fmt}"
    headers = {"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"}
    if fmt == "csv":
        return Response(_csv([h for h, _ in fields], rows), mimetype="text/csv; charset=utf-8", headers=headers)
    return Response(_xlsx([h for h, _ in fields], rows), mimetype=XLSX, headers=headers)


def _rows(db: Database, where, fields: list, personal: bool, branches: Mapping[str, str]) -> Iterator[list]:
    """The rows, read in batches by id, each batch in its own short read transaction (never every row at once,
    never the writers' lock)."""
    columns = [c for _, c in fields]
    last = 0
    while True:
        stmt = select(Lead.id, *columns).where(Lead.id > last).order_by(Lead.id).limit(BATCH)
        if where is not None:
            stmt = stmt.where(where)
        with db.reading() as s:
            batch = s.execute(stmt).all()
        if not batch:
            return
        for row in batch:
            yield [_cell(h, v, personal, branches) for (h, _), v in zip(fields, row[1:], strict=True)]
        last = batch[-1][0]


def _cell(header: str, value, personal: bool, branches: Mapping[str, str]):
    """A value as the file holds it: numbers and dates keep their type, codes become names, text is made safe."""
    if header == "承办分局":
        value = branches.get(value, value) if value else UNASSIGNED
    if value is None:
        return ""
    if header == "类型":
        return KIND_NAMES.get(value, value)
    if isinstance(value, int | float | Decimal | date):
        return value
    if header == "消费日期":
        value = _full_date(value) or value
        if isinstance(value, date):
            return value
    if header in FREE_TEXT and not personal:
        value = mask_text(value)  # a phone number typed into the facts is personal data too
    return spreadsheet_text(str(value))


def _full_date(text: str) -> date | None:
    """2026-11-20, 2026/11/20, 2026.11.20 or 2026年11月20日 as a date; None for anything else."""
    found = FULL_DATE.fullmatch(text.strip())
    if not found:
        return None
    try:
        return date(*(int(part) for part in found.groups()))
    except ValueError:
        return None


def _csv(header: list[str], rows: Iterator[list]) -> Iterator[str]:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(header)
    yield "\ufeff" + buf.getvalue()  # the BOM lets Excel open UTF-8 correctly
    for row in rows:
        buf.seek(0)
        buf.truncate()
        writer.writerow([v.isoformat() if isinstance(v, date) else v for v in row])
        yield buf.getvalue()


def _xlsx(header: list[str], rows: Iterator[list]) -> Iterator[bytes]:
    """A write-only workbook (rows go straight to a temporary file), then streamed out in chunks."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("线索")
    ws.freeze_panes = "B2"  # the header row and the ticket stay in view
    for i, title in enumerate(header, 1):
        ws.column_dimensions[get_column_letter(i)].width = WIDTHS.get(title, 14)
    ws.append([_typed(ws, title, bold=True) for title in header])
    for row in rows:
        ws.append([_typed(ws, v) for v in row])
    fd, path = tempfile.mkstemp(suffix=".xlsx")
    os.close(fd)
    try:
        wb.save(path)
        with open(path, "rb") as fh:
            while chunk := fh.read(64 * 1024):
                yield chunk
    finally:
        os.unlink(path)


def _typed(ws, value, *, bold: bool = False):
    """A cell for the write-only sheet: a date or an amount with its format; text (already made safe) as it is."""
    if isinstance(value, date):
        cell = WriteOnlyCell(ws, value=value)
        cell.number_format = DATE_FORMAT
    elif isinstance(value, Decimal | float):
        cell = WriteOnlyCell(ws, value=float(value))
        cell.number_format = AMOUNT_FORMAT
    elif bold:
        cell = WriteOnlyCell(ws, value=value)
        cell.font = Font(bold=True)
    else:
        return value
    return cell
