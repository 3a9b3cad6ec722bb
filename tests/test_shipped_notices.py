"""The shipped content as a consumer meets it: current notices, their keywords in the bot, the evaluation set."""

from __future__ import annotations

import tomllib
from datetime import date

import pytest

from bot import create_app
from bot.db import get_db, utcnow
from bot.wechat.messages import Context, Incoming, NewsReply
from bot.wechat.router import get_router
from notices import NoticeStore
from tests.conftest import make_config
from tests.notices_kit import ROOT, SHIPPED

QUESTIONS = ROOT / "tests" / "data" / "questions.toml"


def current(store: NoticeStore) -> list:
    """The notices dated in 2026 (the ones from 2022 are the archive)."""
    return [n for n in store.all() if n.date.year == 2026]


@pytest.fixture(scope="module")
def store():
    return NoticeStore(SHIPPED)


@pytest.fixture
def shipped_bot(db_url):
    """The bot on the shipped replies.toml and notices."""
    app = create_app(make_config(db_url))
    yield app
    app.extensions["db"].engine.dispose()


def reply_to(app, text: str):
    with app.app_context(), get_db(app).scope() as session:
        msg = Incoming(openid="oShippedContent01", type="text", content=text, msg_id="1")
        return get_router(app).route(Context(msg=msg, session=session, app=app, now=utcnow()))


def test_at_least_25_current_notices_and_no_problem(store):
    notices = current(store)
    assert len(notices) >= 25
    assert all(date(2026, 1, 1) <= n.date <= date(2026, 11, 30) for n in notices)
    assert store.problems() == []


def test_each_current_keyword_sent_alone_gets_its_own_notice(shipped_bot, store):
    wrong = {}
    for notice in current(store):
        for word in notice.keywords:
            reply = reply_to(shipped_bot, word)
            if not (isinstance(reply, NewsReply) and reply.url.endswith(f"/notices/{notice.slug}")):
                wrong[word] = (notice.slug, reply)
    assert wrong == {}


def test_keyword_replies_show_the_current_guides(shipped_bot):
    for said, slug in [("退货", "2026-returns-seven-days"), ("预付卡", "2026-prepaid-closed-shops")]:
        reply = reply_to(shipped_bot, said)
        assert isinstance(reply, NewsReply) and reply.url == f"http://localhost/notices/{slug}"
    reply = reply_to(shipped_bot, "过期食品")
    assert isinstance(reply, NewsReply) and "过期" in reply.title


def test_replies_toml_names_only_live_shipped_notices(store):
    rules = tomllib.loads((ROOT / "content" / "replies.toml").read_text(encoding="utf-8"))["rule"]
    named = [rule["notice"] for rule in rules if "notice" in rule]
    assert named and all(store.get(slug) is not None and not store.get(slug).expired for slug in named)


def test_evaluation_set_spreads_over_every_current_notice(store):
    questions = tomllib.loads(QUESTIONS.read_text(encoding="utf-8"))["q"]
    assert len(questions) >= 90
    by_slug = {n.slug: n for n in current(store)}
    assert {q["answer"] for q in questions} <= set(by_slug)
    counts = {slug: sum(q["answer"] == slug for q in questions) for slug in by_slug}
    assert min(counts.values()) >= 3, counts
    echoes = [q["text"] for q in questions if q["text"] in {by_slug[q["answer"]].title, *by_slug[q["answer"]].keywords}]
    assert echoes == []
