"""Ending mediation (Order 121 Art 23): the sixty-day ground only once the limit has passed, and a party's refusal
of mediation at the outset (Art 18) recorded without a detour through 调解中."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from bot.db import get_db
from bot.leads.periods import pause_mediation
from bot.leads.workflow import Decision, TransitionError, termination_grounds, transition
from bot.models import Lead, LeadEvent
from tests.console_support import Staff, add_lead, add_staff
from tests.timekeeping import at

LIMIT_OPTION = '<option value="23-5">'


def test_the_sixty_day_ground_waits_for_the_limit(app):
    """Accepted 2026-11-30: the limit's last day is 2027-01-29; 23-5 from 2027-01-30 on, never while paused."""
    lead_id = add_lead(app, received_on=date(2026, 11, 27))
    with get_db(app).scope() as s:
        lead = s.get(Lead, lead_id)
        transition(s, lead, "已受理", today=date(2026, 11, 30))
        transition(s, lead, "调解中", today=date(2026, 12, 1))
        assert lead.mediation_due == date(2027, 1, 29)
        for day in (date(2026, 12, 2), date(2027, 1, 29)):
            assert "23-5" not in termination_grounds(lead, day)
            with pytest.raises(TransitionError, match="尚未届满"):
                transition(s, lead, "终止调解", Decision(ground="23-5"), today=day)
        assert lead.status == "调解中" and "23-5" in termination_grounds(lead, date(2027, 1, 30))
        pause_mediation(s, lead, date(2027, 1, 20), "委托检测")
        assert "23-5" not in termination_grounds(lead, date(2027, 2, 10))  # the paused days do not count
        with pytest.raises(TransitionError, match="因鉴定或检测中止"):
            transition(s, lead, "终止调解", Decision(ground="23-5"), today=date(2027, 2, 10))


def test_the_console_offers_the_sixty_day_ground_only_after_the_limit(app):
    add_staff(app, "h", "handler", "shiqi")
    lead_id = add_lead(app, received_on=date(2026, 11, 27))
    url = f"/console/leads/{lead_id}"
    staff = Staff(app, "h")
    staff.post(f"{url}/status", data={"to": "已受理"})
    at(2026, 12, 3)  # day 3 of mediation
    staff = Staff(app, "h")
    staff.post(f"{url}/status", data={"to": "调解中"})
    page = staff.get(url).get_data(as_text=True)
    assert "变更为“终止调解”" in page and LIMIT_OPTION not in page and "须待调解期限届满后" in page
    early = staff.post(f"{url}/status", data={"to": "终止调解", "ground": "23-5"})
    assert early.status_code == 409 and "尚未届满" in early.get_data(as_text=True)
    with get_db(app).scope() as s:
        assert s.get(Lead, lead_id).status == "调解中"
    at(2027, 2, 1)
    staff = Staff(app, "h")
    assert LIMIT_OPTION in staff.get(url).get_data(as_text=True)
    assert staff.post(f"{url}/status", data={"to": "终止调解", "ground": "23-5"}).status_code == 303
    with get_db(app).scope() as s:
        lead = s.get(Lead, lead_id)
        assert (lead.status, lead.outcome) == ("终止调解", "自受理之日起六十日内未达成调解协议")


def test_a_party_refusing_mediation_ends_it_straight_after_acceptance(app):
    add_staff(app, "h", "handler", "shiqi")
    lead_id = add_lead(app, received_on=date(2026, 11, 27))
    url = f"/console/leads/{lead_id}"
    staff = Staff(app, "h")
    staff.post(f"{url}/status", data={"to": "已受理"})
    page = staff.get(url).get_data(as_text=True)
    assert "变更为“终止调解”" in page and "调解须经双方同意（第十八条）" in page
    unnamed = staff.post(f"{url}/status", data={"to": "终止调解", "ground": "23-2"})
    assert unnamed.status_code == 409 and "请选择拒绝或者不参加调解的一方" in unnamed.get_data(as_text=True)
    refusal = {"to": "终止调解", "ground": "23-2", "party": "business", "remark": "商家电话表示不同意调解"}
    done = staff.post(f"{url}/status", data=refusal)
    assert done.status_code == 303
    with get_db(app).scope() as s:
        lead = s.get(Lead, lead_id)
        assert lead.status == "终止调解" and lead.outcome == "一方当事人无正当理由拒绝或者不参加调解（被投诉人）"
        events = s.scalars(select(LeadEvent).where(LeadEvent.lead_id == lead_id, LeadEvent.kind == "status")).all()
        assert [e.status for e in events] == ["已受理", "终止调解"]
        assert events[-1].detail["from"] == "已受理" and events[-1].detail["party"] == "被投诉人"
        assert events[-1].detail["notify_due"] == "2026-12-09"  # Art 23 last ¶: 7 working days
    final = staff.get(url).get_data(as_text=True)
    assert "所涉一方：被投诉人" in final and "商家电话表示不同意调解" in final
