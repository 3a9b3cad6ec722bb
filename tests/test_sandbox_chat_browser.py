"""The sandbox chat page in Debian's Chromium against the whole app on a real threaded server (scheduler on):
follow, 双11, a complaint with a photo and a location, its ticket, and the staff's reply from the console arriving
in the chat. Screenshots go to test-artifacts/ (and the README's to docs/)."""

from __future__ import annotations

import re
import shutil
import threading
from pathlib import Path

import pytest
from playwright.sync_api import expect
from werkzeug.serving import make_server

from bot import create_app
from tests.conftest import make_config

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = ROOT / "test-artifacts"
DOCS = ROOT / "docs"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is missing: apt-get install chromium"),
]


@pytest.fixture
def served(tmp_path):
    """The app as `make run` has it (sandbox on, API client pointed at it, scheduler running) on a free port."""
    holder: dict = {}
    httpd = make_server("127.0.0.1", 0, lambda environ, start: holder["app"](environ, start), threaded=True)
    base = f"http://127.0.0.1:{httpd.server_port}"
    settings = make_config(
        f"sqlite:///{tmp_path / 'bot.db'}",
        app={"public_url": base},
        wechat={"sandbox": True, "api_base_url": f"{base}/sandbox/api/cgi-bin/"},
        scheduler={"enabled": True, "tick_seconds": 1},
    )
    app = holder["app"] = create_app(settings)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield app, base
    if "scheduler" in app.extensions:
        scheduler, lease = app.extensions["scheduler"]
        scheduler.shutdown(wait=True)
        lease.release()
    httpd.shutdown()
    thread.join(timeout=10)
    httpd.server_close()
    app.extensions["db"].engine.dispose()


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        context = chromium.new_context(viewport={"width": 1100, "height": 820}, locale="zh-CN")
        yield context
        context.close()
        chromium.close()


def shot(page, name: str, docs: bool = False) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"sandbox-{name}.png"
    page.screenshot(path=str(path))
    if docs:
        DOCS.mkdir(exist_ok=True)
        shutil.copy(path, DOCS / f"sandbox-{name}.png")


def say(page, text: str):
    """Type and send a text; returns the bot's newest bubble once the reply is drawn."""
    before = page.locator(".line.bot").count()
    page.fill("#text", text)
    page.click("#send")
    page.locator(".line.bot").nth(before).wait_for()
    return page.locator(".line.bot").last


def test_follow_and_get_the_double11_alert(served, browser):
    _app, base = served
    page = browser.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{base}/sandbox/")
    page.fill("input[name=nickname]", "陈女士")
    page.click("#create-user")
    assert page.locator(".user-list .current a").inner_text() == "陈女士"
    assert errors == []
    expect(page.locator("#text")).to_be_disabled()  # not following yet

    page.click("#follow-toggle")
    page.locator(".line.bot").first.wait_for()
    assert "感谢关注" in page.locator(".line.bot").first.inner_text()
    assert page.locator("#follow-toggle").inner_text() == "取消关注"

    card = say(page, "双11").locator("a.news")
    assert "双11" in card.locator(".news-title").inner_text()
    assert card.get_attribute("href") == f"{base}/notices/2022-double11-tips"
    shot(page, "double11", docs=True)

    page.locator(".menu-top", has_text="消费提示").click()
    page.locator(".popup .menu-button", has_text="维权指南").click()
    page.locator(".line.bot").nth(2).wait_for()
    link = page.locator(".line.bot").last.locator(".text a").first
    assert link.get_attribute("href").startswith(f"{base}/notices/")

    page.click("#panel-toggle")
    page.click("button.place[data-place='古镇镇']")
    page.locator(".line.user.kind-location").wait_for()
    assert "广东省中山市古镇镇" in page.locator(".line.user.kind-location").inner_text()

    page.reload()  # the whole chat comes back from the server
    page.locator(".line.user.kind-location").wait_for()
    assert page.locator(".line.bot").count() == 4
    assert re.search(r"双11", page.locator("#chat").inner_text())
