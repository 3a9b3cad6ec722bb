"""Keyword replies and phrases from content/*.toml: matching, notice cards, menus, validation with file:line, reload."""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pytest

from bot import clock, create_app
from bot.content import ContentError
from tests.conftest import make_config
from tests.wechat_user import help_reply, make_wechat, recorded

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Notice:
    """The shape of a notice as the notices branch's store gives it (see INTERFACES.md)."""

    slug: str
    title: str
    date: date
    category: str
    keywords: list[str] = field(default_factory=list)
    summary: str = ""
    cover: str | None = None
    expired: bool = False


class NoticeShelf:
    """A minimal in-memory store with the NoticeStore interface, standing in until the notices branch lands."""

    def __init__(self, *notices: Notice) -> None:
        self.notices = list(notices)

    def get(self, slug):
        return next((n for n in self.notices if n.slug == slug), None)

    def by_keyword(self, text):
        live = [n for n in self.notices if not n.expired and any(k in text for k in n.keywords)]
        return max(live, key=lambda n: n.date, default=None)

    def latest(self, category=None, limit=5):
        found = [n for n in self.notices if category in (None, n.category) and not n.expired]
        return sorted(found, key=lambda n: n.date, reverse=True)[:limit]

    def all(self):
        return list(self.notices)

    def search(self, query, limit=50):
        return []  # no search in this stand-in: free questions are not found


DOUBLE11 = Notice(
    "2022-double11-tips", "双11网购消费提示", date(2026, 11, 1), "消费提示", ["双11"], "先比价再下单", "d11.png"
)
PREPAID = Notice(
    "2022-prepaid-card-tips", "预付卡维权指南", date(2026, 10, 1), "维权指南", ["预付卡"], "办卡前看清合同"
)
REPAIR = Notice("fake-repair", "警惕虚假维修", date(2026, 11, 20), "消费提示", ["上门维修"], "认准正规售后")


@pytest.fixture(params=["plain", "safe"])
def wx(request, db_url):
    wechat = make_wechat(db_url, request.param)
    wechat.app.extensions["notices"] = NoticeShelf()  # each test chooses the notices it needs
    yield wechat
    wechat.app.extensions["db"].engine.dispose()


@pytest.mark.parametrize("said", ["双11", "双十一买东西要注意什么", "双 11", "双１１怎么退", "我想问问1111购物节"])
def test_synonyms_reach_the_same_rule(wx, said):
    assert wx.text("oAsk", said).content.startswith("双11网购提醒")


def test_exact_and_regex_rules(wx):
    assert wx.text("oAsk", "帮助").content.startswith("本号可以为您")
    assert wx.text("oAsk", "帮助我看看这个").content == help_reply(wx.app, "帮助我看看这个")  # exact: not a match
    assert wx.text("oAsk", "12315").content.startswith("消费者投诉举报热线")
    assert wx.text("oAsk", "我要找人工客服").content.startswith("消费者投诉举报热线")


def test_no_match_is_a_helpful_default(wx):
    reply = wx.text("oAsk", "今天天气怎么样").content
    assert reply == help_reply(wx.app, "今天天气怎么样")
    for promise in ("投诉", "举报", "进度", "http://localhost/notices/"):
        assert promise in reply


def test_notice_rule_answers_one_article_card(wx):
    wx.app.extensions["notices"] = NoticeShelf(DOUBLE11)
    result = wx.text("oAsk", "双十一")
    assert result.reply["MsgType"] == "news" and result.reply["ArticleCount"] == "1"
    assert result.body.count("<item>") == 1 or wx.crypto is not None
    assert result.reply["Title"] == "双11网购消费提示" and result.reply["Description"] == "先比价再下单"
    assert result.reply["Url"] == "http://localhost/notices/2022-double11-tips"
    assert result.reply["PicUrl"] == "http://localhost/notices/images/d11.png"


def test_notice_rule_falls_back_to_text(wx):
    assert wx.text("oAsk", "预付卡").content.startswith("预付卡消费提醒")  # no store at all
    wx.app.extensions["notices"] = NoticeShelf(DOUBLE11)
    assert wx.text("oAsk", "预付卡").content.startswith("预付卡消费提醒")  # slug unknown
    wx.app.extensions["notices"] = NoticeShelf(Notice(**{**DOUBLE11.__dict__, "expired": True}))
    assert wx.text("oAsk", "双11").content.startswith("双11网购提醒")  # expired


def test_unmatched_text_finds_a_notice_by_its_keywords(wx):
    wx.app.extensions["notices"] = NoticeShelf(REPAIR)
    result = wx.text("oAsk", "上门维修收费太高了")
    assert result.reply["MsgType"] == "news" and result.reply["Title"] == "警惕虚假维修"


def test_menu_alerts_and_guides(wx):
    none = wx.event("oMenu", "CLICK", "ALERTS").reply["Content"]
    assert "消费提示" in none and "http://localhost/notices/" in none
    wx.app.extensions["notices"] = NoticeShelf(DOUBLE11, PREPAID, REPAIR)
    alerts = wx.event("oMenu", "CLICK", "ALERTS", create_time=clock.timestamp() + 1).reply["Content"]
    assert alerts.index("警惕虚假维修") < alerts.index("双11网购消费提示") and "预付卡" not in alerts
    assert '<a href="http://localhost/notices/fake-repair">警惕虚假维修</a>' in alerts
    guides = wx.event("oMenu", "CLICK", "GUIDES", create_time=clock.timestamp() + 2).reply["Content"]
    assert "预付卡维权指南" in guides and "双11" not in guides


# ---------------------------------------------------------------- validation and reload


