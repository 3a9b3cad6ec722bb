"""The bureau's name is one setting ([app] bureau_name) read by the welcome, the pages, the feed and {bureau} in the
content files; the home page promises only what the bot does."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from bot import create_app
from bot.config import ConfigError
from bot.content import fill
from bot.dialogue.texts import texts
from tests.conftest import make_config
from tests.wechat_user import help_reply, make_wechat

ROOT = Path(__file__).resolve().parent.parent
OTHER = "佛山市市场监督管理局"


@pytest.fixture
def wx(db_url, tmp_path):
    """The bot with another bureau's name, and its own copies of the replies and the dialogue's wording."""
    for name in ("replies.toml", "dialogue.toml"):
        shutil.copy(ROOT / "content" / name, tmp_path / name)
    wechat = make_wechat(
        db_url,
        "plain",
        app={"bureau_name": OTHER},
        wechat={"replies_file": str(tmp_path / "replies.toml")},
        dialogue={"texts_file": str(tmp_path / "dialogue.toml")},
    )
    yield wechat
    wechat.app.extensions["db"].engine.dispose()


def test_the_welcome_names_the_bureau_of_the_setting(wx):
    welcome = wx.event("oNewFollower", "subscribe").content
    assert welcome.startswith(f"感谢关注{OTHER}消费者服务号！")


def test_pages_and_feed_name_the_bureau_of_the_setting(wx):
    client = wx.app.test_client()
    home = client.get("/").get_data(as_text=True)
    assert f"这里是{OTHER}面向消费者的服务平台" in home
    assert f'content="{OTHER}发布的消费提示' in home  # the description a shared link shows
    assert f"{OTHER} · 消费纠纷可拨打 12315 热线" in client.get("/notices/").get_data(as_text=True)
    feed = client.get("/notices/feed.xml").get_data(as_text=True)
    assert f"<title>消费提示与维权指南 · {OTHER}</title>" in feed and f"<name>{OTHER}</name>" in feed
    for page in ("/", "/notices/", "/notices/feed.xml", "/notices/2022-double11-tips"):
        text = client.get(page).get_data(as_text=True)
        assert not re.search(r"(?<![\u4e00-\u9fff])市市场监督管理局", text), page


def test_content_files_may_name_the_bureau(wx, tmp_path):
    replies = tmp_path / "replies.toml"
    replies.write_text(
        replies.read_text(encoding="utf-8") + '\n[[rule]]\nkeywords = ["关于我们"]\ntext = "本号由{bureau}主办。"\n',
        encoding="utf-8",
    )
    wx.app.extensions["wechat_content"]["replies"].load()
    assert wx.text("oAsker", "关于我们").content == f"本号由{OTHER}主办。"
    dialogue = tmp_path / "dialogue.toml"
    dialogue.write_text(
        dialogue.read_text(encoding="utf-8").replace(
            'none = "您还没有通过本公众号', 'none = "{bureau}提示：您还没有通过本公众号'
        ),
        encoding="utf-8",
    )
    wx.app.extensions.pop("dialogue_texts")
    with wx.app.app_context():
        assert texts(wx.app).get("progress.none").startswith(f"{OTHER}提示：")
    assert wx.text("oAsker", "进度").content.startswith(f"{OTHER}提示：您还没有")


def test_fill_replaces_only_the_names_given():
    data = {"a": "由{bureau}发布", "b": ["{bureau}", {"c": "{due} 前"}], "n": 3}
    assert fill(data, bureau="某局") == {"a": "由某局发布", "b": ["某局", {"c": "{due} 前"}], "n": 3}


def test_an_empty_bureau_name_stops_the_start(db_url):
    with pytest.raises(ConfigError, match=r"\[app\] bureau_name: must name the bureau"):
        create_app(make_config(db_url, app={"bureau_name": " "}))


def test_the_shipped_config_names_the_bureau():
    shipped = (ROOT / "config.toml").read_text(encoding="utf-8")
    assert 'bureau_name = "中山市市场监督管理局"' in shipped


def test_every_phrase_the_home_page_tells_consumers_to_send_is_understood(db_url):
    wx = make_wechat(db_url, "plain")
    home = wx.app.test_client().get("/").get_data(as_text=True)
    told = re.search(r"<p>在微信中关注本局公众号后.*?</p>", home, re.S)[0]
    phrases = re.findall(r"“([^”]+)”", told)
    assert {"双11", "投诉", "举报", "进度", "进度 20261130-0007"} <= set(phrases)
    for n, phrase in enumerate(phrases):
        reply = wx.text(f"oHomeReader{n}", phrase)
        assert reply.content != help_reply(wx.app, phrase), f"the bot does not understand “{phrase}”"
        assert reply.reply, phrase
    wx.app.extensions["db"].engine.dispose()
