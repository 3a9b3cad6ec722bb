"""THE PRODUCTION-SHAPE TEST: PostgreSQL, two gunicorn web processes and two `flask scheduler` processes, for real.

Everything runs as deploy/ describes it (deploy/config.production.toml, secrets from the environment, `flask db
upgrade` as the release step, deploy/gunicorn.conf.py, `[scheduler] enabled = false` on the web processes) against
the WeChat stand-in. WeChat messages go to both web processes; an editor schedules a push to a few hundred
followers; the scheduler holding the lease is killed with SIGKILL in the middle of it; the standby must take over
within the lease time and every recipient must end with exactly one message at the stand-in. About 30-60 s.
"""

from __future__ import annotations

import os
import time
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, insert, select, text

from bot import create_app
from bot.db import get_db, utcnow
from bot.models import Delivery, Follower, KeyValue, Push
from bot.scheduler import LEASE_KEY
from tests.conftest import make_config
from tests.production_support import AES_KEY, BIN, Fleet, production_config
from tests.pushes_helpers import add_followers, received
from tests.wechat_user import APP_ID, TOKEN, WeChat, text_xml

pytestmark = pytest.mark.production_shape

LEASE_SECONDS = 3
FOLLOWERS = 300
NOTICE = """---
title: 年货节网购消费提示
date: 2026-01-10
category: 消费提示
keywords: [年货节]
summary: 年货节促销多，看清规则再付款，保存好订单和聊天记录。
{push}---

年货节期间请理性消费，遇到问题可发送“投诉”。
"""


@pytest.fixture
def database(request):
    """An empty PostgreSQL database on the session's server (the release step migrates it)."""
    server = request.getfixturevalue("pg_server")
    name = f"prodshape_{os.getpid()}"
    with server.admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE {name}"))
    yield server.url(name)
    with server.admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


@pytest.fixture
def fleet(database, standin, tmp_path):
    """The service's processes on one production config pointed at the stand-in; stopped at the end."""
    (tmp_path / "notices").mkdir()
    write_notice(tmp_path, push="")
    config = production_config(
        tmp_path,
        standin.url,
        wechat={"timeout": 2.0},
        scheduler={"enabled": False, "lease_seconds": LEASE_SECONDS, "tick_seconds": 0.5},
        pushes={
            "template_id": "TPL-ALERT",
            "quiet_start": "00:00",
            "quiet_end": "00:00",  # the test must not depend on the hour it runs at
            "concurrency": 4,
            "batch_size": 25,
            "claim_timeout_seconds": 2,
            "retry_base_seconds": 0.05,
        },
        notices={"content_dir": str(tmp_path / "notices"), "reload_seconds": 0},
    )
    processes = Fleet(tmp_path, config, database)
    yield processes
    processes.stop()


def write_notice(folder, push: str) -> None:
    """What an editor saves: the notice, with `push` front matter when given."""
    (folder / "notices" / "nianhuo-tips.md").write_text(NOTICE.format(push=push), encoding="utf-8")


def test_production_shape_survives_the_loss_of_its_active_scheduler(fleet, database, standin, tmp_path, system_clock):
    release(fleet)
    urls = [fleet.web("web-a"), fleet.web("web-b")]
    app = create_app(make_config(database, database={"auto_migrate": False}))
    try:
        chat_users = converse(urls, standin)
        expected = chat_users + add_followers(app, FOLLOWERS, prefix="oFan", standin=standin, topics=["double11"])
        add_unsubscribed(app, standin, "oGone000001")
        fleet.scheduler("scheduler-1")
        fleet.scheduler("scheduler-2")
        first = wait_for_lease(fleet, app, other_than=None)
        standin.delay(0.05, path="message/template/send")  # a push of 300 takes a few seconds: time to kill
        schedule_push(tmp_path)
        fleet.wait_for(first, lambda: len(standin.calls("message/template/send")) >= 60, 30)
        killed_at = time.monotonic()
        fleet.kill(first)
        assert open_deliveries(app) > 0, "the push must still be going when its scheduler dies"
        second = wait_for_lease(fleet, app, other_than=first)
        assert time.monotonic() - killed_at <= LEASE_SECONDS + 3, "the standby took over too late"
        fleet.wait_for(second, lambda: push_state(app) == "done", 60)
        assert received(standin) == dict.fromkeys(expected, 1)
        assert delivery_states(app) == {"sent": len(expected)}
        mine = WeChat(urls[1], TOKEN, APP_ID, AES_KEY).text(chat_users[0], "我的订阅")
        assert mine.status == 200 and mine.content.startswith("您目前订阅了：“双11”")
    finally:
        get_db(app).engine.dispose()
    codes = fleet.stop()
    assert codes == {"web-a": 0, "web-b": 0, first: -9, second: 0}, codes
    assert "scheduler stopped" in fleet.log(second)


