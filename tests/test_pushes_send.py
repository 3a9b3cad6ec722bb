"""Sending pushes through the real API client to the standin: once per recipient, whatever the platform answers."""

from __future__ import annotations

import time
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot import clock
from bot.db import get_db, utcnow
from bot.models import Delivery, Follower, Push
from bot.pushes.dispatch import Dispatcher, run_due
from bot.wechat.client import get_api
from tests.pushes_helpers import (
    add_followers,
    received,
    schedule,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _push(app, push_id: int) -> Push:
    with get_db(app).scope() as s:
        return s.get(Push, push_id)


def _deliveries(app, push_id: int) -> dict[str, Delivery]:
    with get_db(app).scope() as s:
        return {d.openid: d for d in s.scalars(select(Delivery).where(Delivery.push_id == push_id))}


def test_scheduled_push_becomes_due_and_is_sent_once(make_app, standin):
    app = make_app()
    openids = add_followers(app, 120, standin=standin)
    later = schedule(app, "later", at=(clock.local_now(SHANGHAI) + timedelta(hours=2)).strftime("%Y-%m-%d %H:%M"))
    push_id = schedule(app)
    assert run_due(app) == 120
    assert run_due(app) == 0  # nothing left, nothing sent again
    assert received(standin) == dict.fromkeys(openids, 1)
    push = _push(app, push_id)
    assert push.state == "done" and push.report["counts"] == {"sent": 120, "skipped": 0, "failed": 0}
    assert _push(app, later).state == "scheduled"
    body = standin.calls("message/template/send")[0].body
    assert body["template_id"] == "TPL-ALERT" and body["url"] == "http://localhost/notices/double11"
    assert body["data"]["first"]["value"] == "双11网购消费提示" and body["client_msg_id"].startswith(f"push{push_id}-")


def test_unsubscribe_between_scheduling_and_sending(make_app, standin):
    app = make_app()
    stays, left_early, left_late = add_followers(app, 3, standin=standin)
    push_id = schedule(app)
    with get_db(app).scope() as s:
        s.scalars(select(Follower).where(Follower.openid == left_early)).one().subscribed = False
    dispatcher = Dispatcher(app)
    dispatcher.start_due()
    dispatcher.expand(push_id)  # the audience is fixed; then the last one leaves before the send
    standin.user(left_late, subscribed=False)  # unfollows on the platform; we hear of it only when sending
    dispatcher.work(push_id)
    rows = _deliveries(app, push_id)
    assert set(rows) == {stays, left_late}  # an unsubscribed follower is never in the audience
    assert rows[stays].state == "sent"
    assert rows[left_late].state == "skipped" and "43004" in rows[left_late].error
    assert received(standin) == {stays: 1}
    with get_db(app).scope() as s:
        assert s.scalars(select(Follower.subscribed).where(Follower.openid == left_late)).one() is False


def test_custom_messages_only_to_followers_active_within_48_hours(make_app, standin):
    app = make_app()
    recent, old, refused = add_followers(app, 3, standin=standin)
    with get_db(app).scope() as s:
        s.scalars(select(Follower).where(Follower.openid == old)).one().last_message_at = utcnow() - timedelta(days=3)
    standin.user(refused, last_message_at=utcnow() - timedelta(days=3))  # the platform knows better than we do
    push_id = schedule(app, channel="custom")
    run_due(app)
    rows = _deliveries(app, push_id)
    assert rows[recent].state == "sent"
    assert rows[old].state == "skipped" and "48 小时" in rows[old].error
    assert rows[refused].state == "skipped" and "45015" in rows[refused].error
    assert received(standin, "message/custom/send") == {recent: 1}


@pytest.mark.parametrize("fault", ["busy", "timeout", "drop"])
def test_passing_faults_are_retried_and_each_recipient_gets_one_message(make_app, standin, fault):
    app = make_app(wechat={"timeout": 0.5})
    openids = add_followers(app, 10, standin=standin)
    if fault == "busy":
        standin.fail("message/template/send", errcode=-1, times=3)
    elif fault == "timeout":
        standin.delay(1.0, path="message/template/send", times=2)
    else:
        standin.drop(times=2, path="message/template/send")
    push_id = schedule(app)
    dispatcher = Dispatcher(app)
    dispatcher.start_due()
    dispatcher.work(push_id, wait_retries=True)
    assert _push(app, push_id).state == "done"
    assert received(standin) == dict.fromkeys(openids, 1)
    assert max(d.attempts for d in _deliveries(app, push_id).values()) >= 2


def test_retries_give_up_with_the_platform_error_in_the_report(make_app, standin):
    app = make_app(max_attempts=2)
    (openid,) = add_followers(app, 1, standin=standin)
    standin.fail("message/template/send", errcode=-1, times=5)
    push_id = schedule(app)
    Dispatcher(app).start_due()
    Dispatcher(app).work(push_id, wait_retries=True)
    row = _deliveries(app, push_id)[openid]
    assert row.state == "failed" and "-1" in row.error and "已重试 2 次" in row.error
    out = app.test_cli_runner().invoke(args=["pushes", "report", str(push_id)]).output
    assert "failed 1" in out and openid in out and "-1" in out


def test_quota_fault_pauses_the_push_and_it_resumes_later(make_app, standin):
    app = make_app(quota_pause_seconds=1)
    openids = add_followers(app, 30, standin=standin)
    standin.fail("message/template/send", errcode=45009, times=1)
    push_id = schedule(app)
    run_due(app)
    push = _push(app, push_id)
    assert push.state == "paused" and "45009" in push.last_error
    assert run_due(app) == 0  # still paused
    time.sleep(1.1)
    run_due(app)
    assert _push(app, push_id).state == "done"
    assert received(standin) == dict.fromkeys(openids, 1)


def test_token_rejected_once_is_refreshed_by_the_client(make_app, standin):
    app = make_app()
    openids = add_followers(app, 5, standin=standin)
    standin.fail("message/template/send", errcode=40001, times=1)
    push_id = schedule(app)
    run_due(app)
    assert _push(app, push_id).state == "done"
    assert received(standin) == dict.fromkeys(openids, 1)


def test_token_still_rejected_pauses_the_push_with_the_error(make_app, standin):
    app = make_app()
    add_followers(app, 5, standin=standin)
    standin.fail("message/template/send", errcode=40001, times=50)
    push_id = schedule(app)
    run_due(app)
    push = _push(app, push_id)
    assert push.state == "paused" and "40001" in push.last_error


def test_preview_goes_to_the_editors_and_mass_uses_the_preview_api(make_app, standin):
    app = make_app(editors=["oEditor1"])
    add_followers(app, 2, standin=standin)
    standin.user("oEditor1")
    future = (clock.local_now(SHANGHAI) + timedelta(days=1)).strftime("%Y-%m-%d %H:%M")
    template = schedule(app, at=future)
    mass = schedule(app, "double12", channel="mass", at=future)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["pushes", "preview", str(template)])
    assert result.exit_code == 0 and "预览 -> oEditor1: 已发送" in result.output
    assert received(standin) == {"oEditor1": 1}
    assert runner.invoke(args=["pushes", "preview", str(mass)]).exit_code == 0
    (call,) = standin.calls("message/mass/preview")
    assert call.body["touser"] == "oEditor1" and "双11网购消费提示" in call.body["text"]["content"]
    assert standin.calls("message/mass/sendall") == []
    assert _push(app, template).state == "scheduled"


