"""An editor's notice from the console in a real browser on a 390 × 844 phone: written, previewed in the phone
frame, saved as a draft (nowhere public, unknown to the bot), published (public at once, the bot answers its
keyword), then given a push that `flask pushes list` shows. No page scrolls sideways. Screenshots in test-artifacts/."""

from __future__ import annotations

import urllib.request
from urllib.error import HTTPError
from urllib.parse import quote

import pytest

from bot import create_app
from tests.browser import ARTIFACTS, MARKS, chromium_context, serve
from tests.conftest import make_config
from tests.console_support import PASSWORD, add_staff
from tests.notices_kit import write_notice
from tests.pushes_helpers import notices_config
from tests.wechat_user import APP_ID, TOKEN, WeChat

pytestmark = MARKS
TITLE = "冬季电暖器选购提示"
BODY = "购买电暖器时请认准 **3C 认证标志**，并保存好发票。\n\n## 使用提示\n\n- 远离窗帘"
SEARCH = "/notices/search?q=" + quote("电暖器")


@pytest.fixture
def site(tmp_path):
    app = create_app(make_config(f"sqlite:///{tmp_path / 'bot.db'}", notices=notices_config(tmp_path)))
    write_notice(app.extensions["notices"].dir, "older", title="冬季取暖消费提示", keywords="[取暖]", date="2026-11-01")
    add_staff(app, "editor", "editor", display_name="李编辑")
    with serve(app) as base:
        yield app, base
    app.extensions["db"].engine.dispose()


def status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status
    except HTTPError as exc:
        return exc.code


def text_of(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read().decode()


def no_sideways_scroll(page) -> None:
    assert page.evaluate("document.scrollingElement.scrollWidth") <= page.evaluate("window.innerWidth"), page.url


def test_an_editor_writes_previews_drafts_publishes_and_schedules_a_notice(site):
    app, base = site
    wx = WeChat(base, TOKEN, APP_ID)
    ARTIFACTS.mkdir(exist_ok=True)
    with chromium_context(viewport={"width": 390, "height": 844}, is_mobile=True, locale="zh-CN") as context:
        page = context.new_page()
        page.goto(base + "/console/login")
        page.get_by_label("用户名").fill("editor")
        page.get_by_label("密码").fill(PASSWORD)
        page.get_by_role("button", name="登录").click()
        page.goto(base + "/console/notices")
        assert page.get_by_text("冬季取暖消费提示").is_visible()
        no_sideways_scroll(page)

        page.get_by_role("link", name="新建公告").click()
        page.get_by_label("网页地址（文件名）").fill("heater")
        page.get_by_label("标题").fill(TITLE)
        page.get_by_label("关键词").fill("电暖器、取暖器")
        page.get_by_label("摘要").fill("选购电暖器，认准 3C 标志。")
        page.get_by_label("正文（Markdown）").fill(BODY)
        page.get_by_role("button", name="预览").click()
        phone = page.frame(name="phone")
        phone.wait_for_selector(f"h1:has-text('{TITLE}')")
        assert phone.locator("strong", has_text="3C 认证标志").is_visible()
        frame_box = page.locator("#phone").bounding_box()
        assert frame_box["width"] <= 390
        no_sideways_scroll(page)
        page.screenshot(path=str(ARTIFACTS / "notice-editor-390.png"), full_page=True)

        page.get_by_role("button", name="保存草稿").click()
        assert page.get_by_text("草稿已保存").is_visible()
        assert page.locator("#notice-state").inner_text() == "草稿"
        no_sideways_scroll(page)
        assert status(f"{base}/notices/heater") == 404
        for public in ("/notices/", "/notices/feed.xml", SEARCH):
            assert TITLE not in text_of(base + public), public
        assert wx.text("oConsumer1", "电暖器").reply.get("Title") != TITLE

        page.get_by_role("button", name="发布").click()
        assert page.get_by_text("已发布：网站、搜索和公众号关键词回复即刻可见。").is_visible()
        assert status(f"{base}/notices/heater") == 200
        for public in ("/notices/", "/notices/feed.xml", SEARCH):
            assert TITLE in text_of(base + public), public
        card = wx.text("oConsumer1", "电暖器").reply
        assert card["MsgType"] == "news" and card["Title"] == TITLE and card["Url"].endswith("/notices/heater")

        page.locator("input[name=push_at]").last.fill("2026-12-01T09:00")
        page.locator("select[name=push_audience]").last.select_option("topic:double11")
        page.get_by_role("button", name="保存", exact=True).click()
        assert page.get_by_text("修改已保存，公告保持发布。").is_visible()
        no_sideways_scroll(page)
        page.goto(base + "/console/notices")
        row = page.locator("tr[data-slug=heater]")
        assert "已发布" in row.inner_text() and "已排期推送" in row.inner_text()
        no_sideways_scroll(page)
        page.screenshot(path=str(ARTIFACTS / "notice-list-390.png"), full_page=True)

    listed = app.test_cli_runner().invoke(args=["pushes", "list"])
    assert listed.exit_code == 0
    assert "2026-12-01 09:00  已排期" in listed.output and "topic:double11" in listed.output
    assert listed.output.rstrip().endswith("heater")
