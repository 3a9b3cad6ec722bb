"""Mass sends: the budget checked before sending, clientmsgid against repeats, MASSSENDJOBFINISH on the report."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.db import get_db
from bot.models import Delivery, MassSend, Push
from bot.pushes.dispatch import run_due
from bot.wechat.settings import WechatSettings
from tests.pushes_helpers import (
    add_followers,
    say,
    schedule,
)
from tests.timekeeping import at


@pytest.mark.parametrize("hour_minute", [(10, 0), (0, 30), (23, 50)], ids=["10:00", "00:30", "23:50"])
def test_subscription_account_budget_refuses_a_second_sendall_the_same_day(make_app, standin, hour_minute):
    """One mass send per Shanghai day, whatever the hour: at 00:30 and 23:50 the day is the one in Shanghai."""
    at(2026, 11, 11, *hour_minute)
    standin.settings.replace(WechatSettings, account_type="subscription")
    app = make_app(wechat={"account_type": "subscription"})
    add_followers(app, 5, standin=standin)
    first = schedule(app, "double11", channel="mass")
    run_due(app)
    second = schedule(app, "double12", channel="mass")
    run_due(app)
    assert len(standin.calls("message/mass/sendall")) == 1
    with get_db(app).scope() as s:
        assert s.get(Push, first).state == "done"
        refused = s.get(Push, second)
        assert refused.state == "refused"
        assert "订阅号每天只能群发 1 次" in refused.last_error and f"#{first}" in refused.last_error
        assert s.scalars(select(Delivery).where(Delivery.push_id == second)).all() == []
    out = app.test_cli_runner().invoke(args=["pushes", "list"]).output
    assert "未发送" in out and "订阅号每天只能群发 1 次" in out


def test_subscription_account_may_send_again_after_midnight_in_shanghai(make_app, standin, clock):
    at(2026, 11, 11, 23, 50)
    standin.settings.replace(WechatSettings, account_type="subscription")
    app = make_app(wechat={"account_type": "subscription"})
    add_followers(app, 3, standin=standin)
    schedule(app, "double11", channel="mass")
    run_due(app)
    at(2026, 11, 12, 0, 10)  # 16:10 UTC, still 11-11 in UTC: a new day in Shanghai
    second = schedule(app, "double12", channel="mass")
    run_due(app)
    assert len(standin.calls("message/mass/sendall")) == 2
    with get_db(app).scope() as s:
        assert s.get(Push, second).state == "done"


def test_mass_send_to_a_topic_uses_an_openid_list_and_the_finish_event_updates_the_report(make_app, standin):
    app = make_app()
    fans = add_followers(app, 3, prefix="fan", standin=standin, topics=["double11"])
    add_followers(app, 2, prefix="other", standin=standin)
    push_id = schedule(app, channel="mass", audience="topic:双11")
    run_due(app)
    (call,) = standin.calls("message/mass/send")
    assert sorted(call.body["touser"]) == fans
    with get_db(app).scope() as s:
        send = s.scalars(select(MassSend).where(MassSend.push_id == push_id)).one()
        assert send.clientmsgid == call.body["clientmsgid"] and send.msg_id
        msg_id = send.msg_id
    event = {"event": "masssendjobfinish", "raw": {"MsgID": msg_id, "Status": "send success", "TotalCount": "3"}}
    event["raw"] |= {"FilterCount": "3", "SentCount": "3", "ErrorCount": "0"}
    say(app, "gh_account", **event)
    with get_db(app).scope() as s:
        push = s.get(Push, push_id)
        assert push.report["platform"][send.clientmsgid] == {
            "status": "send success",
            "total": 3,
            "filtered": 3,
            "sent": 3,
            "errors": 0,
        }
    out = app.test_cli_runner().invoke(args=["pushes", "report", str(push_id)]).output
    assert "send success" in out and "sent 3" in out


@pytest.mark.parametrize(
    "day_time", [(2026, 11, 20, 10, 0), (2026, 12, 1, 0, 30)], ids=["mid-month", "00:30 on the 1st"]
)
def test_service_account_skips_followers_who_had_four_mass_sends_this_month(make_app, standin, day_time):
    at(*day_time)
    app = make_app()
    add_followers(app, 2, standin=standin, topics=["double11"])  # an openid list needs at least two
    ids = [schedule(app, f"n{i}", channel="mass", audience="topic:双11") for i in range(5)]
    for _ in ids:
        run_due(app)
    with get_db(app).scope() as s:
        rows = [s.scalars(select(Delivery).where(Delivery.push_id == i)).all() for i in ids]
    assert [sorted({d.state for d in r}) for r in rows] == [["sent"]] * 4 + [["skipped"]]
    assert "每月最多向同一用户群发 4 次" in rows[-1][0].error


def test_service_account_counts_afresh_from_the_first_of_the_month_in_shanghai(make_app, standin):
    at(2026, 11, 30, 23, 30)
    app = make_app()
    add_followers(app, 2, standin=standin, topics=["double11"])
    for i in range(4):
        schedule(app, f"n{i}", channel="mass", audience="topic:双11")
        run_due(app)
    at(2026, 12, 1, 0, 30)  # 16:30 UTC on 11-30: December already in Shanghai
    fifth = schedule(app, "n4", channel="mass", audience="topic:双11")
    run_due(app)
    with get_db(app).scope() as s:
        assert {d.state for d in s.scalars(select(Delivery).where(Delivery.push_id == fifth))} == {"sent"}
