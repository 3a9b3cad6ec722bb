"""The conversation in a real browser: a handler replies on a phone, the consumer answers in WeChat, and the answer
shows in the queue as unread and in the lead's history, marked new until the handler has seen it."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from bot.db import get_db
from bot.models import Lead
from tests.browser import ARTIFACTS, MARKS, chromium_context, serve
from tests.console_support import PASSWORD, add_staff
from tests.leads_support import OFFLINE_COMPLAINT, text
from tests.wechat_user import make_wechat

pytestmark = MARKS


@pytest.fixture
def served(tmp_path):
    wx = make_wechat(f"sqlite:///{tmp_path / 'bot.db'}", "plain")
    add_staff(wx.app, "xl", "handler", "xiaolan", display_name="小榄办理")
    with serve(wx.app) as url:
        yield wx, url
    wx.app.extensions["db"].engine.dispose()


def test_the_consumers_answer_reaches_the_handler_on_a_phone(served):
    wx, base = served
    openid = "o-conversation-browser"
    for answer, _step in OFFLINE_COMPLAINT:
        wx.text(openid, answer)
    ticket = re.search(r"编号 (\d{8}-\d{4})", wx.text(openid, "确认").content).group(1)
    with get_db(wx.app).scope() as s:
        lead_id = s.scalar(select(Lead.id).where(Lead.ticket == ticket))

    with chromium_context(viewport={"width": 390, "height": 844}, locale="zh-CN", is_mobile=True) as context:
        page = context.new_page()
        page.goto(base + "/console/login")
        page.get_by_label("用户名").fill("xl")
        page.get_by_label("密码").fill(PASSWORD)
        page.get_by_role("button", name="登录").click()
        page.goto(f"{base}/console/leads/{lead_id}")
        page.locator("#reply textarea[name=text]").fill("请问您有没有保留小票？")
        page.locator("#reply").get_by_role("button", name="发送答复").click()
        page.wait_for_load_state()

        assert wx.text(openid, "小票丢了，但有微信支付记录").content == text("conversation.forwarded", ticket=ticket)

        page.goto(base + "/console/queue")
        card = page.locator("#queue tbody tr", has_text=ticket)
        assert "新留言 1" in card.inner_text()
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "conversation-queue-phone.png"), full_page=True)
        card.get_by_role("link", name=ticket).click()
        page.wait_for_load_state()
        said = page.locator("#timeline li.unread", has_text="消费者留言")
        assert "小票丢了，但有微信支付记录" in said.inner_text() and "新" in said.inner_text()
        width = page.evaluate("document.scrollingElement.scrollWidth")
        assert width <= 390, f"the lead page scrolls sideways: {width} px"
        page.screenshot(path=str(ARTIFACTS / "conversation-lead-phone.png"), full_page=True)

        page.goto(base + "/console/queue")  # seen: no longer unread
        assert "新留言" not in page.locator("#queue tbody tr", has_text=ticket).inner_text()
        page.goto(f"{base}/console/leads/{lead_id}")
        assert page.locator("#timeline li.unread").count() == 0