def test_cancel_and_run_from_the_command_line(make_app, standin):
    app = make_app()
    openids = add_followers(app, 3, standin=standin)
    future = (clock.local_now(SHANGHAI) + timedelta(days=1)).strftime("%Y-%m-%d %H:%M")
    dropped, now = schedule(app, at=future), schedule(app, "double12", at=future)
    runner = app.test_cli_runner()
    assert "已取消" in runner.invoke(args=["pushes", "cancel", str(dropped)]).output
    result = runner.invoke(args=["pushes", "run", str(now)])
    assert result.exit_code == 0 and "进度 3/3" in result.output
    listing = runner.invoke(args=["pushes", "list"]).output
    assert f"#{dropped}" in listing and "已取消" in listing and "已完成" in listing
    assert received(standin) == dict.fromkeys(openids, 1)
    assert "不能再发送" in runner.invoke(args=["pushes", "run", str(dropped)]).output


def test_a_repeated_client_msg_id_is_one_message_at_the_platform(make_app, standin):
    app = make_app()
    add_followers(app, 1, standin=standin)
    api = get_api(app)
    first = api.send_template("o000000", "TPL-ALERT", {"first": {"value": "x"}}, client_msg_id="push1-d1")
    again = api.send_template("o000000", "TPL-ALERT", {"first": {"value": "x"}}, client_msg_id="push1-d1")
    other = api.send_template("o000000", "TPL-ALERT", {"first": {"value": "x"}}, client_msg_id="push1-d2")
    assert first["msgid"] == again["msgid"] != other["msgid"]
