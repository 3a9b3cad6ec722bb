"""The sandbox chat page in Debian's Chromium against the whole app on a real threaded server (scheduler on):
follow, 双11, a complaint with a photo and a location, its ticket, and the staff's reply from the console arriving
in the chat. Screenshots go to test-artifacts/ (and, with UPDATE_DOCS_SCREENSHOTS=1, the README's to docs/)."""

from __future__ import annotations

import os
import re
import shutil
import threading
from pathlib import Path

import pytest
from playwright.sync_api import expect
from werkzeug.serving import make_server

from bot import create_app
from bot.wechat.settings import WechatSettings
from tests.browser import ARTIFACTS, MARKS, chromium_context
from tests.conftest import make_config
from tests.wechat_user import AES_KEY

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"

pytestmark = MARKS


@pytest.fixture
def served(tmp_path, request):
    """The app as `make run` has it (sandbox on, API client pointed at it, scheduler running) on a free port;
    in safe mode (messages encrypted) when the test asks for it."""
    aes_key = AES_KEY if getattr(request, "param", "plain") == "safe" else ""
    holder: dict = {}
    httpd = make_server("127.0.0.1", 0, lambda environ, start: holder["app"](environ, start), threaded=True)
    base = f"http://127.0.0.1:{httpd.server_port}"
    settings = make_config(
        f"sqlite:///{tmp_path / 'bot.db'}",
        app={"public_url": base},
        wechat={"sandbox": True, "api_base_url": f"{base}/sandbox/api/cgi-bin/", "encoding_aes_key": aes_key},
        scheduler={"enabled": True, "tick_seconds": 1},
        leads={"consumer_template_id": "SANDBOX-CONSUMER-PROGRESS"},
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
    with chromium_context(viewport={"width": 1100, "height": 820}, locale="zh-CN") as context:
        yield context


def shot(page, name: str, docs: bool = False) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"sandbox-{name}.png"
    page.screenshot(path=str(path))
    if docs and os.environ.get("UPDATE_DOCS_SCREENSHOTS"):  # the README's pictures change only on purpose
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
    page.locator("#phone[data-ready]").wait_for()
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
    page.locator("#phone[data-ready]").wait_for()
    page.locator(".line.user.kind-location").wait_for()
    assert page.locator(".line.bot").count() == 4
    assert re.search(r"双11", page.locator("#chat").inner_text())


COMPLAINT = [  # (what the user does, a phrase of the question it answers)
    (("text", "投诉"), "感谢关注"),
    (("text", "线下"), "网上买的，还是在实体店买的"),
    (("text", "好又多超市"), "商家的名称"),
    (("place", "石岐街道"), "商家在哪里"),
    (("text", "孙文西路128号"), "位置只显示到“石岐街道”"),  # a pin with only a town: the street is asked for
    (("text", "牛奶"), "买了什么"),
    (("text", "上周六"), "什么时候"),
    (("text", "58"), "多少钱"),
    (("photo", "product"), "事情经过"),
    (("text", "买到的牛奶已经过期三天，店员不肯退换。"), "已收到第 1 张照片"),
    (("text", "退款"), "怎样解决"),
    (("text", "否"), "同时举报"),
    (("text", "陈小红"), "真实姓名"),
    (("text", "13800138000"), "联系电话"),
    (("place", "东区街道"), "通讯地址"),
    (("text", "中山四路1号"), "位置只显示到“东区街道”"),
    (("text", "确认"), "请核对"),
]


def do(page, what: tuple[str, str]):
    """One step of the user, through the page's own controls; returns the bot's answer bubble."""
    kind, value = what
    if kind == "text":
        return say(page, value)
    before = page.locator(".line.bot").count()
    page.click("#panel-toggle")
    page.click(f"button.place[data-place='{value}']" if kind == "place" else f"button.sample[data-sample='{value}']")
    page.locator(".line.bot").nth(before).wait_for()
    return page.locator(".line.bot").last


def sandbox_admin_password(app, caplog) -> str:
    """The console account the sandbox makes (`flask sandbox accounts`; `make run` prints it in its banner)."""
    result = app.test_cli_runner().invoke(args=["sandbox", "accounts"])
    assert result.exit_code == 0
    line = next(r.getMessage() for r in caplog.records if "sandbox console account" in r.getMessage())
    return re.search(r"password: (\w+)", line)[1]


@pytest.mark.parametrize("served", ["plain", "safe"], indirect=True)
def test_complaint_with_photo_and_location_then_staff_reply(served, browser, caplog):
    app, base = served
    safe = bool(WechatSettings.of(app).encoding_aes_key)
    chat = browser.new_page()
    chat.goto(f"{base}/sandbox/")
    chat.fill("input[name=nickname]", "陈小红")
    chat.click("#create-user")
    chat.locator("#phone[data-ready]").wait_for()
    chat.click("#follow-toggle")
    chat.locator(".line.bot").first.wait_for()

    for action, question in COMPLAINT:
        assert question in chat.locator(".line.bot").last.inner_text()
        answer = do(chat, action)
    assert chat.locator(".line.user.kind-image img.photo").count() == 1
    assert chat.locator(".line.user.kind-location").count() == 2
    ticket = re.search(r"编号 (\S+?)。", answer.inner_text())[1]
    shot(chat, "complaint-filed" + ("-safe" if safe else ""))

    console = browser.new_page()
    console.goto(f"{base}/console/")
    console.get_by_label("用户名").fill("sandbox-admin")
    console.get_by_label("密码").fill(sandbox_admin_password(app, caplog))
    console.get_by_role("button", name="登录").click()
    console.get_by_role("link", name=ticket).first.click()
    assert "好又多超市" in console.content() and "138****8000" in console.content()
    console.locator("#reply textarea[name=text]").fill("陈女士您好，您的投诉已收到，我们将联系商家核实处理。")
    console.get_by_role("button", name="发送答复").click()
    console.wait_for_load_state()
    assert "答复已提交发送" in console.content()

    # The scheduler's outbox sends it as a customer-service message; the chat's poll draws it without a reload.
    reply = chat.locator(".line.bot", has_text="我们将联系商家核实处理")
    reply.wait_for(timeout=20_000)
    assert reply.locator(".via").inner_text() == "客服消息"
    shot(chat, "staff-reply" + ("-safe" if safe else ""), docs=not safe)

    outbox = browser.new_page()
    outbox.goto(f"{base}/sandbox/outbox?channel=custom")
    assert "我们将联系商家核实处理" in outbox.locator("table.calls").inner_text()
    outbox.goto(f"{base}/sandbox/outbox?channel=media")  # the app fetched the photo as evidence
    expect(outbox.locator("table.calls tr.ok")).to_have_count(1)
    shot(outbox, "outbox" + ("-safe" if safe else ""))


def test_decisions_reach_the_chat_and_a_template_opens_the_lead_page(served, browser, caplog):
    app, base = served
    chat = browser.new_page()
    chat.goto(f"{base}/sandbox/")
    chat.fill("input[name=nickname]", "陈小红")
    chat.click("#create-user")
    chat.locator("#phone[data-ready]").wait_for()
    chat.click("#follow-toggle")
    chat.locator(".line.bot").first.wait_for()
    for action, _question in COMPLAINT:
        answer = do(chat, action)
    ticket = re.search(r"编号 (\S+?)。", answer.inner_text())[1]

    console = browser.new_page()
    console.goto(f"{base}/console/")
    console.get_by_label("用户名").fill("sandbox-admin")
    console.get_by_label("密码").fill(sandbox_admin_password(app, caplog))
    console.get_by_role("button", name="登录").click()
    console.get_by_role("link", name=ticket).first.click()
    lead_page = console.url
    console.get_by_role("button", name="变更为“已受理”").click()
    console.wait_for_load_state()

    accepted = chat.locator(".line.bot", has_text=f"【投诉编号 {ticket}】投诉受理告知")
    accepted.wait_for(timeout=20_000)
    assert accepted.locator(".via").inner_text() == "客服消息" and "决定受理" in accepted.inner_text()

    chat.click("#age-window")  # two quiet days: the next message can only be a template message
    chat.locator(".line", has_text="48 小时前").or_(chat.locator(".line", has_text="49 小时前")).first.wait_for()
    console.goto(lead_page)
    console.locator("#reply textarea[name=text]").fill("陈女士您好，商家同意全额退款，请在三个工作日内到店办理。")
    console.get_by_role("button", name="发送答复").click()
    console.wait_for_load_state()
    card = chat.locator(".line.bot .template", has_text="办理人员答复")
    card.wait_for(timeout=20_000)
    assert ticket in card.inner_text()
    shot(chat, "notice-template")

    with chat.context.expect_page() as opened:
        card.locator("a.template-more").click()
    mine = opened.value
    mine.wait_for_load_state()
    assert mine.locator("#ticket").inner_text() == ticket and mine.locator("#status").inner_text() == "已受理"
    notices = mine.locator("#notices").inner_text()
    assert "投诉受理告知" in notices and "商家同意全额退款，请在三个工作日内到店办理。" in notices
    shot(mine, "lead-page")


def test_a_free_question_gets_the_returns_guide(served, browser):
    """A question in the consumer's own words, which no keyword rule claims, is answered from the notices: the
    returns guide (the live notice with the keyword 七天无理由 or the like, the newest) quoted, linked and opened."""
    app, base = served
    store = app.extensions["notices"]
    guide = next(n for n in store.all() if not n.expired and any("无理由" in k for k in n.keywords))
    page = browser.new_page()
    page.goto(f"{base}/sandbox/")
    page.fill("input[name=nickname]", "林先生")
    page.click("#create-user")
    page.locator("#phone[data-ready]").wait_for()
    page.click("#follow-toggle")
    page.locator(".line.bot").first.wait_for()

    answer = say(page, "网上买的衣服能退吗")
    assert f"《{guide.title}》" in answer.inner_text()
    link = answer.locator(f'.text a[href="{base}/notices/{guide.slug}"]')
    expect(link).to_have_text("点这里查看全文")
    shot(page, "free-question")
    page.goto(link.get_attribute("href"))
    expect(page.locator("h1")).to_have_text(guide.title)
