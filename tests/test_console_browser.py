"""The console in a real browser: sign in, work a complaint from 新线索 to 已办结 with a reply, keep screenshots."""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import select

from bot import create_app
from bot.db import get_db
from bot.models import Lead, OutboxItem
from bot.privacy import decrypt
from tests.browser import ARTIFACTS, MARKS, chromium_context, serve
from tests.conftest import make_config
from tests.console_support import PASSWORD, add_lead, add_staff

pytestmark = MARKS


@pytest.fixture
def served(tmp_path):
    """The whole app on a real HTTP server on a free loopback port, with a handler and two leads of their branch."""
    app = create_app(make_config(f"sqlite:///{tmp_path / 'bot.db'}"))
    add_staff(app, "li", "handler", "shiqi", display_name="李办理")
    add_lead(app, business_name="好又多超市", ticket="T20260506001", received_on=date(2026, 5, 6))
    add_lead(app, business_name="美味蛋糕店", ticket="T20260507002", category="预付卡", received_on=date(2026, 5, 7))
    with serve(app) as url:
        yield app, url
    app.extensions["db"].engine.dispose()


@pytest.fixture
def page():
    with chromium_context(viewport={"width": 1366, "height": 900}, locale="zh-CN") as context:
        yield context.new_page()


def _move(page, to: str, **fields: str) -> None:
    form = page.locator("form.action", has=page.locator(f"input[name=to][value='{to}']"))
    for name, value in fields.items():
        form.locator(f"[name={name}]").fill(value)
    form.get_by_role("button", name=f"变更为“{to}”").click()
    page.wait_for_load_state()
    assert page.locator("#status").inner_text() == to


def test_handler_works_a_complaint_to_the_end(served, page):
    app, base = served
    ARTIFACTS.mkdir(exist_ok=True)
    page.goto(base + "/console/queue")
    assert "/console/login" in page.url
    page.get_by_label("用户名").fill("li")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/console/queue")
    rows = page.locator("#queue tbody tr")
    assert rows.count() == 2 and "好又多超市" in rows.nth(0).inner_text()
    assert "超期" in rows.nth(0).inner_text()  # received in May 2026: long past its 7 working days
    page.screenshot(path=str(ARTIFACTS / "console-queue.png"), full_page=True)

    page.get_by_role("link", name="T20260506001").click()
    assert "138****5678" in page.locator("#phone").inner_text()
    _move(page, "已受理")
    _move(page, "调解中")
    page.locator("#reply textarea[name=text]").fill("您好，经调解商家同意退款，请留意到账。")
    page.get_by_role("button", name="发送答复").click()
    page.wait_for_load_state()
    assert "答复已提交发送" in page.content()
    assert "待发送" in page.locator("#reply").inner_text()
    _move(page, "已办结", outcome="经调解，商家退款 35 元。")
    timeline = page.locator("#timeline").inner_text()
    for text in ("已受理", "调解中", "已办结", "答复消费者", "经调解，商家退款 35 元。"):
        assert text in timeline

    with get_db(app).scope() as s:
        lead = s.scalar(select(Lead).where(Lead.ticket == "T20260506001"))
        assert (lead.status, lead.outcome, lead.next_due) == ("已办结", "经调解，商家退款 35 元。", None)
        item = s.scalar(select(OutboxItem).where(OutboxItem.lead_id == lead.id))
        raw = item.payload if item.payload.startswith("{") else decrypt(item.payload)
        assert json.loads(raw)["text"] == "您好，经调解商家同意退款，请留意到账。"

    page.get_by_role("link", name="统计").click()
    page.goto(base + "/console/stats?from=2026-04-01&to=2026-06-30")
    assert page.locator("svg.chart").count() == 6
    page.screenshot(path=str(ARTIFACTS / "console-dashboard.png"), full_page=True)
