"""The calendar past the published years: `flask calendar`, deadlines recomputed when `[calendar]` changes, the
moved-earlier flag in the queue and the admins' banner."""

from __future__ import annotations

import re
from datetime import date

from sqlalchemy import select

from bot import create_app
from bot.db import get_db
from bot.leads.create import set_initial_deadlines
from bot.leads.recompute import FINGERPRINT_KEY, recompute_if_calendar_changed
from bot.leads.settings import LeadsSettings
from bot.leads.workflow import transition
from bot.models import KeyValue, Lead, LeadEvent
from tests.conftest import make_config
from tests.console_support import Staff, add_lead, add_staff
from tests.timekeeping import at

# The 2027 arrangement as the bureau would enter it: here, Saturday 2027-01-02 made a working day (调休).
EDITED = {"calendar": {"workdays": ["2027-01-02"]}}


def _cli(app, *args):
    result = app.test_cli_runner().invoke(args=list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_status_names_each_years_source_and_what_is_missing(app):
    at(2026, 12, 5)
    out = _cli(app, "calendar", "status")
    assert "2026 年：国务院已公布的放假安排" in out
    assert "2027 年：仅法定节假日（调休安排尚未公布）" in out and "[calendar]" in out
    assert "2028 年：仅法定节假日" in out
    assert "日历指纹：" in out


def test_status_follows_the_config(db_url):
    at(2027, 3, 1)
    app = create_app(make_config(db_url, **EDITED))
    out = _cli(app, "calendar", "status", "--years", "2")
    assert "2027 年：配置文件 [calendar] 中登记的放假安排" in out and "2028 年：仅法定节假日" in out
    app.extensions["db"].engine.dispose()


def test_workdays_gives_the_last_day_as_the_leads_count_it(app):
    out = _cli(app, "calendar", "workdays", "2026-12-31", "7")
    assert "期限届满日：2027-01-12" in out
    assert "期限届满日：2027-02-17" in _cli(app, "calendar", "workdays", "2027-02-04", "7")
    assert "期限届满日：2026-12-09" in _cli(app, "calendar", "workdays", "2026-11-30", "7")
    sixty = _cli(app, "calendar", "workdays", "--calendar-days", "2026-11-02", "60")
    assert "期限届满日：2027-01-04" in sixty


def test_workdays_refuses_a_malformed_date(app):
    result = app.test_cli_runner().invoke(args=["calendar", "workdays", "2026-13-01", "7"])
    assert result.exit_code == 2 and "2026-13-01" in result.output


def _complaint(app, received: date, **fields) -> int:
    """A complaint received on `received` with its deadlines computed as the app computes them at filing."""
    lead_id = add_lead(app, received_on=received, **fields)
    with get_db(app).scope() as s:
        lead = s.get(Lead, lead_id)
        set_initial_deadlines(app, lead)
    return lead_id


def test_a_config_change_recomputes_open_leads_with_a_timeline_event(db_url):
    at(2026, 12, 31, 15)
    first = create_app(make_config(db_url))
    open_id = _complaint(first, date(2026, 12, 31))
    closed_id = _complaint(first, date(2026, 12, 31), status="不予受理")
    with get_db(first).scope() as s:
        assert s.get(Lead, open_id).accept_due == date(2027, 1, 12)  # statutory 元旦 counted
    assert recompute_if_calendar_changed(first) is not None  # the first fingerprint: nothing to change
    assert recompute_if_calendar_changed(first) is None  # same calendar: nothing done at all

    # The bureau enters the arrangement: Saturday 01-02 is a working day. Day 7 is now 01-11.
    edited = create_app(make_config(db_url, **EDITED))
    assert "2 deadlines changed on 1 leads" in recompute_if_calendar_changed(edited)
    with get_db(edited).scope() as s:
        lead = s.get(Lead, open_id)
        assert (lead.accept_due, lead.next_due) == (date(2027, 1, 11), date(2027, 1, 11))
        assert s.get(Lead, closed_id).accept_due == date(2027, 1, 12)  # a closed lead is left as it was
        (event,) = s.scalars(select(LeadEvent).where(LeadEvent.lead_id == open_id, LeadEvent.kind != "created"))
        assert event.kind == "deadlines_recomputed" and event.actor_id is None
        assert {"field": "accept_due", "old": "2027-01-12", "new": "2027-01-11"} in event.detail["changes"]
        assert s.get(KeyValue, FINGERPRINT_KEY).value == edited.extensions["work_calendar"].fingerprint()
    assert recompute_if_calendar_changed(edited) is None

    # Staff see it: the timeline says what moved, the queue flags the lead until it changes status.
    add_staff(edited, "h", "handler", "shiqi")
    staff = Staff(edited, "h")
    page = staff.get(f"/console/leads/{open_id}").get_data(as_text=True)
    assert "工作日历更新，期限重新计算" in page and "受理期限：2027-01-12 → 2027-01-11（提前）" in page
    queue = staff.get("/console/queue").get_data(as_text=True)
    assert re.search(r"2027-01-11 <span class=\"badge moved\"[^>]*>期限提前</span>", queue)
    with get_db(edited).scope() as s:
        today = date(2026, 12, 31)
        transition(s, s.get(Lead, open_id), "已受理", today=today, periods=LeadsSettings.of(edited))
    assert "期限提前" not in staff.get("/console/queue").get_data(as_text=True)
    for made in (first, edited):
        made.extensions["db"].engine.dispose()


def test_mediation_and_extension_are_recomputed_from_their_own_events(app):
    """Accepted 2026-11-02 with 3 paused days; a report extended once: both computed again from those events."""
    mediating = add_lead(
        app,
        received_on=date(2026, 10, 26),
        status="调解中",
        accepted_on=date(2026, 11, 2),
        mediation_due=date(2026, 12, 31),  # stored wrong: 60 + 3 paused days is 2027-01-04, 元旦 then a weekend
        next_due=date(2026, 12, 31),
        extra={"paused_days": 3},
    )
    paused = add_lead(
        app, received_on=date(2026, 10, 26), status="已受理", accepted_on=date(2026, 11, 2), next_due=None,
        mediation_due=date(2027, 1, 1), extra={"paused_since": "2026-11-20"},
    )  # fmt: skip
    report = add_lead(
        app, kind="report", received_on=date(2026, 12, 1), status="核查中", extra={"extended": {"days": 15}},
        verify_due=date(2026, 12, 22), next_due=date(2026, 12, 22),
    )  # fmt: skip
    out = _cli(app, "leads", "recompute-deadlines", "--dry-run")
    assert "将变更" in out and "未写入" in out
    with get_db(app).scope() as s:
        assert s.get(Lead, mediating).mediation_due == date(2026, 12, 31)  # a dry run writes nothing
    out = _cli(app, "leads", "recompute-deadlines")
    assert "调解期限：2026-12-31 → 2027-01-04" in out
    with get_db(app).scope() as s:
        assert s.get(Lead, mediating).next_due == date(2027, 1, 4)
        stopped = s.get(Lead, paused)
        assert stopped.next_due is None and stopped.mediation_due == date(2027, 1, 4)  # no clock runs while paused
        # 15 working days from 12-01 end 12-22; the extension's 15 more: 2027-01-13 (元旦 counted as a holiday).
        assert s.get(Lead, report).verify_due == date(2027, 1, 13)
    assert "已变更 0 个期限" in _cli(app, "leads", "recompute-deadlines")


def test_admins_see_a_banner_while_an_open_deadline_falls_in_an_unpublished_year(app):
    at(2026, 12, 20)
    add_staff(app, "boss", "admin")
    add_staff(app, "h", "handler", "shiqi")
    lead_id = _complaint(app, date(2026, 12, 3))  # due 2026-12-14: nothing in 2027 yet
    admin = Staff(app, "boss")
    assert "工作日历不完整" not in admin.get("/console/queue").get_data(as_text=True)
    _complaint(app, date(2026, 12, 28))  # due in January 2027
    page = admin.get("/console/queue").get_data(as_text=True)
    assert "工作日历不完整" in page and "2027 年：仅法定节假日（调休安排尚未公布）" in page
    assert "工作日历不完整" not in Staff(app, "h").get("/console/queue").get_data(as_text=True)
    assert lead_id
