"""The complaint/report dialogue driven through the app's router, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy import text as sql

from bot import create_app
from bot.db import get_db
from bot.models import DialogueState, Evidence, Lead, OutboxItem
from tests.conftest import make_config
from tests.leads_support import OFFLINE_COMPLAINT, PROMPT, Chat, file_complaint, text


def _state(app, openid="o-consumer-0001"):
    with get_db(app).scope() as s:
        return s.execute(select(DialogueState).where(DialogueState.openid == openid)).scalar_one_or_none()


def _leads(app):
    with get_db(app).scope() as s:
        return s.execute(select(Lead).order_by(Lead.id)).scalars().all()


def test_a_whole_complaint_from_the_word_to_the_ticket(app):
    chat = Chat(app)
    for answer, next_step in OFFLINE_COMPLAINT:
        reply = chat.send(answer)
        assert PROMPT[next_step] in reply, (answer, reply)
    assert "电话：13800138000" in reply  # the consumer's own phone, in full, in their own chat
    assert "3. 商家：好再来快餐店" in reply and "7. 金额：25 元" in reply and "日期：2026年11月28日（星期六）" in reply
    done = chat.send("确认")
    assert "投诉已提交，编号 20261130-0001" in done
    assert "2026年12月9日 前决定是否受理" in done  # 7 working days after Monday 30 November
    assert "进度 20261130-0001" in done
    [lead] = _leads(app)
    assert (lead.kind, lead.status, lead.category, lead.branch) == ("complaint", "新线索", "网络餐饮", "xiaolan")
    assert lead.category_rule.endswith("头发") and "小榄" in lead.routing_rule
    assert (lead.name, lead.phone, lead.address) == ("张三丰", "13800138000", "中山市东区中山四路1号")
    assert str(lead.amount) == "25.00" and lead.request == "退款25元并道歉" and lead.phone_hash
    assert lead.purchase_date == "2026-11-28" and lead.extra["as_typed"] == {"when": "11月28日中午"}
    assert lead.accept_due.isoformat() == "2026-12-09" == lead.next_due.isoformat()
    assert _state(app) is None
    with get_db(app).engine.connect() as conn:  # at rest the personal data is ciphertext
        raw = conn.execute(sql("SELECT name, phone, address FROM lead")).one()
    assert all("张三丰" not in v and "13800138000" not in v and "中山四路" not in v for v in raw)


def test_an_anonymous_online_report_from_the_menu(app):
    chat = Chat(app)
    assert text("steps.kind.prompt") in chat.click("COMPLAIN")
    assert text("steps.online.prompt_report") in chat.send("2")
    assert text("steps.platform.prompt") in chat.send("1")
    chat.send("淘宝")
    assert text("steps.address.prompt") in chat.send("童乐玩具旗舰店")
    assert text("steps.item.prompt_report") in chat.send("跳过")  # an online seller's address is optional
    assert text("steps.when.prompt_report") in chat.send("儿童电动玩具车")
    chat.send("跳过")
    chat.send("跳过")
    assert text("steps.name.prompt_report") in chat.send("商品页面宣称通过3C认证，实际没有认证标志，电池发烫。")
    summary = chat.send("匿名")
    assert "姓名：匿名" in summary and "电话：" not in summary and "诉求：" not in summary
    assert "8. 金额：未填写" in summary  # a skipped amount, with no 元 after it
    done = chat.send("确认")
    assert "举报已提交，编号 20261130-0001" in done and text("submitted.anonymous") in done
    assert "2026年12月21日 前完成核查" in done  # 15 working days
    [lead] = _leads(app)
    assert (lead.kind, lead.name, lead.phone, lead.category) == ("report", None, None, "一老一小")
    assert lead.branch is None and "待分派" in lead.routing_rule  # a report follows the seller's real place (Art 31)
    assert lead.verify_due.isoformat() == "2026-12-21" and lead.accept_due is None and lead.extra["anonymous"]


def test_a_complaint_that_also_reports_becomes_two_leads(app):
    chat = Chat(app)
    answers = [(a, s) for a, s in OFFLINE_COMPLAINT]
    answers[7] = ("买到的盒饭已经变质发臭，商家还说没问题，拒绝退款。", "request")
    answers[9] = ("是", "name")
    for answer, _ in answers[:9]:
        reply = chat.send(answer)
    assert "提到“变质”" in reply  # the question says what it noticed
    chat.photo("MEDIA-1")
    done = file_complaint(chat, answers[9:])
    assert "投诉编号 20261130-0001，举报编号 20261130-0002" in done
    complaint, report = _leads(app)
    assert (complaint.kind, report.kind, report.split_from_id) == ("complaint", "report", complaint.id)
    assert report.request is None and report.name == "张三丰" and report.branch == "xiaolan"
    with get_db(app).scope() as s:
        rows = s.execute(select(Evidence).order_by(Evidence.id)).scalars().all()
    assert [(e.lead_id, e.media_id) for e in rows] == [(complaint.id, "MEDIA-1"), (report.id, "MEDIA-1")]  # Art 9


def _walk(chat, upto: str):
    """Answer the offline complaint up to the question `upto`."""
    for answer, step in OFFLINE_COMPLAINT:
        chat.send(answer)
        if step == upto:
            return


@pytest.mark.parametrize(
    ("step", "bad", "error", "understood"),
    [
        ("online", "随便", "invalid", {}),
        ("online", "网上看的广告，去店里买的", "both", {}),
        ("business", "a", "too_short", {}),
        ("address", "那家店", "invalid", {}),
        ("address", "小榄镇", "town_only", {"understood": "小榄镇"}),
        ("address", "利和广场", "no_town", {"understood": "利和广场"}),
        ("item", "饭", "too_short", {}),
        ("when", "很久了", "invalid", {}),
        ("when", "这周六", "future", {"understood": "2026年12月5日"}),
        ("when", "上周", "which_day", {"understood": "11月23日至11月29日"}),
        ("amount", "好贵", "invalid", {}),
        ("amount", "几百块", "vague", {"understood": "几百"}),
        ("amount", "99999999999", "too_large", {}),
        ("facts", "太差了", "too_short", {}),
        ("request", "退", "too_short", {}),
        ("also_report", "也许吧", "invalid", {}),
        ("name", "张3", "invalid", {}),
        ("phone", "12345678901", "invalid", {}),
        ("phone", "1380013800", "mobile_length", {"understood": "1380013800", "count": 10}),
        ("phone", "88889999", "no_area_code", {"understood": "88889999"}),
        ("mail_address", "中山", "invalid", {}),
        ("mail_address", "东区中山四路", "no_number", {"understood": "东区中山四路"}),
        ("confirm", "随便吧", "invalid", {}),
    ],
)
def test_every_unclear_answer_gets_its_reask_and_the_step_stays(app, step, bad, error, understood):
    chat = Chat(app)
    _walk(chat, step)
    reply = chat.send(bad)
    assert reply.startswith(text(f"steps.{step}.{error}", **understood))
    assert _state(app).step == step
    if step != "confirm":
        steps = [s for _, s in OFFLINE_COMPLAINT]
        good = OFFLINE_COMPLAINT[steps.index(step) + 1][0]
        chat.send(good)
        assert _state(app).step != step


def test_a_sentence_starting_with_the_wish_starts_too(app):
    chat = Chat(app)
    reply = chat.send("我要举报一家卖假药的店")
    assert reply.startswith(text("start.report")) and text("steps.online.prompt_report") in reply
    assert Chat(app, "o-2").send("我要投诉举报").startswith(text("steps.kind.prompt"))


def test_choice_of_kind_is_checked(app):
    chat = Chat(app)
    chat.click("COMPLAIN")
    assert chat.send("3").startswith(text("steps.kind.invalid"))
    assert text("steps.online.prompt") in chat.send("投诉")


def test_back_goes_one_step_and_the_new_answer_counts(app):
    chat = Chat(app)
    _walk(chat, "item")
    assert PROMPT["address"] in chat.send("返回")
    assert PROMPT["item"] in chat.send("古镇镇海洲灯饰城")
    file_complaint(chat, OFFLINE_COMPLAINT[4:])
    [lead] = _leads(app)
    assert lead.branch == "guzhen" and lead.business_address == "古镇镇海洲灯饰城"


def test_back_at_the_first_question_and_back_to_the_choice(app):
    chat = Chat(app)
    reply = chat.click("COMPLAIN")
    assert chat.send("返回").startswith(text("control.first_step"))
    chat.send("投诉")
    assert text("steps.kind.prompt") in chat.send("返回")  # from the first question back to the choice
    assert text("steps.online.prompt_report") in chat.send("举报") and reply


def test_cancel_works_at_any_step_and_forgets_everything(app):
    chat = Chat(app)
    _walk(chat, "phone")
    chat.photo("MEDIA-CANCEL")
    assert chat.send("取消") == text("control.cancelled")
    assert _state(app) is None
    with get_db(app).scope() as s:
        assert s.scalar(select(func.count()).select_from(Evidence)) == 0
    after = chat.send("张三丰")  # no longer in a dialogue: an ordinary free question, which nothing answers
    assert PROMPT["mail_address"] not in after and "没有找到直接相关的内容" in after
    assert _leads(app) == []


def test_skip_only_where_a_step_is_optional(app):
    chat = Chat(app)
    _walk(chat, "name")
    assert chat.send("跳过").startswith(text("control.cannot_skip"))  # a complaint needs real identity (Art 10)
    assert _state(app).step == "name"


def test_an_idle_dialogue_expires_and_says_so(app):
    chat = Chat(app)
    _walk(chat, "item")
    chat.now += timedelta(minutes=31)
    assert chat.send("盒饭") == text("control.expired", minutes=30)
    assert _state(app) is None
    chat.send("投诉")
    chat.now += timedelta(minutes=31)
    reply = chat.send("投诉")  # expired, and a new one starts at once
    assert reply.startswith(text("control.expired", minutes=30)) and PROMPT["online"] in reply


def test_idle_minutes_is_a_setting(db_url):
    app = create_app(make_config(db_url, dialogue={"idle_minutes": 5}))
    chat = Chat(app)
    chat.send("投诉")
    chat.now += timedelta(minutes=6)
    assert chat.send("1") == text("control.expired", minutes=5)
    app.extensions["db"].engine.dispose()


def test_non_text_answers_get_a_reask_not_a_crash(app):
    chat = Chat(app)
    _walk(chat, "item")
    assert chat.send(type="voice", media_id="V1").startswith(text("control.voice"))
    assert chat.send("[微笑]").startswith(text("control.not_text"))
    assert chat.send("【收到不支持的消息类型，暂无法显示】").startswith(text("control.not_text"))
    assert chat.send(type="video", media_id="X").startswith(text("control.not_text"))
    assert chat.location("中山市小榄镇").startswith(text("control.location_here"))
    assert PROMPT["item"] in chat.send(type="link")
    assert _state(app).step == "item"


def test_a_location_fills_the_business_address_and_routes(app):
    chat = Chat(app)
    _walk(chat, "address")
    assert PROMPT["item"] in chat.location("广东省中山市坦洲镇界狮南路", lat=22.26, lng=113.46)
    file_complaint(chat, OFFLINE_COMPLAINT[4:])
    [lead] = _leads(app)
    assert lead.branch == "tanzhou" and lead.extra["address_location"]["lat"] == 22.26


def test_a_retried_message_never_advances_twice(app):
    chat = Chat(app)
    _walk(chat, "business")
    first = chat.send("好再来快餐店", msg_id="42")
    again = chat.send("好再来快餐店", msg_id="42")
    assert first == again and PROMPT["address"] in again
    assert _state(app).history == ["kind", "online", "business"]


def test_the_menu_during_a_dialogue_says_where_we_are(app):
    chat = Chat(app)
    _walk(chat, "item")
    reply = chat.click("COMPLAIN")
    assert reply.startswith(text("control.resume", kind="投诉")) and PROMPT["item"] in reply


def test_unsubscribing_drops_the_dialogue(app):
    chat = Chat(app)
    _walk(chat, "item")
    chat.send(type="event", event="unsubscribe")
    assert _state(app) is None


def test_a_restart_in_the_middle_loses_nothing(db_url):
    first = create_app(make_config(db_url))
    chat = Chat(first)
    _walk(chat, "facts")
    first.extensions["db"].engine.dispose()
    second = create_app(make_config(db_url))
    chat.app = second
    file_complaint(chat, OFFLINE_COMPLAINT[7:])
    [lead] = _leads(second)
    assert lead.business_name == "好再来快餐店" and lead.phone == "13800138000"
    second.extensions["db"].engine.dispose()


def test_two_app_instances_share_one_dialogue(db_url):
    apps = [create_app(make_config(db_url)), create_app(make_config(db_url))]
    chat = Chat(apps[0])
    for i, (answer, step) in enumerate(OFFLINE_COMPLAINT):
        chat.app = apps[i % 2]
        assert PROMPT[step] in chat.send(answer)
    chat.app = apps[1]
    assert "编号 20261130-0001" in chat.send("确认")
    for a in apps:
        a.extensions["db"].engine.dispose()


def test_photos_become_evidence_and_download_work(app):
    chat = Chat(app)
    assert chat.click("COMPLAIN") and chat.photo("EARLY").startswith(text("control.photo_early"))
    chat.send("投诉")
    _walk_from_online(chat, "facts")
    assert chat.photo("M-1").startswith(text("control.photo_received", n=1, kind="投诉"))
    assert chat.photo("M-2").startswith(text("control.photo_received", n=2, kind="投诉"))
    assert chat.photo("M-1").startswith(text("control.photo_received", n=1, kind="投诉"))  # the same photo again
    assert PROMPT["facts"] in chat.photo("M-3")
    file_complaint(chat, OFFLINE_COMPLAINT[7:])
    [lead] = _leads(app)
    with get_db(app).scope() as s:
        evidence = s.execute(select(Evidence).order_by(Evidence.id)).scalars().all()
        jobs = s.execute(select(OutboxItem).where(OutboxItem.kind == "fetch_evidence")).scalars().all()
    assert [e.media_id for e in evidence] == ["M-1", "M-2", "M-3"] and {e.lead_id for e in evidence} == {lead.id}
    assert len(jobs) == 3 and {j.state for j in jobs} == {"pending"}


def _walk_from_online(chat, upto):
    for answer, step in OFFLINE_COMPLAINT[1:]:
        chat.send(answer)
        if step == upto:
            return


def test_photo_limit_is_a_setting(db_url):
    app = create_app(make_config(db_url, dialogue={"max_photos": 1}))
    chat = Chat(app)
    _walk(chat, "facts")
    chat.photo("A")
    assert chat.photo("B").startswith(text("control.photo_limit", max=1))
    app.extensions["db"].engine.dispose()