@pytest.fixture
def content(tmp_path):
    for name in ("replies.toml", "phrases.toml"):
        shutil.copy(ROOT / "content" / name, tmp_path / name)
    return tmp_path


def build(db_url, content: Path):
    files = {"replies_file": str(content / "replies.toml"), "phrases_file": str(content / "phrases.toml")}
    return create_app(make_config(db_url, wechat=files))


BROKEN_REPLIES = [
    ('[[rule]]\nkeywords = ["a"]\nmatch = "fuzzy"\ntext = "x"\n', 3, "`match` must be one of"),
    ('[[rule]]\nkeywords = ["a"]\ntext = "x"\n\n[[rule]]\nkeywords = "b"\ntext = "y"\n', 6, "`keywords` must"),
    ('[[rule]]\nmatch = "regex"\nkeywords = ["(unclosed"]\ntext = "x"\n', 3, "regular expression"),
    ('[[rule]]\nkeywords = ["a"]\n', 1, "every rule needs `text`"),
    ('[[rule]]\nkeywords = ["a"]\ntext = "x"\nreply = "y"\n', 4, "unknown key `reply`"),
    ('[[rule]]\nkeywords = ["a"]\ntext = "x"\nnotice = "Bad Slug"\n', 4, "`notice` must be a notice's slug"),
    ('[[rule]]\nkeywords = ["a"\ntext = "x"\n', 3, "不是有效的 TOML"),
    ('[rule]\nkeywords = ["a"]\ntext = "x"\n', 1, "[[rule]] table"),
    (
        '[[rule]]\nname = "n"\nkeywords = ["a"]\ntext = "x"\n[[rule]]\nname = "n"\nkeywords = ["b"]\ntext = "y"\n',
        5,
        "two rules are named",
    ),
]


@pytest.mark.sqlite_only
@pytest.mark.parametrize(("body", "line", "problem"), BROKEN_REPLIES)
def test_broken_replies_stop_the_start_with_file_and_line(tmp_path, content, body, line, problem):
    (content / "replies.toml").write_text(body, encoding="utf-8")
    with pytest.raises(ContentError) as err:
        build(f"sqlite:///{tmp_path / 'x.db'}", content)
    message = err.value.format_message()
    assert message.startswith(f"{content / 'replies.toml'}:{line}: ") and problem in message


@pytest.mark.sqlite_only
def test_broken_phrases_name_the_key(tmp_path, content):
    text = (content / "phrases.toml").read_text(encoding="utf-8")
    (content / "phrases.toml").write_text(text.replace("notices_more =", "notices_more_typo ="), encoding="utf-8")
    with pytest.raises(ContentError) as err:
        build(f"sqlite:///{tmp_path / 'x.db'}", content)
    assert "missing phrase `notices_more`" in err.value.format_message()
    (content / "phrases.toml").write_text(text.replace("最新{category}", "最新{categroy}"), encoding="utf-8")
    with pytest.raises(ContentError) as err:
        build(f"sqlite:///{tmp_path / 'x.db'}", content)
    line = next(n for n, s in enumerate(text.splitlines(), 1) if s.startswith("notices_intro"))
    assert f"phrases.toml:{line}: " in err.value.format_message() and "{categroy}" in err.value.format_message()


def _edit(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")
    stamp = time.time_ns() + 2_000_000_000
    os.utime(path, ns=(stamp, stamp))  # a visibly newer mtime whatever the filesystem's granularity


def test_edits_are_picked_up_without_restart_and_broken_edits_keep_the_last_good(db_url, content, caplog):
    app = build(db_url, content)
    from tests.wechat_user import APP_ID, TOKEN, WeChat

    wx = WeChat(app.test_client(), TOKEN, APP_ID)
    assert wx.text("oEditor", "电动车").content == help_reply(app, "电动车")
    replies = content / "replies.toml"
    _edit(replies, replies.read_text(encoding="utf-8") + '\n[[rule]]\nkeywords = ["电动车"]\ntext = "电动车提示"\n')
    time.sleep(1.05)
    assert wx.text("oEditor", "电动车").content == "电动车提示"
    _edit(replies, '[[rule]]\nkeywords = ["电动车"]\nmatch = "nope"\ntext = "坏"\n')
    time.sleep(1.05)
    assert wx.text("oEditor", "电动车").content == "电动车提示"  # the broken edit is not used
    assert any("replies.toml:3:" in r.getMessage() for r in caplog.records)
    phrases = content / "phrases.toml"
    edited = phrases.read_text(encoding="utf-8").replace("抱歉，没有找到直接相关的内容", "抱歉！没有找到直接相关的内容")
    _edit(phrases, edited)
    time.sleep(1.05)
    assert wx.text("oEditor", "今天天气").content.startswith("抱歉！没有找到直接相关的内容")
    app.extensions["db"].engine.dispose()


def test_two_menu_taps_in_one_second_get_two_replies_and_a_retry_the_same_one(wx):
    """Events carry no MsgId: a retry is the same sender, CreateTime, event and EventKey; another key is another tap."""
    wx.app.extensions["notices"] = NoticeShelf(DOUBLE11, PREPAID, REPAIR)
    second = clock.timestamp()
    alerts = wx.event("oTaps", "CLICK", "ALERTS", create_time=second).reply["Content"]
    guides = wx.event("oTaps", "CLICK", "GUIDES", create_time=second).reply["Content"]
    assert "警惕虚假维修" in alerts and "预付卡维权指南" in guides
    recorded(wx.app)  # the taps' records, written after their answers (bot/db/later.py)
    wx.app.extensions["notices"] = NoticeShelf()  # what the menu would say now changed: a retry still gets the first
    assert wx.event("oTaps", "CLICK", "ALERTS", create_time=second).reply["Content"] == alerts
