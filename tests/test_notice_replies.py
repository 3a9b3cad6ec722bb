"""The bot's news card for a notice keyword, through the app's router (as the webhook will call it)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot import clock, create_app
from bot.db import get_db, utcnow
from bot.wechat.messages import Context, Incoming, NewsReply, TextReply
from bot.wechat.router import get_router
from tests.conftest import make_config
from tests.notices_kit import png, write_notice


@pytest.fixture
def content(tmp_path):
    directory = tmp_path / "notices"
    (directory / "images").mkdir(parents=True)
    (directory / "images" / "d11.png").write_bytes(png())
    return directory


@pytest.fixture
def bot_app(db_url, content, tmp_path):
    # No keyword rules of replies.toml: these tests are about the notices' own keywords.
    (tmp_path / "replies.toml").write_text("", encoding="utf-8")
    app = create_app(
        make_config(
            db_url,
            notices={"content_dir": str(content), "reload_seconds": 0},
            wechat={"replies_file": str(tmp_path / "replies.toml")},
        )
    )
    yield app
    app.extensions["db"].engine.dispose()


def reply_to(app, text: str):
    with app.app_context(), get_db(app).scope() as session:
        msg = Incoming(openid="oTestUser000001", type="text", content=text, msg_id="1")
        return get_router(app).route(Context(msg=msg, session=session, app=app, now=utcnow()))


def test_keyword_gets_a_news_card(bot_app, content):
    write_notice(
        content,
        "d11-tips",
        title="双11消费提示",
        summary="理性消费，看清规则。",
        keywords="[双11, 预售]",
        extra="cover: d11.png",
    )
    reply = reply_to(bot_app, "双 １１ 有什么要注意的")  # spaces and full-width digits folded
    assert reply == NewsReply(
        title="双11消费提示",
        description="理性消费，看清规则。",
        url="http://localhost/notices/d11-tips",
        image="http://localhost/notices/images/d11.png",
    )
    client = bot_app.test_client()
    assert client.get("/notices/d11-tips").status_code == 200
    with client.get("/notices/images/d11.png") as cover:
        assert cover.status_code == 200


def test_newest_live_notice_wins_and_expired_ones_are_skipped(bot_app, content):
    gone = (clock.today("Asia/Shanghai") - timedelta(days=2)).isoformat()
    write_notice(content, "old", title="旧的", date="2021-11-01", keywords="[退货]")
    write_notice(content, "newer", title="较新的", date="2022-11-01", keywords="[退货]")
    expired = {"title": "已过期的", "date": "2022-12-01", "keywords": "[退货]", "extra": f"expires: {gone}"}
    write_notice(content, "newest-expired", **expired)
    reply = reply_to(bot_app, "退货")
    assert isinstance(reply, NewsReply) and reply.title == "较新的" and reply.image == ""


def test_no_match_falls_back_to_the_search_page(bot_app, content):
    write_notice(content, "a", keywords="[预付卡]")
    reply = reply_to(bot_app, "你好 请问")
    assert isinstance(reply, TextReply)
    assert 'href="http://localhost/notices/search?q=%E4%BD%A0%E5%A5%BD%20%E8%AF%B7%E9%97%AE"' in reply.content
    assert "投诉" in reply.content and "12315" in reply.content


def test_a_keyword_rule_takes_precedence(bot_app, content):
    # (投诉 itself now starts the complaint dialogue, a keyword rule of its own: use another word here.)
    write_notice(content, "a", keywords="[维权流程]")
    get_router(bot_app).keyword("维权流程")(lambda ctx: TextReply("维权流程开始"))
    assert reply_to(bot_app, "维权流程") == TextReply("维权流程开始")


def test_an_edited_keyword_answers_without_restart(bot_app, content):
    path = write_notice(content, "a", title="维修提醒", keywords="[维修]")
    assert isinstance(reply_to(bot_app, "热水器维修"), NewsReply)
    path.write_text(path.read_text(encoding="utf-8").replace("[维修]", "[上门维修]"), encoding="utf-8")
    assert isinstance(reply_to(bot_app, "热水器维修"), TextReply)
    assert reply_to(bot_app, "找上门维修").title == "维修提醒"
