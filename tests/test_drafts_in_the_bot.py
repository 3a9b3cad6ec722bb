"""Drafts as the bot sees them: no keyword reply and no push until published; pushes to a topic or tag nobody has
fail the check; `flask pushes preview --to`."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot import clock, create_app
from bot.db import get_db, utcnow
from bot.models import Push
from bot.notice_replies import NoticesSettings
from bot.pushes.schedule import sync
from tests.conftest import make_config
from tests.pushes_helpers import add_followers, notices_config, push_config, received
from tests.wechat_user import help_reply, make_wechat

DRAFT = """---
title: 冬季电暖器选购提示
date: 2026-11-30
category: 消费提示
keywords: [{keyword}]
summary: 选购电暖器，认准 3C 标志。
draft: true
{push}---

购买电暖器时请认准 3C 认证标志，并保存好发票。
"""


def write(app, slug: str = "heater", push: str = "", draft: bool = True, keyword: str = "电暖器") -> Path:
    folder = Path(NoticesSettings.of(app).content_dir)
    folder.mkdir(parents=True, exist_ok=True)
    text = DRAFT.format(push=push, keyword=keyword)
    if not draft:
        text = text.replace("draft: true\n", "")
    path = folder / f"{slug}.md"
    path.write_text(text, encoding="utf-8")
    app.extensions["notices"].refresh(force=True)
    return path


def plan(audience: str, at: str = "2030-11-01 09:00", channel: str = "template") -> str:
    return f'push:\n  - {{at: "{at}", channel: {channel}, audience: "{audience}"}}\n'


@pytest.fixture
def wx(db_url, tmp_path):
    wechat = make_wechat(db_url, "plain", notices=notices_config(tmp_path))
    yield wechat
    wechat.app.extensions["db"].engine.dispose()


def test_the_bot_answers_a_drafts_keyword_only_once_it_is_published(wx):
    write(wx.app)
    said = wx.text("oConsumer1", "电暖器怎么选")
    assert said.content == help_reply(wx.app, "电暖器怎么选")  # nothing knows the draft
    published = wx.app.test_cli_runner().invoke(args=["notices", "publish", "heater"])
    assert published.exit_code == 0, published.output
    card = wx.text("oConsumer1", "电暖器怎么选").reply
    assert card["MsgType"] == "news" and card["Title"] == "冬季电暖器选购提示"
    assert card["Url"].endswith("/notices/heater")


@pytest.fixture
def app(db_url, tmp_path):
    made = create_app(make_config(db_url, notices=notices_config(tmp_path)))
    yield made
    made.extensions["db"].engine.dispose()


def _pushes(app) -> list[Push]:
    with get_db(app).scope() as s:
        sync(s, app, utcnow())
        return list(s.scalars(select(Push)))


def test_a_drafts_push_is_scheduled_only_once_it_is_published(app):
    write(app, "other", draft=False, keyword="取暖器")  # a published notice: the sync then reads the notices
    write(app, push=plan("topic:双11"))
    assert _pushes(app) == []
    assert app.test_cli_runner().invoke(args=["notices", "publish", "heater"]).exit_code == 0
    (push,) = _pushes(app)
    assert (push.notice_slug, push.audience, push.state) == ("heater", "topic:双11", "scheduled")


def test_a_push_to_an_unknown_topic_fails_the_check(app):
    path = write(app, push=plan("topic:冬季取暖"))
    result = app.test_cli_runner().invoke(args=["notices", "check"])
    assert result.exit_code == 1
    expected = f"{path}:9: push 的 audience“topic:冬季取暖”不是已有的订阅主题，推送不会送达任何人；"
    assert expected in result.output
    assert "双11（double11）、双12（double12）、食品安全（food）" in result.output
    assert "[pushes] topics" in result.output
    write(app, push=plan("topic:食品安全"))
    assert app.test_cli_runner().invoke(args=["notices", "check"]).exit_code == 0
    write(app, push=plan("topic:food"))  # the key works as well as the name
    assert app.test_cli_runner().invoke(args=["notices", "check"]).exit_code == 0


def test_a_push_to_a_tag_the_account_lacks_fails_the_check(db_url, standin, tmp_path):
    app = create_app(push_config(db_url, standin, tmp_path))
    standin.tag("星标用户", ["o-1"])
    path = write(app, push=plan("tag:星标用户"))
    assert app.test_cli_runner().invoke(args=["notices", "check"]).exit_code == 0
    write(app, push=plan("tag:不存在的标签"))
    result = app.test_cli_runner().invoke(args=["notices", "check"])
    assert result.exit_code == 1
    expected = f"{path}:9: push 的 audience“tag:不存在的标签”：公众号没有这个标签，推送不会送达任何人；"
    assert expected + "现有标签：星标用户" in result.output
    app.extensions["db"].engine.dispose()


def test_tags_are_not_checked_when_the_platform_cannot_be_asked(app):
    write(app, push=plan("tag:星标用户"))  # the test config's API address answers nothing
    result = app.test_cli_runner().invoke(args=["notices", "check"])
    assert result.exit_code == 0
    assert "警告：无法从公众号平台读取标签列表" in result.output and "没有检查 tag: 受众" in result.output


def _scheduled(app) -> int:
    future = (clock.local_now("Asia/Shanghai") + timedelta(days=1)).strftime("%Y-%m-%d %H:%M")
    write(app, push=plan("all", at=future), draft=False)
    (push,) = _pushes(app)
    return push.id


def test_preview_to_an_openid_given_on_the_command_line(db_url, standin, tmp_path):
    app = create_app(push_config(db_url, standin, tmp_path))
    add_followers(app, 2, standin=standin)
    standin.user("oEditorOwn")
    push_id = _scheduled(app)
    result = app.test_cli_runner().invoke(args=["pushes", "preview", str(push_id), "--to", "oEditorOwn"])
    assert result.exit_code == 0, result.output
    assert "预览 -> oEditorOwn: 已发送" in result.output
    assert received(standin) == {"oEditorOwn": 1}
    app.extensions["db"].engine.dispose()


def test_preview_without_editors_says_what_to_do(app):
    push_id = _scheduled(app)
    result = app.test_cli_runner().invoke(args=["pushes", "preview", str(push_id)])
    assert result.exit_code == 1
    assert f"请用 --to 指定接收预览的微信 openid，如 flask pushes preview {push_id} --to <openid>" in result.output
    assert 'config.toml 的 [pushes] editors 中填写编辑们的 openid，如 editors = ["<openid>"]' in result.output
