"""Art 17 signs on a complaint, as a handler reads them: several complainants sharing one phone number or address
(counted as people), and many complaints in a short time about one business or one kind of problem. They are shown
for staff to weigh; nothing is refused by itself."""

from __future__ import annotations

from datetime import date

from bot.db import get_db
from bot.models import Lead
from tests.console_support import OTHER_PHONE, Staff, add_lead, add_staff

ME = "oUser000000000000000000001"  # add_lead's default WeChat user


def _page(app, lead_id) -> str:
    return Staff(app, "h").get(f"/console/leads/{lead_id}").get_data(as_text=True)


def test_a_complaint_and_the_report_filed_with_it_are_one_person(app):
    add_staff(app, "h", "handler", "shiqi")
    complaint = add_lead(app, received_on=date(2026, 11, 30))
    report = add_lead(app, kind="report", split_from_id=complaint, received_on=date(2026, 11, 30))
    add_lead(app, received_on=date(2026, 10, 1), business_name="上个月的另一家")  # the same person's own complaint
    for lead_id in (complaint, report):
        page = _page(app, lead_id)
        assert "同一电话号码的其他投诉人" not in page and "同一通讯地址的其他投诉人" not in page
        assert "第十七条" not in page


def test_other_people_sharing_a_phone_number_are_counted_as_people(app):
    add_staff(app, "h", "handler", "shiqi")
    lead_id = add_lead(app, received_on=date(2026, 11, 30))
    add_lead(app, openid="oOther1", address="别处1", business_name="商户甲")
    add_lead(app, openid="oOther1", address="别处2", business_name="商户乙")  # the same other person twice
    add_lead(app, openid="oOther2", address="别处3", business_name="商户丙")
    add_lead(app, openid="oOther3", kind="report", address="别处4", business_name="举报的商户")  # a report
    page = _page(app, lead_id)
    assert "另有 2 名投诉人使用同一电话号码" in page and "商户乙" in page and "商户丙" in page
    assert "举报的商户" not in page and "同一通讯地址的其他投诉人" not in page


def test_many_complaints_count_only_one_business_or_one_kind_of_problem(app):
    add_staff(app, "h", "handler", "shiqi")
    day = date(2026, 11, 20)
    lead_id = add_lead(app, received_on=date(2026, 11, 30), business_name="好又多超市", category="促销活动")
    for i, category in enumerate(("网络餐饮", "直播带货", "两品一械")):  # three others, each a different matter
        add_lead(app, received_on=day, business_name=f"商户{i}", category=category, phone=OTHER_PHONE, address="x")
    assert "短时间内多次投诉" not in _page(app, lead_id)
    add_lead(app, received_on=day, business_name="好又多超市", category="其他", phone=None, address=None)
    add_lead(app, received_on=day, business_name="另一家", category="促销活动", phone=None, address=None)
    page = _page(app, lead_id)
    assert "30 天内针对同一经营者或同类问题（促销活动）提交投诉 3 件" in page and "仅供研判" in page
    with get_db(app).scope() as s:
        assert s.get(Lead, lead_id).status == "新线索"  # a sign for staff, never a refusal
