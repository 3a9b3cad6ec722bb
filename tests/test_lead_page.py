"""The consumer's own lead page (/my/<token>): one lead's status, deadlines, notices and replies behind a signed link;
a forged, altered or expired link, or one to no lead, gets the same plain 404; `进度 <编号>` gives a fresh link."""

from __future__ import annotations

import re
import shutil
from datetime import date, timedelta
from pathlib import Path

import pytest

from bot import create_app
from bot.content import ContentError
from bot.db import get_db
from bot.leads.links import page_url, sign
from bot.leads.notices import decide, queue_reply
from bot.leads.workflow import Decision
from bot.models import Lead, LeadEvent
from tests.conftest import make_config
from tests.console_support import add_lead
from tests.decisions_support import path_of
from tests.leads_support import Chat, file_complaint

ROOT = Path(__file__).resolve().parent.parent


def _refuse_and_reply(app, lead_id: int, reply: str) -> None:
    with get_db(app).scope() as s:
        lead = s.get(Lead, lead_id)
        decide(s, app, lead, "不予受理", Decision(ground="16-2", remark="内部：与消协 2026-031 号重复"),
               today=date(2026, 5, 8), note="可向中山市消费者委员会查询进展。")  # fmt: skip
        queue_reply(s, app, lead, reply)
        s.add(LeadEvent(lead_id=lead_id, kind="note", text="内部备注：该消费者曾多次投诉"))


def _page(app, lead_id: int) -> str:
    with app.app_context():
        url = page_url(app, lead_id)
    return app.test_client().get(path_of(url)).get_data(as_text=True)


def test_the_page_shows_one_lead_in_the_consumers_words(app):
    mine = add_lead(app, ticket="20260506-0001", received_on=date(2026, 5, 6))
    theirs = add_lead(app, ticket="20260506-0002", openid="oSomeoneElse", business_name="别家超市")
    _refuse_and_reply(app, mine, "您好，请保留好购物小票，咨询电话 0760-12315。")
    _refuse_and_reply(app, theirs, "另一位消费者的答复")
    html = _page(app, mine)
    assert '我的投诉 <span id="ticket">20260506-0001</span>' in html and "不予受理" in html
    assert "好又多超市" in html and "2026年5月6日" in html and "结束日期" in html
    assert "不予受理告知" in html and "已经由人民法院、仲裁机构" in html and "向人民法院提起诉讼" in html
    assert "补充说明：可向中山市消费者委员会查询进展。" in html
    assert "办理人员答复" in html and "咨询电话 0760-12315" in html
    others = ("别家超市", "另一位消费者的答复", "20260506-0002")
    for private in ("内部：与消协", "内部备注", "张三丰", "13812345678", *others):
        assert private not in html
    open_lead = add_lead(app, ticket="20260506-0003", received_on=date(2026, 5, 6))
    html = _page(app, open_lead)
    assert "已收到" in html and "作出是否受理的决定" in html and "2026年5月14日前" in html
    assert "还没有通知" in html


def test_forged_expired_and_unknown_links_are_the_same_plain_404(app, clock):
    lead_id = add_lead(app, ticket="20260506-0009")
    client = app.test_client()
    with app.app_context():
        token = sign(app, lead_id)
        unknown = sign(app, 999_999)
    assert client.get(f"/my/{token}").status_code == 200
    body, sig = token.rsplit(".", 1)
    other_id = body.replace(body.split(".")[0], "2", 1)
    forged = [
        f"{body}.{sig[:-1]}{'A' if sig[-1] != 'A' else 'B'}",  # one character of the signature changed
        f"{other_id}.{sig}",  # another lead's id under this signature
        unknown,  # genuine, for a lead that does not exist
        "not-a-token",
        "a" * 500,
        "..",
    ]
    pages = [client.get(f"/my/{t}") for t in forged]
    clock.advance(timedelta(days=31))
    pages.append(client.get(f"/my/{token}"))  # expired
    assert {p.status_code for p in pages} == {404}
    bodies = {p.get_data(as_text=True) for p in pages}
    assert len(bodies) == 1  # nothing tells a missing lead from a bad link
    [html] = bodies
    assert "链接无效或已过期" in html and "20260506-0009" not in html and "好又多超市" not in html
    assert pages[0].headers["Cache-Control"] == "no-store"


def test_progress_with_a_ticket_answers_with_a_fresh_link(app):
    chat = Chat(app, "o-progress-01")
    ticket = re.search(r"编号 (\d{8}-\d{4})", file_complaint(chat)).group(1)
    answer = chat.send(f"进度 {ticket}")
    link = re.search(r'<a href="([^"]+)">查看通知全文和办理进度</a>', answer).group(1)
    html = app.test_client().get(path_of(link)).get_data(as_text=True)
    assert ticket in html and "已收到" in html
    stranger = Chat(app, "o-someone-else").send(f"进度 {ticket}")
    assert "未找到" in stranger and "/my/" not in stranger


def test_a_mistake_in_the_wording_names_its_line(db_url, tmp_path):
    broken = tmp_path / "decisions.toml"
    shutil.copy(ROOT / "content" / "decisions.toml", broken)
    text = broken.read_text(encoding="utf-8").replace("已于{today}决定受理", "已于{day}决定受理")
    broken.write_text(text, encoding="utf-8")
    rows = text.splitlines()
    table = rows.index("[notices.accepted]") + 1
    key = next(n for n, row in enumerate(rows, 1) if n > table and row.startswith("text = "))  # the text's first line
    with pytest.raises(ContentError) as caught:
        create_app(make_config(db_url, leads={"decisions_file": str(broken)}))
    message = caught.value.format_message()
    assert message.startswith(f"{broken}:{key}: ") and "不认识的占位符 {day}" in message
