"""Reads never take the writers' lock: with another process holding SQLite's write lock, console pages and exports
answer at once with the right data, while a console write gets the bounded busy page and stores nothing."""

from __future__ import annotations

import logging
import subprocess
import sys
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, make_url, select

from bot import create_app
from bot.db import get_db
from bot.models import AuditEntry, LeadEvent
from tests.conftest import make_config
from tests.console_support import Staff, add_lead, add_staff
from tests.test_db_faults import HOLDER


def _timed(call):
    started = time.monotonic()
    response = call()
    body = response.get_data(as_text=True)  # an export streams: the time is the whole download's
    return response, body, time.monotonic() - started


def _count(app, model, *where) -> int:
    with get_db(app).scope() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


@pytest.mark.wall_clock
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("how", ["transaction", "writer-lock"])
def test_console_reads_and_exports_answer_while_another_process_holds_the_write_lock(db_url, how, clock, caplog):
    app = create_app(make_config(db_url))
    add_staff(app, "he", "admin")
    lead_id = add_lead(app, ticket="T-HELD-0001", business_name="永不打烊便利店")
    staff = Staff(app, "he")
    clock.advance(timedelta(minutes=2))  # the session's idle clock is due to be written: it must not hold a page up
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, make_url(db_url).database, how], stdout=subprocess.PIPE)
    try:
        assert holder.stdout.readline().strip() == b"held"
        queue, page, took = _timed(lambda: staff.get("/console/queue"))
        assert queue.status_code == 200 and "永不打烊便利店" in page and took < 1.0
        lead, page, took = _timed(lambda: staff.get(f"/console/leads/{lead_id}"))
        assert lead.status_code == 200 and "T-HELD-0001" in page and took < 1.0
        with caplog.at_level(logging.WARNING, logger="bot.console.audit"):
            export, csv_text, took = _timed(lambda: staff.post("/console/export", {"format": "csv", "status": "all"}))
        assert export.status_code == 200 and "T-HELD-0001,投诉" in csv_text and took < 1.0
        assert "audit entry logged here, not stored" in caplog.text and "actor=he" in caplog.text
        note, page, took = _timed(lambda: staff.post(f"/console/leads/{lead_id}/note", {"text": "电话联系未接通"}))
        assert note.status_code == 503 and "系统繁忙" in page and took < 4.0  # the writers' bounded wait
        if how == "writer-lock":  # personal data never leaves without its audit entry
            personal = {"format": "csv", "status": "all", "personal": "1", "reason": "移送公安机关"}
            refused, page, _ = _timed(lambda: staff.post("/console/export", personal))
            assert refused.status_code == 503 and "永不打烊便利店" not in page
    finally:
        holder.kill()
        holder.wait(timeout=10)
        holder.stdout.close()
    assert _count(app, LeadEvent, LeadEvent.kind == "note") == 0  # the refused write left nothing behind
    assert _count(app, AuditEntry, AuditEntry.action == "export") == 0
    assert staff.post(f"/console/leads/{lead_id}/note", {"text": "电话联系未接通"}).status_code == 303
    assert staff.post("/console/export", {"format": "csv"}).status_code == 200
    assert _count(app, LeadEvent, LeadEvent.kind == "note") == 1
    assert _count(app, AuditEntry, AuditEntry.action == "export") == 1


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_what_a_request_writes_is_read_back_in_the_same_request(db_url):
    """The reading session starts a new snapshot when the request's writing session commits: the lead page shown
    after a reveal reads the lead as it is now."""
    app = create_app(make_config(db_url))
    add_staff(app, "he", "admin")
    lead_id = add_lead(app)
    staff = Staff(app, "he")
    shown = staff.post(f"/console/leads/{lead_id}/reveal", {"reason": "回访核实"})
    assert shown.status_code == 200 and "13812345678" in shown.get_data(as_text=True)
    with app.test_request_context():
        from bot.db import read_session, session

        before = read_session().scalar(select(func.count()).select_from(AuditEntry))
        s = session()
        s.add(AuditEntry(action="note", detail="x"))
        s.commit()
        assert read_session().scalar(select(func.count()).select_from(AuditEntry)) == before + 1


@pytest.mark.wall_clock
def test_an_in_memory_database_reads_and_writes_without_waiting_for_itself(clock):
    """On `sqlite://` (one connection per thread, no other writer) readers share the request's session: the idle
    clock, an export's audit entry and a note are written at once, never after a wait for the thread's own lock."""
    app = create_app(make_config("sqlite://"))
    add_staff(app, "he", "admin")
    lead_id = add_lead(app, ticket="T-MEM-0001")
    staff = Staff(app, "he")
    clock.advance(timedelta(minutes=2))
    for call in (
        lambda: staff.get("/console/queue"),
        lambda: staff.post("/console/export", {"format": "csv", "status": "all"}),
        lambda: staff.post(f"/console/leads/{lead_id}/note", {"text": "已回访"}),
    ):
        response, _body, took = _timed(call)
        assert response.status_code in (200, 303) and took < 1.0
    assert _count(app, AuditEntry, AuditEntry.action == "export") == 1