def release(fleet: Fleet) -> None:
    """The release steps: the schema, then gunicorn's own check of deploy/gunicorn.conf.py and the app it loads."""
    upgrade = fleet.run(str(BIN / "flask"), "--app", "bot", "db", "upgrade")
    assert upgrade.returncode == 0, upgrade.stdout + upgrade.stderr
    check = fleet.run(str(BIN / "gunicorn"), "--check-config", "-c", "deploy/gunicorn.conf.py")
    assert check.returncode == 0, check.stdout + check.stderr


def converse(urls: list[str], standin) -> list[str]:
    """Two consumers talk to both web processes (safe mode); the answers show they share one database.

    Those still subscribed to 双11 at the end (Alice) are returned: they are in the push's audience.
    """
    wx_a, wx_b = (WeChat(url, TOKEN, APP_ID, AES_KEY) for url in urls)
    users = ["oChatAlice01", "oChatBob0002"]
    for openid, wx in zip(users, (wx_a, wx_b), strict=True):
        standin.user(openid)
        assert wx.event(openid, "subscribe").content.startswith("感谢关注中山市市场监督管理局消费者服务号")
    news = wx_b.text(users[0], "年货节有什么要注意的")
    assert news.reply["MsgType"] == "news" and news.reply["Title"] == "年货节网购消费提示"
    assert "已为您订阅“双11”提醒" in wx_a.text(users[0], "订阅 双11").content
    assert "已为您订阅“双11”提醒" in wx_b.text(users[1], "订阅 双11").content
    started = wx_a.text(users[1], "投诉").content  # a dialogue begun on one process ...
    assert "取消" in started
    assert wx_b.text(users[1], "取消").content.startswith("已取消本次填写")  # ... is the same dialogue on the other
    query = wx_a.query()
    body, query = wx_a.envelope(text_xml(users[0], "我的订阅"), query)
    first = wx_a.post(body, query, raw=True)
    retry = wx_b.post(body, query, raw=True)  # WeChat's retry of the very same delivery, to the other process
    assert first.status == retry.status == 200 and first.content.startswith("您目前订阅了：“双11”")
    assert retry.content == first.content
    assert wx_b.event(users[1], "unsubscribe").status == 200  # leaving deletes the profile, topics included ...
    assert wx_a.event(users[1], "subscribe").content.startswith("感谢关注")
    assert wx_a.text(users[1], "我的订阅").content.startswith("您还没有订阅任何提醒")  # ... Bob is not in the push
    return users[:1]


def add_unsubscribed(app, standin, openid: str) -> None:
    """A follower who left (with the topic still on the row): the platform would deliver, so the app must not send."""
    with get_db(app).scope() as s:
        s.execute(insert(Follower), [{"openid": openid, "subscribed": False, "topics": ["double11"], "tags": []}])
    standin.user(openid)


def schedule_push(folder) -> None:
    """The editor adds a template push to the topic's subscribers, due a minute ago (Asia/Shanghai)."""
    at = (utcnow() - timedelta(minutes=1)).astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M")
    write_notice(folder, push=f'push:\n  - {{at: "{at}", channel: template, audience: "topic:double11"}}\n')


def wait_for_lease(fleet: Fleet, app, other_than: str | None) -> str:
    """The name of the scheduler process holding the lease row (once it is not `other_than`)."""
    pids = {proc.pid: name for name, proc in fleet.procs.items() if name.startswith("scheduler")}
    holder: list[str] = []

    def held() -> bool:
        with get_db(app).scope() as s:
            row = s.get(KeyValue, LEASE_KEY)
            name = pids.get(int(row.value.split(":")[1])) if row is not None and row.value else None
        if name is None or name == other_than:
            return False
        holder.append(name)
        return True

    fleet.wait_for("scheduler-2" if other_than == "scheduler-1" else "scheduler-1", held, LEASE_SECONDS + 20)
    return holder[-1]


def push_state(app) -> str | None:
    with get_db(app).scope() as s:
        return s.scalar(select(Push.state).where(Push.notice_slug == "nianhuo-tips"))


def open_deliveries(app) -> int:
    with get_db(app).scope() as s:
        return s.scalar(select(func.count()).where(Delivery.state.in_(("pending", "sending")))) or 0


def delivery_states(app) -> dict[str, int]:
    with get_db(app).scope() as s:
        return dict(s.execute(select(Delivery.state, func.count()).group_by(Delivery.state)).all())
