"""A draft in a real browser at a phone's width: its address is a 404 page, the list does not show it, and the
preview link from `flask notices preview-link` shows it with the 草稿预览 banner. Screenshots in test-artifacts/."""

from __future__ import annotations

from urllib.parse import urlsplit

from tests.browser import ARTIFACTS, MARKS, chromium_context, serve
from tests.notices_kit import notice_app, write_notice

pytestmark = MARKS


def test_a_draft_is_missing_for_readers_and_shown_by_its_preview_link(tmp_path):
    write_notice(tmp_path, "published", title="冬季取暖消费提示", keywords="[取暖]")
    write_notice(
        tmp_path,
        "heater-draft",
        title="冬季电暖器选购提示（草稿）",
        keywords="[电暖器]",
        extra="draft: true",
        body="购买电暖器时请认准 3C 认证标志，并保存好发票。\n",
    )
    app = notice_app(tmp_path)
    app.secret_key = "browser-test-secret"
    printed = app.test_cli_runner().invoke(args=["notices", "preview-link", "heater-draft"]).output
    link = urlsplit(printed.strip().splitlines()[-1]).path
    ARTIFACTS.mkdir(exist_ok=True)
    with serve(app) as base, chromium_context(viewport={"width": 390, "height": 844}, is_mobile=True) as context:
        page = context.new_page()
        response = page.goto(f"{base}/notices/heater-draft")
        assert response.status == 404
        assert page.get_by_role("heading", name="抱歉，没有找到这个页面").is_visible()
        assert "冬季电暖器选购提示" not in page.content()

        page.goto(f"{base}/notices/")
        assert page.get_by_text("冬季取暖消费提示").is_visible()
        assert "冬季电暖器选购提示" not in page.content()

        response = page.goto(base + link)
        assert response.status == 200
        banner = page.locator(".banner.preview")
        assert banner.is_visible() and banner.inner_text().startswith("草稿预览")
        assert page.get_by_role("heading", name="冬季电暖器选购提示（草稿）").is_visible()
        assert page.get_by_text("认准 3C 认证标志").is_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.screenshot(path=str(ARTIFACTS / "notice-draft-preview-390.png"), full_page=True)

        response = page.goto(base + link[:-4] + "abcd")  # a link someone altered
        assert response.status == 404
