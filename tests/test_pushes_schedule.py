"""Push schedules: notices' front matter and recurring config become Push rows; quiet hours; topics in the chat."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot import clock, create_app
from bot.config import ConfigError
from bot.db import get_db, utcnow
from bot.models import Follower, Push
from bot.pushes.dispatch import Dispatcher
from bot.pushes.schedule import sync
from tests.conftest import make_config
from tests.pushes_helpers import notices_config, say, write_notice

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def make_app(db_url, tmp_path):
    """Apps on the test's database with a notices folder of their own; disposed at the end."""
    made = []

    def build(**pushes):
        made.append(create_app(make_config(db_url, pushes=pushes, notices=notices_config(tmp_path))))
        return made[-1]

    yield build
    for app in made:
        app.extensions["db"].engine.dispose()


def _sync(app):
    with get_db(app).scope() as s:
        return sync(s, app, utcnow())


def _pushes(app):
    with get_db(app).scope() as s:
        return list(s.scalars(select(Push).order_by(Push.id)))


def test_front_matter_schedules_become_pushes_in_shanghai_time(make_app):
    app = make_app()
    entries = [
        {"at": "2030-11-01 09:00", "channel": "template", "audience": "all"},
        {"at": "2030-11-10 20:00", "channel": "mass", "audience": "topic:双11"},
    ]
    write_notice(app, "double11", entries)
    assert _sync(app) == {"created": 2, "cancelled": 0}
    assert _sync(app) == {"created": 0, "cancelled": 0}  # unique per notice/at/channel/audience
    first, second = _pushes(app)
    due = first.due_at if first.due_at.tzinfo else first.due_at.replace(tzinfo=UTC)
    assert due == datetime(2030, 11, 1, 9, 0, tzinfo=SHANGHAI)
    assert (first.state, first.channel, second.audience) == ("scheduled", "template", "topic:双11")


def test_edited_and_removed_schedules_cancel_the_unstarted_push(make_app):
    app = make_app()
    write_notice(app, "double11", [{"at": "2030-11-01 09:00", "channel": "template", "audience": "all"}])
    write_notice(app, "other")
    _sync(app)
    write_notice(app, "double11", [{"at": "2030-11-01 10:00", "channel": "template", "audience": "all"}])  # moved
    assert _sync(app) == {"created": 1, "cancelled": 1}
    old, new = _pushes(app)
    assert (old.state, new.state) == ("cancelled", "scheduled")
    assert "取消" in old.last_error
    write_notice(app, "double11", [])
    assert _sync(app)["cancelled"] == 1
    assert [p.state for p in _pushes(app)] == ["cancelled", "cancelled"]


def test_recurring_alert_from_config_gets_its_next_occurrence(make_app):
    app = make_app(recurring=[{"cron": "0 9 1 11 *", "notice": "double11", "channel": "mass", "audience": "all"}])
    _sync(app)
    (push,) = _pushes(app)
    local = (push.due_at if push.due_at.tzinfo else push.due_at.replace(tzinfo=UTC)).astimezone(SHANGHAI)
    assert (local.month, local.day, local.hour, local.minute) == (11, 1, 9, 0)
    assert push.source == "recurring" and local > clock.local_now(SHANGHAI)


def test_a_broken_recurring_entry_stops_the_start_naming_it(make_app):
    with pytest.raises(ConfigError) as err:
        make_app(recurring=[{"cron": "every monday", "notice": "x"}])
    assert "[pushes] recurring[0]" in err.value.format_message()


def test_quiet_hours_postpone_a_due_push(make_app):
    now = clock.local_now(SHANGHAI)
    start, end = (now - timedelta(hours=1)).strftime("%H:%M"), (now + timedelta(hours=1)).strftime("%H:%M")
    app = make_app(quiet_start=start, quiet_end=end, template_id="tpl")
    due = (now - timedelta(minutes=1)).strftime("%Y-%m-%d %H:%M")
    write_notice(app, "double11", [{"at": due, "channel": "template", "audience": "all"}])
    _sync(app)
    assert Dispatcher(app).start_due() == []
    (push,) = _pushes(app)
    run_after = push.run_after if push.run_after.tzinfo else push.run_after.replace(tzinfo=UTC)
    assert push.state == "scheduled"
    assert run_after.astimezone(SHANGHAI).strftime("%H:%M") == end and run_after > utcnow()


def test_topics_subscribe_unsubscribe_and_list_in_the_chat(app):
    assert "可以订阅的提醒有" in say(app, "oU1", "我的订阅")
    assert say(app, "oU1", "订阅 双 11").startswith("已为您订阅“双11”提醒")
    assert "不用重复订阅" in say(app, "oU1", "订阅双11")
    say(app, "oU1", "订阅 食品安全")
    assert "您目前订阅了：“双11”、“食品安全”" in say(app, "oU1", "我的订阅")
    assert say(app, "oU1", "退订 双11") == "已为您退订“双11”提醒，今后不再推送这类消息。"
    assert "暂时没有“彩票”这类提醒" in say(app, "oU1", "订阅 彩票")
    assert "您目前订阅了：“食品安全”" in say(app, "oU1", event="click", key="TOPICS")
    with get_db(app).scope() as s:
        follower = s.scalars(select(Follower).where(Follower.openid == "oU1")).one()
        assert follower.topics == ["food"]
