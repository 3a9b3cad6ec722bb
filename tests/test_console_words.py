"""What staff read in the console: one Chinese word for each state on every page and in `flask pushes list`, a
reply printed once in the lead's history, figures with their units, the console's icon and its own 404 page."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from bot.db import get_db
from bot.leads.create import rules
from bot.models import LeadEvent, OutboxItem, Push
from bot.pushes.states import PUSH_STATES
from tests.console_pages_support import pages, seed
from tests.console_support import Staff, add_lead


def _text(html: str) -> str:
    """The page's words without its tags (what a reader sees, roughly)."""
    return re.sub(r"<[^>]+>", " ", html)


def test_a_lead_without_a_branch_is_called_the_same_everywhere(app):
    route = rules(app).branches.route("complaint", "华润万家超市三楼", None)
    assert route.value is None and route.rule.endswith("待分派")
    ids = seed(app)
    admin = Staff(app, "boss")
    seen = {path: admin.get(path).get_data(as_text=True) for path in pages("admin", ids)}
    seen["/console/report"] = admin.get("/console/report?from=2026-11-01&to=2026-11-30").get_data(as_text=True)
    assert not [path for path, html in seen.items() if "待分拣" in html]
    assert "待分派" in seen["/console/triage"] and "待分派" in seen[f"/console/leads/{ids['triage']}"]
    assert "待分派" in seen["/console/report"]  # the table of branches


def test_pushes_show_their_states_in_chinese(app):
    seed(app)
    page = _text(Staff(app, "ed").get("/console/pushes").get_data(as_text=True))
    for word in ("已排期", "发送中", "已完成", "已取消", "失败", "已暂停", "未发送", "全部关注者", "群发"):
        assert word in page
    for raw in (*PUSH_STATES, "mass", "all"):
        assert not re.search(rf"\b{raw}\b", page.split("推送记录", 1)[1]), raw


def test_the_pushes_command_uses_the_same_words(app):
    with get_db(app).scope() as s:
        s.add(Push(notice_slug="tips", channel="mass", audience="all", due_at=datetime(2026, 12, 2, 1, tzinfo=UTC)))
    listing = app.test_cli_runner().invoke(args=["pushes", "list"]).output
    assert "已排期" in listing and "scheduled" not in listing and "待发送" not in listing


def test_a_reply_and_its_delivery_print_the_reply_once(app):
    ids = seed(app)
    staff = Staff(app, "li")
    reply = "您好，我们已约谈商家，请于三日内留意退款。"
    staff.post(f"/console/leads/{ids['mediation']}/reply", data={"text": reply})
    with get_db(app).scope() as s:  # the outbox sends it, then records the delivery as bot/leads/delivery.py does
        item = s.query(OutboxItem).filter_by(lead_id=ids["mediation"]).one()
        item.state = "done"
        s.add(LeadEvent(lead_id=ids["mediation"], kind="reply_delivered", text=reply,
                        detail={"outbox_id": item.id, "channel": "custom"}))  # fmt: skip
    page = staff.get(f"/console/leads/{ids['mediation']}").get_data(as_text=True)
    timeline = page.split('id="timeline"', 1)[1]
    assert "答复消费者" in timeline and "答复已送达" in timeline and timeline.count(reply) == 1
    assert "已送达" in page.split('id="reply"', 1)[1].split("</table>", 1)[0]  # the reply's state, same word


def test_a_delivery_without_its_reply_still_shows_the_text(app):
    """A message the outbox sent for another cause (no reply event of its own) keeps its text in the history."""
    seed(app)
    lead_id = add_lead(app)
    with get_db(app).scope() as s:
        s.add(LeadEvent(lead_id=lead_id, kind="reply_delivered", text="您的投诉已受理。", detail={"outbox_id": 999}))
    page = Staff(app, "li").get(f"/console/leads/{lead_id}").get_data(as_text=True)
    assert page.split('id="timeline"', 1)[1].count("您的投诉已受理。") == 1


def test_figures_carry_their_units(app):
    ids = seed(app)
    handler = Staff(app, "li")
    stats = _text(handler.get("/console/stats?from=2026-11-01&to=2026-11-30").get_data(as_text=True))
    assert "3 条" in stats and "个工作日" in stats and re.search(r"投诉 \d+ 件（\d+%）", stats)
    lead = _text(handler.get(f"/console/leads/{ids['complaint']}").get_data(as_text=True))
    assert "1280.50 元" in lead and "剩 3 个工作日" in lead
    pushes = _text(Staff(app, "ed").get("/console/pushes").get_data(as_text=True))
    assert "0 人" in pushes
    report = handler.get("/console/report?from=2026-11-01&to=2026-11-30").get_data(as_text=True)
    assert "收到（条）" in report and "办结（条）" in report


def test_every_page_links_the_icon_and_it_is_served(app):
    seed(app)
    client = app.test_client()
    login = client.get("/console/login").get_data(as_text=True)
    icon = re.search(r'<link rel="icon" href="([^"]+)"', login).group(1)
    with client.get(icon) as svg:  # a file response: closed after reading
        assert svg.status_code == 200 and svg.mimetype == "image/svg+xml" and b"<svg" in svg.data
    with client.get("/favicon.ico") as ico:  # an ICO file, for pages that do not link one
        assert ico.status_code == 200 and ico.data[:4] == b"\x00\x00\x01\x00"
    assert 'rel="icon"' in Staff(app, "boss").get("/console/queue").get_data(as_text=True)


def test_an_unknown_console_address_gets_the_console_404(app):
    seed(app)
    admin = Staff(app, "boss")
    missing = admin.get("/console/no-such-page")
    assert missing.status_code == 404 and "找不到此页面" in missing.get_data(as_text=True)
    assert "审计日志" in missing.get_data(as_text=True)  # the console's menu, not the public site's page
    other = admin.get("/console/leads/99999")
    assert other.status_code == 404 and "您无权查看这条线索" in other.get_data(as_text=True)
