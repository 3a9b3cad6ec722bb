"""A filing that is both a complaint and a report becomes two leads (Order 121 Art 9): both carry the photos, and
each lead's page names and links the other."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from bot import create_app, outbox
from bot.db import get_db
from bot.models import Evidence, Lead
from tests.console_support import Staff, add_lead, add_staff
from tests.leads_support import OFFLINE_COMPLAINT, Chat


def _drain(app):
    for _ in range(10):
        if outbox.run_due(app) == 0:
            return


def test_the_split_report_gets_the_photos_and_a_link_both_ways(db_url, standin, tmp_path):
    app = create_app(
        standin.config(db_url, outbox={"backoff_seconds": 0}, leads={"evidence_dir": str(tmp_path / "evidence")})
    )
    early, late = b"\xff\xd8\xff\xe0" + b"A" * 64, b"\x89PNG\r\n\x1a\n" + b"B" * 64
    early_id = standin.media(early, "image/jpeg", "o-consumer-0001")
    late_id = standin.media(late, "image/png", "o-consumer-0001")
    chat = Chat(app)
    for answer, step in OFFLINE_COMPLAINT:
        chat.send("是" if step == "name" else answer)  # 同时举报: yes
        if step == "facts":
            chat.photo(early_id)
            _drain(app)  # this one is downloaded before the filing is confirmed
            chat.photo(late_id)  # this one after
    assert "已分别登记" in chat.send("确认")
    _drain(app)
    with get_db(app).scope() as s:
        complaint, report = s.scalars(select(Lead).order_by(Lead.id)).all()
        assert (complaint.kind, report.kind, report.split_from_id) == ("complaint", "report", complaint.id)
        rows = s.scalars(select(Evidence).order_by(Evidence.id)).all()
        stored = {(e.lead_id, Path(e.path).read_bytes()) for e in rows if e.state == "stored"}
        ids = {lead_id: [e.id for e in rows if e.lead_id == lead_id] for lead_id in (complaint.id, report.id)}
        tickets = complaint.ticket, report.ticket
    assert stored == {(complaint.id, early), (complaint.id, late), (report.id, early), (report.id, late)}
    assert len(standin.calls("media/get")) == 2  # one download per photo, shared by both leads
    add_staff(app, "h", "handler", complaint.branch)
    staff = Staff(app, "h")
    complaint_page = staff.get(f"/console/leads/{complaint.id}").get_data(as_text=True)
    report_page = staff.get(f"/console/leads/{report.id}").get_data(as_text=True)
    link = '{}</dt><dd class="twin"><a href="/console/leads/{}">{}</a>'
    assert link.format("同时登记的举报", report.id, tickets[1]) in complaint_page
    assert link.format("分自投诉", complaint.id, tickets[0]) in report_page
    for evidence_id in ids[report.id]:
        assert f'src="/console/evidence/{evidence_id}"' in report_page
    assert staff.get(f"/console/evidence/{ids[report.id][1]}").data == late
    app.extensions["db"].engine.dispose()


def test_a_twin_in_another_branch_is_named_not_linked(app):
    add_staff(app, "h", "handler", "shiqi")
    complaint = add_lead(app, branch="shiqi")
    report = add_lead(app, kind="report", branch="dongqu", split_from_id=complaint, ticket="T-TWIN-0001")
    page = Staff(app, "h").get(f"/console/leads/{complaint}").get_data(as_text=True)
    assert "同时登记的举报" in page and "T-TWIN-0001（新线索，东区街道分局" in page
    assert f'href="/console/leads/{report}"' not in page
