"""The consumer's lead page on a phone (390×844) in a real browser: no horizontal scrolling, the status and every
notice visible in full, a screenshot kept."""

from __future__ import annotations

from datetime import date

import pytest

from bot import create_app
from bot.db import get_db
from bot.leads.links import page_url
from bot.leads.notices import decide, queue_reply
from bot.leads.workflow import Decision
from bot.models import Lead
from tests.browser import ARTIFACTS, MARKS, chromium_context, serve
from tests.conftest import make_config
from tests.console_support import add_lead
from tests.decisions_support import path_of

pytestmark = MARKS
WIDTH, HEIGHT = 390, 844


@pytest.fixture
def served(tmp_path):
    """The app on a real server, with a refused complaint (the longest notice) and a long staff reply."""
    app = create_app(make_config(f"sqlite:///{tmp_path / 'bot.db'}"))
    lead_id = add_lead(app, ticket="20261130-0001", received_on=date(2026, 11, 30), business_name="好再来快餐店")
    with get_db(app).scope() as s:
        lead = s.get(Lead, lead_id)
        note = "补齐姓名、电话和通讯地址后，可以重新提交投诉：https://www.12315.cn/cuser/portal/complaint"
        decide(s, app, lead, "不予受理", Decision(ground="16-5"), today=date(2026, 12, 1), note=note)
        queue_reply(s, app, lead, "您好，" + "关于您反映的问题，我们已经向商家了解了情况，" * 6 + "谢谢。")
    with app.app_context():
        path = path_of(page_url(app, lead_id))
    with serve(app) as url:
        yield url + path
    app.extensions["db"].engine.dispose()


def test_the_lead_page_fits_a_phone(served):
    with chromium_context(
        viewport={"width": WIDTH, "height": HEIGHT}, device_scale_factor=2, is_mobile=True, locale="zh-CN"
    ) as context:
        page = context.new_page()
        response = page.goto(served)
        assert response.status == 200
        assert page.evaluate("document.documentElement.scrollWidth") <= WIDTH
        status = page.locator("#status")
        assert status.is_visible() and status.inner_text() == "不予受理"
        box = status.bounding_box()
        assert box["y"] + box["height"] <= HEIGHT  # the status is on the first screen
        cards = page.locator("#notices .notice")
        assert cards.count() == 2
        refusal, reply = cards.nth(0), cards.nth(1)
        assert "不予受理告知" in refusal.inner_text() and "向人民法院提起诉讼" in refusal.inner_text()
        assert "12315.cn" in refusal.inner_text() and "办理人员答复" in reply.inner_text()
        for card in (refusal, reply):
            card.scroll_into_view_if_needed()
            assert card.is_visible()
            edge = card.bounding_box()
            assert edge["x"] >= 0 and edge["x"] + edge["width"] <= WIDTH
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "lead-page-390.png"), full_page=True)
