"""Leads: categories, routing to branches (Art 13), tickets under concurrency, deadlines, progress (进度)."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime

import pytest

from bot import create_app
from bot.config import ConfigError
from bot.content import ContentError
from bot.db import get_db
from bot.leads import create_leads, rules
from bot.leads.create import next_ticket
from bot.leads.rules import Branches
from bot.leads.workflow import Decision, transition
from bot.models import Lead
from tests.conftest import make_config
from tests.console_support import Staff, add_staff
from tests.leads_support import MONDAY, ROOT, Chat, file_complaint, text

BASE = {
    "kind": "complaint",
    "online": False,
    "business": "某商家",
    "item": "商品",
    "facts": "事情的经过是这样的，商家拒绝处理。",
    "request": "退款",
    "name": "李四",
    "phone": "13900139000",
    "mail_address": "中山市石岐街道某路1号",
}


def _create(app, openid="o-a", now=MONDAY, **answers):
    with app.app_context(), get_db(app).scope() as s:
        leads = create_leads(s, app, openid, {**BASE, **answers}, now)
        return [(lead.id, lead.ticket) for lead in leads]


def _lead(app, lead_id):
    with get_db(app).scope() as s:
        return s.get(Lead, lead_id)


@pytest.mark.parametrize(
    ("address", "branch", "why"),
    [
        ("中山市小榄镇升平中路8号", "xiaolan", "小榄"),
        ("东升镇同茂大道", "xiaolan", "东升"),  # an old town name, now part of 小榄
        ("火炬开发区中山港大道", "huoju", "火炬开发区"),  # the earliest mention, longest alias at that place
        ("石岐区孙文中路", "shiqi", "石岐区"),
        ("南区街道城南二路", "nanqu", "南区街道"),
        ("广东省中山市三乡镇雅居乐", "sanxiang", "三乡"),
        ("广州市天河区体育西路", None, "转至 广州市市场监督管理局（经营者实际经营地/住所地）"),  # Art 13
        ("广东省佛山市顺德区容桂", None, "转至 佛山市市场监督管理局"),
        ("华润万家超市三楼", None, "待分派"),  # a shop's name, not a city
        (None, None, "待分派"),
    ],
)
def test_routing_by_the_business_address(app, address, branch, why):
    [(lead_id, _)] = _create(app, address=address)
    lead = _lead(app, lead_id)
    assert lead.branch == branch and why in lead.routing_rule


def test_an_online_seller_without_an_address_goes_by_the_platform_operator(app):
    [(lead_id, _)] = _create(app, online=True, platform="拼多多", business="某某专营店", address=None)
    lead = _lead(app, lead_id)
    assert lead.branch is None and "上海市" in lead.routing_rule and "第十三条" in lead.routing_rule
    [(lead_id, _)] = _create(app, online=True, platform="淘宝", business="某店", address="中山市古镇镇同兴路")
    assert _lead(app, lead_id).branch == "guzhen"  # a published address in the city comes first


def test_a_platform_seller_elsewhere_is_a_transfer_to_the_bureau_of_its_published_address(app):
    published = "浙江省杭州市余杭区仓前街道文一西路1号"
    [(lead_id, _)] = _create(app, online=True, platform="淘宝", business="某某旗舰店", address=published)
    lead = _lead(app, lead_id)
    assert lead.branch is None and "未公示" not in lead.routing_rule
    assert lead.routing_rule == "转至 杭州市市场监督管理局（平台内经营者公示的地址所在地，第十三条）"
    assert lead.extra["transfer_to"] == "杭州市市场监督管理局"
    [(lead_id, _)] = _create(app, online=True, platform="拼多多", business="某店", address=None)
    lead = _lead(app, lead_id)  # no published address: the platform operator's domicile, to the district
    assert lead.routing_rule == "商家未公示地址：转至 上海市长宁区市场监督管理局（平台经营者拼多多住所地，第十三条）"
    assert lead.extra["transfer_to"] == "上海市长宁区市场监督管理局"
    [(lead_id, _)] = _create(app, online=True, platform="拼多多", business="某店", address="见店铺首页")
    lead = _lead(app, lead_id)
    assert lead.routing_rule.startswith("未能识别商家公示地址所在地，待分派") and "transfer_to" not in lead.extra
    [(lead_id, _)] = _create(app, kind="report", online=True, platform="淘宝", business="某店", address=published)
    assert _lead(app, lead_id).routing_rule == "转至 杭州市市场监督管理局（平台内经营者实际经营地，第三十一条）"


def test_the_console_shows_the_transfer_and_fills_it_in(app):
    add_staff(app, "boss", "admin")
    [(lead_id, _)] = _create(app, online=True, platform="淘宝", business="某店", address="广州市天河区体育西路1号")
    admin = Staff(app, "boss")
    triage = admin.get("/console/triage").get_data(as_text=True)
    assert "转至 广州市市场监督管理局（平台内经营者公示的地址所在地，第十三条）" in triage
    page = admin.get(f"/console/leads/{lead_id}").get_data(as_text=True)
    assert 'name="referred_to" required maxlength="200" value="广州市市场监督管理局"' in page


def test_a_platform_domiciled_in_the_city_routes_to_its_branch(db_url, tmp_path):
    branches = (ROOT / "content" / "branches.toml").read_text(encoding="utf-8")
    branches += '\n[[platform]]\nname = "香山优选"\naliases = ["香山优选"]\ndomicile = "中山市"\ntown = "火炬开发区"\n'
    (tmp_path / "b.toml").write_text(branches, encoding="utf-8")
    app = create_app(make_config(db_url, leads={"branches_file": str(tmp_path / "b.toml")}))
    [(lead_id, _)] = _create(app, online=True, platform="香山优选小程序", address=None)
    assert _lead(app, lead_id).branch == "huoju"
    app.extensions["db"].engine.dispose()


@pytest.mark.parametrize(
    ("facts", "category"),
    [
        ("网上买了电子烟，卖家还卖管制刀具", "禁限售商品"),
        ("外卖里有虫子，商家不理", "网络餐饮"),
        ("主播在直播间说是正品，收到是假货", "直播带货"),
        ("网购的面膜用了过敏，没有备案", "两品一械"),
        ("给孩子买的玩具有尖角划伤手", "一老一小"),
        ("双十一先涨后降，虚构原价", "促销活动"),
        ("理发店办卡后关门跑路", "其他"),
    ],
)
def test_category_by_keyword_rules(app, facts, category):
    [(lead_id, _)] = _create(app, facts=facts, item="商品", business="店")
    lead = _lead(app, lead_id)
    assert lead.category == category and (lead.category_rule == "无匹配规则") == (category == "其他")


def test_tickets_are_per_day_and_readable(app):
    assert [t for _, t in _create(app)] == ["20261130-0001"]
    assert [t for _, t in _create(app)] == ["20261130-0002"]
    late = datetime(2026, 11, 30, 16, 30, tzinfo=UTC)  # 00:30 on 1 December in Shanghai
    assert [t for _, t in _create(app, now=late)] == ["20261201-0001"]


def test_tickets_are_unique_under_concurrency(app):
    got, errors = [], []

    def worker():
        try:
            for _ in range(5):
                with get_db(app).scope() as s:
                    got.append(next_ticket(s, date(2026, 11, 30)))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(got) == [f"20261130-{n:04d}" for n in range(1, 31)]


def test_deadlines_follow_the_calendar(app):
    # Received on Tuesday 29 September 2026: 国庆 1–7 October, and Saturday 10 October is a 调休 working day.
    received = datetime(2026, 9, 29, 3, 0, tzinfo=UTC)
    [(lead_id, _)] = _create(app, now=received)
    lead = _lead(app, lead_id)
    assert lead.received_on == date(2026, 9, 29)
    # Working days: 30 Sep, 8, 9, 10 (the 调休 Saturday), 12, 13, 14 October.
    assert lead.accept_due == date(2026, 10, 14) == lead.next_due
    [(report_id, _)] = _create(app, now=received, kind="report")
    assert _lead(app, report_id).verify_due == _lead(app, report_id).next_due


def test_progress_lists_only_the_consumers_own_leads(app):
    mine, other = Chat(app, "o-mine"), Chat(app, "o-other")
    file_complaint(mine)
    file_complaint(other)
    listing = mine.send("进度")
    assert text("progress.list_head", n=1) in listing and "20261130-0001 投诉｜已收到｜等待审查" in listing
    assert "2026年12月9日" in listing and "20261130-0002" not in listing
    assert mine.click("PROGRESS") == listing
    detail = mine.send("进度 20261130-0001")
    assert "当前状态：已收到" in detail and "商家：好再来快餐店" in detail and "新线索" not in detail + listing
    assert mine.send("进度 20261130-0002") == text("progress.not_found", ticket="20261130-0002")
    assert mine.send("进度 202611300001").startswith("编号：20261130-0001")
    assert Chat(app, "o-nobody").send("进度") == text("progress.none")


def test_progress_tells_consumers_only_their_own_words_for_each_status(app):
    """No console status name (新线索) reaches the chat, and a refusal does not claim what was not said."""
    chat = Chat(app, "o-mine")
    file_complaint(chat)
    replies = {}
    for to, decision in (("已受理", Decision()), ("终止调解", Decision(ground="23-2", party="business"))):
        with get_db(app).scope() as s:
            transition(s, s.get(Lead, 1), to, decision, today=date(2026, 12, 1))
        replies[to] = chat.send("进度 20261130-0001")
    assert "当前状态：已受理\n下一步：经您和商家双方同意后进行调解" in replies["已受理"]
    assert "当前状态：调解已终止\n下一步：可以依法申请仲裁或者向人民法院起诉" in replies["终止调解"]
    file_complaint(chat)
    with get_db(app).scope() as s:
        transition(s, s.get(Lead, 2), "不予受理", Decision(ground="16-3"), today=date(2026, 12, 1))
    refused = chat.send("进度 20261130-0002")
    assert "当前状态：不予受理\n下一步：不予受理（理由和其他解决途径见通知）" in refused
    assert "已告知" not in refused and "20261130-0001 投诉｜调解已终止" in chat.send("进度")


def test_a_status_without_a_consumers_name_stops_the_start(tmp_path):
    wording = (ROOT / "content" / "decisions.toml").read_text(encoding="utf-8").replace('"核查中" = "正在核查"\n', "")
    (tmp_path / "d.toml").write_text(wording, encoding="utf-8")
    with pytest.raises(ContentError, match=r"d.toml:\d+: .*核查中"):
        create_app(make_config("sqlite://", leads={"decisions_file": str(tmp_path / "d.toml")}))


def test_a_broken_branch_table_in_config_names_the_key():
    with pytest.raises(ConfigError, match=r"\[leads.branches.atlantis\]: is not a branch code"):
        create_app(make_config("sqlite://", leads={"branches": {"atlantis": {"email": ["a@b.c"]}}}))
    with pytest.raises(ConfigError, match=r"\[leads.branches.xiaolan\] email: must be list"):
        create_app(make_config("sqlite://", leads={"branches": {"xiaolan": {"email": "a@b.c"}}}))


def test_a_broken_rules_file_names_the_file_and_line(tmp_path):
    bad = tmp_path / "c.toml"
    bad.write_text('categories = ["其他"]\n[[rule]]\nname = "x"\ncategory = \n', encoding="utf-8")
    with pytest.raises(ContentError, match=r"c.toml:4: 不是有效的 TOML"):
        create_app(make_config("sqlite://", leads={"categories_file": str(bad)}))
    bad.write_text(
        'categories = ["其他"]\n[[rule]]\nname = "x"\ncategory = "食品"\nkeywords = ["a"]\n', encoding="utf-8"
    )
    with pytest.raises(ContentError, match=r"c.toml:4: \[\[rule\]\] #1: category '食品' is not in `categories`"):
        create_app(make_config("sqlite://", leads={"categories_file": str(bad)}))


def test_the_shipped_branch_table_has_the_citys_towns(app):
    table: Branches = rules(app).branches
    assert len(table.branches) == 23
    assert {"石岐街道分局", "火炬开发区分局", "神湾镇分局"} <= {b.name for b in table.branches.values()}
