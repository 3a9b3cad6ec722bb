"""The dialogue as consumers really answer: in their own words, correcting one answer at the confirmation,
choosing anonymity after typing their contacts, and sending things that are not answers at all."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import select
from sqlalchemy import text as sql

from bot.db import get_db
from bot.models import DialogueState, Lead
from tests.leads_support import OFFLINE_COMPLAINT, PROMPT, Chat, text
from tests.wechat_user import event_xml, make_wechat

IN_WORDS = [  # (what the consumer writes, a phrase of the reply) — no digit for a choice, 对的 to confirm
    ("我想投诉一家网店，让他们退钱", text("steps.online.prompt")),
    ("在淘宝买的", text("steps.business.prompt")),  # the platform is named: its own question is skipped
    ("优品家居旗舰店", text("steps.address.prompt")),
    ("不知道", text("steps.item.prompt")),
    ("一个电热水壶", text("steps.when.prompt")),
    ("上周六", text("steps.amount.prompt")),
    ("两百九十九块", text("steps.facts.prompt")),
    ("用了两次就不加热了，找客服说过了七天不给退，只能自己寄去修。", text("steps.request.prompt")),
    ("退货退款", text("steps.also_report.prompt")),
    ("不用了", text("steps.name.prompt")),
    ("我叫李梅", text("steps.phone.prompt")),
    ("0760-88889999", text("steps.mail_address.prompt")),
    ("小榄镇", text("steps.mail_address.town_only", understood="小榄镇")),
    ("升平中路8号3栋502房", "请核对您填写的内容"),
]


def _lead(app) -> Lead:
    with get_db(app).scope() as s:
        return s.execute(select(Lead)).scalar_one()


def _answers(app, openid: str) -> dict:
    with get_db(app).scope() as s:
        state = s.execute(select(DialogueState).where(DialogueState.openid == openid)).scalar_one()
        return {**json.loads(state.data), "step": state.step}


def test_a_consumer_answering_in_their_own_words_reaches_a_ticket(db_url):
    wx = make_wechat(db_url, "plain")
    openid = "o-in-words"
    assert text("steps.kind.prompt") in wx.post(event_xml(openid, "CLICK", "COMPLAIN")).content
    for said, expected in IN_WORDS:
        reply = wx.text(openid, said).content
        assert expected in reply, (said, reply)
    checked = (
        "2. 消费方式：网上",
        "3. 平台：淘宝",
        "5. 商家地址：未填写",
        "7. 日期：2026年11月28日（上周六）",
        "8. 金额：299 元",
        "12. 姓名：李梅",
        "13. 电话：0760-88889999",
        "14. 通讯地址：小榄镇升平中路8号3栋502房",
    )
    for line in checked:
        assert line in reply, line
    done = wx.text(openid, "对的").content
    assert re.search(r"投诉已提交，编号 20261130-0001", done), done
    lead = _lead(wx.app)
    assert (lead.business_platform, lead.business_name, lead.purchase_date) == ("淘宝", "优品家居旗舰店", "2026-11-28")
    assert (str(lead.amount), lead.name, lead.phone) == ("299.00", "李梅", "0760-88889999")
    assert lead.address == "小榄镇升平中路8号3栋502房" and lead.extra["as_typed"] == {"when": "上周六"}
    assert "平台经营者淘宝" in lead.routing_rule  # Art 13: no published address, the platform operator's domicile
    wx.app.extensions["db"].engine.dispose()


def _to_confirmation(chat: Chat) -> str:
    for answer, _step in OFFLINE_COMPLAINT:
        reply = chat.send(answer)
    assert PROMPT["confirm"] in reply
    return reply


def test_one_answer_corrected_with_gai_n_through_the_webhook(db_url):
    wx = make_wechat(db_url, "safe")
    openid = "o-corrects"
    for answer, _step in OFFLINE_COMPLAINT:
        reply = wx.text(openid, answer).content
    assert "12. 电话：13800138000" in reply
    asked = wx.text(openid, "改12").content
    assert asked.startswith(text("steps.confirm.editing", n=12, label="电话")) and PROMPT["phone"] in asked
    back = wx.text(openid, "139 1234 5678").content
    assert back.startswith(text("steps.confirm.edited")) and "12. 电话：13912345678" in back
    assert "3. 商家：好再来快餐店" in back and "13. 通讯地址：中山市东区中山四路1号" in back  # the rest kept
    assert PROMPT["business"] in wx.text(openid, "修改第三项").content
    assert "3. 商家：好再来餐厅" in wx.text(openid, "好再来餐厅").content
    assert "7. 金额：30 元" in wx.text(openid, "金额改成三十块").content  # the change and its answer at once
    assert "投诉已提交" in wx.text(openid, "确认").content
    lead = _lead(wx.app)
    assert (lead.phone, lead.business_name, str(lead.amount)) == ("13912345678", "好再来餐厅", "30.00")
    assert (lead.item, lead.address) == ("盒饭一份", "中山市东区中山四路1号")
    wx.app.extensions["db"].engine.dispose()


@pytest.mark.parametrize("said", ["改3", "改 3", "修改第三项", "第3项错了", "商家写错了", "把商家改成好再来餐厅"])
def test_the_ways_of_asking_for_a_change(app, said):
    chat = Chat(app)
    _to_confirmation(chat)
    reply = chat.send(said)
    if "改成" in said:
        assert "3. 商家：好再来餐厅" in reply and _answers(app, chat.openid)["step"] == "confirm"
    else:
        assert PROMPT["business"] in reply and _answers(app, chat.openid)["step"] == "business"
        assert "3. 商家：好再来餐厅" in chat.send("好再来餐厅")


def test_what_is_not_a_change_at_the_confirmation(app):
    chat = Chat(app)
    _to_confirmation(chat)
    assert chat.send("改99").startswith(text("steps.confirm.no_such_item", n=99, count=13))
    assert chat.send("修改").startswith(text("steps.confirm.which"))
    assert chat.send("不对").startswith(text("steps.confirm.which"))
    reply = chat.send("电话改成 1391234567")
    assert reply.startswith(text("steps.phone.mobile_length", understood="1391234567", count=10))
    assert PROMPT["confirm"] in chat.send("13800138000")  # the step changed to, answered: back to the check
    assert "投诉已提交" in chat.send("好的")


def test_a_change_that_calls_for_a_new_question_asks_it_then_returns(app):
    chat = Chat(app)
    _to_confirmation(chat)
    assert PROMPT["online"] in chat.send("改2")
    assert text("steps.platform.prompt") in chat.send("网上买的")  # online now, and no platform named yet
    reply = chat.send("拼多多")
    assert "2. 消费方式：网上" in reply and "3. 平台：拼多多" in reply and "4. 商家：好再来快餐店" in reply
    assert text("steps.kind.prompt") in chat.send("改1")
    reply = chat.send("举报")
    assert "1. 类别：举报" in reply and "诉求：" not in reply and "同时举报：" not in reply


def _report_with_contacts(chat: Chat) -> str:
    chat.send("举报")
    for answer in ("2", "老街药房", "小榄镇升平中路8号", "处方药", "跳过", "跳过",
                   "店里不凭处方就卖抗生素，还卖过期的感冒药，我亲眼看见好几次。"):  # fmt: skip
        chat.send(answer)
    chat.send("王五")
    chat.send("13600136000")
    return chat.send("东区中山四路1号")


def _lead_row_raw(app) -> tuple:
    with get_db(app).engine.connect() as conn:
        return conn.execute(sql("SELECT name, phone, address, phone_hash, address_hash FROM lead")).one()


def test_anonymity_after_going_back_purges_every_contact_typed_before(app):
    chat = Chat(app)
    assert "10. 电话：13600136000" in _report_with_contacts(chat)
    while _answers(app, chat.openid)["step"] != "name":
        chat.send("返回")
    summary = chat.send("匿名")
    assert "姓名：匿名" in summary and "13600136000" not in summary and "中山四路" not in summary
    kept = json.dumps(_answers(app, chat.openid), ensure_ascii=False)
    assert "13600136000" not in kept and "中山四路" not in kept and "王五" not in kept
    assert "举报已提交" in chat.send("确认")
    lead = _lead(app)
    assert (lead.name, lead.phone, lead.address, lead.extra["anonymous"]) == (None, None, None, True)
    assert _lead_row_raw(app) == (None, None, None, None, None)  # nothing stored, not even encrypted or hashed


def test_anonymity_chosen_as_a_change_at_the_confirmation(app):
    chat = Chat(app)
    _report_with_contacts(chat)
    reply = chat.send("姓名改成匿名")
    assert "姓名：匿名" in reply and "电话：" not in reply and "通讯地址：" not in reply
    assert "举报已提交" in chat.send("对的")
    assert _lead_row_raw(app) == (None, None, None, None, None)


def _walk(chat: Chat, upto: str) -> None:
    for answer, step in OFFLINE_COMPLAINT:
        chat.send(answer)
        if step == upto:
            return


def test_two_misses_on_a_choice_offer_the_numbers_which_still_work(app):
    chat = Chat(app)
    chat.click("COMPLAIN")
    first = chat.send("随便问问")
    assert first.startswith(text("steps.kind.invalid")) and text("steps.kind.numbered") not in first
    assert text("steps.kind.numbered") in chat.send("不清楚")
    assert text("steps.online.prompt") in chat.send("1")
    chat.send("你猜")
    assert text("steps.online.numbered") in chat.send("不好说")
    assert PROMPT["business"] in chat.send("2")


def test_a_pin_with_only_a_town_asks_for_the_street_and_keeps_the_town(app):
    chat = Chat(app)
    _walk(chat, "address")
    assert chat.location("").startswith(text("steps.address.pin_unreadable"))
    reply = chat.location("广东省中山市小榄镇", lat=22.6672, lng=113.2449)
    assert reply.startswith(text("steps.address.pin_town_only", understood="小榄镇"))
    assert PROMPT["item"] in chat.send("升平中路8号")
    for answer, _step in OFFLINE_COMPLAINT[4:]:
        chat.send(answer)
    assert "投诉已提交" in chat.send("确认")
    lead = _lead(app)
    assert lead.business_address == "广东省中山市小榄镇升平中路8号" and lead.branch == "xiaolan"
    assert lead.extra["address_location"]["lat"] == 22.6672


BAD = ["", "   ", "😀😀😀", "👍", "🙏🙏。。。", "[微笑]", "好" * 5000, "这个 product 很 bad，I want a refund!!"]


@pytest.mark.parametrize("step", ["online", "when", "amount", "phone", "confirm"])
@pytest.mark.parametrize("said", BAD, ids=["empty", "spaces", "emoji", "thumb", "emoji-dots", "sticker", "5000",
                                             "mixed"])  # fmt: skip
def test_what_is_not_an_answer_gets_a_kind_reask(app, step, said):
    chat = Chat(app)
    if step == "confirm":
        _to_confirmation(chat)
    else:
        _walk(chat, step)
    reply = chat.send(said)
    assert reply and "Traceback" not in reply and len(reply) < 1200
    assert _answers(app, chat.openid)["step"] == step
    kinds = [text(f"control.{k}") for k in ("empty", "not_text")]
    kinds += [v for k, v in (text(f"steps.{step}") | {}).items() if isinstance(v, str) and "{" not in v]
    assert any(reply.startswith(k.split("{")[0]) for k in kinds), reply


def test_bad_input_through_the_webhook(db_url):
    wx = make_wechat(db_url, "safe")
    openid = "o-bad-input"
    wx.text(openid, "投诉")
    for said in ("😀", "好" * 5000, "I bought it on 淘宝 last week", " "):
        result = wx.text(openid, said)
        assert result.status == 200 and result.content, said
    assert text("steps.business.prompt") in result.content or "请" in result.content
    wx.app.extensions["db"].engine.dispose()


def test_staff_see_the_resolved_date_and_the_range_beside_the_consumers_words(app):
    from tests.console_support import Staff, add_staff

    chat = Chat(app)
    answers = list(OFFLINE_COMPLAINT)
    answers[5], answers[6] = ("上周六晚上", "amount"), ("大概五六百", "facts")
    for answer, _step in answers:
        reply = chat.send(answer)
    assert "6. 日期：2026年11月28日（上周六）" in reply and "7. 金额：500–600 元（大概五六百）" in reply
    chat.send("确认")
    lead = _lead(app)
    assert (lead.purchase_date, str(lead.amount), lead.extra["amount_high"]) == ("2026-11-28", "500.00", "600")
    assert lead.extra["as_typed"] == {"when": "上周六晚上", "amount": "大概五六百"}
    add_staff(app, "xiaolan-handler", "handler", "xiaolan")
    page = Staff(app, "xiaolan-handler").get(f"/console/leads/{lead.id}").get_data(as_text=True)
    assert "2026-11-28（消费者原话：上周六晚上）" in page and "500.00–600 元（消费者原话：大概五六百）" in page


def test_relative_dates_follow_the_day_the_message_was_sent(app):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    chat = Chat(app, now=datetime(2030, 6, 1, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai")))  # a Saturday
    _walk(chat, "when")
    chat.send("上周六")
    assert _answers(app, chat.openid)["when"] == "2030-05-25"
