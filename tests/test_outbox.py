"""The outbox: staff notified on every channel exactly once (SMTP and a WeCom robot on loopback), retries with
backoff, failures visible, claims safe between runners, and no unmasked phone number anywhere."""

from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot import create_app, outbox
from bot.db import get_db, utcnow
from bot.models import LeadEvent, OutboxItem
from tests.conftest import make_config
from tests.leads_support import OFFLINE_COMPLAINT, Chat, file_complaint
from tests.outbox_support import MailServer, RobotServer


@pytest.fixture
def mail():
    server = MailServer()
    server.controller.start()
    yield server
    server.controller.stop()


@pytest.fixture
def robot():
    server = RobotServer().start()
    yield server
    server.stop()


@pytest.fixture
def robot2():
    server = RobotServer().start()
    yield server
    server.stop()


def _app(db_url, mail, robot, **sections):
    smtp = {"host": "127.0.0.1", "port": mail.port, "from": "bot@bureau.example", "starttls": False, "timeout": 5}
    notify = {"email": ["triage@bureau.example", "chief@bureau.example"], "wecom_webhook": robot.url}
    cfg = make_config(db_url, smtp=smtp, notify=notify, outbox={"backoff_seconds": 0, "max_attempts": 5})
    for name, values in sections.items():
        cfg.setdefault(name, {}).update(values)
    return create_app(cfg)


def _items(app, kind="notify_staff"):
    with get_db(app).scope() as s:
        return s.execute(select(OutboxItem).where(OutboxItem.kind == kind).order_by(OutboxItem.id)).scalars().all()


def _events(app, kind):
    with get_db(app).scope() as s:
        return s.execute(select(LeadEvent).where(LeadEvent.kind == kind)).scalars().all()


def _drain(app, rounds=10):
    for _ in range(rounds):
        if outbox.run_due(app) == 0:
            return


def test_enqueue_is_idempotent_by_key(app):
    with app.app_context(), get_db(app).scope() as s:
        a = outbox.enqueue(s, "notify_staff", {"x": 1}, dedupe_key="k-1")
        b = outbox.enqueue(s, "notify_staff", {"x": 2}, dedupe_key="k-1")
        assert a is b
    with get_db(app).scope() as s:
        a2 = outbox.enqueue(s, "notify_staff", {"x": 3}, dedupe_key="k-1")
        assert a2.id == a.id
    assert len(_items(app)) == 1


def test_each_channel_once_even_when_one_fails_for_a_while(db_url, mail, robot):
    app = _app(db_url, mail, robot, leads={"branches": {}})
    file_complaint(Chat(app))  # routed to 小榄, which has no own table: [notify] applies
    mail.fail(2)
    assert outbox.run_due(app) == 2
    assert len(robot.posts) == 1 and mail.messages == []
    email, wecom = _items(app)
    assert (email.state, email.attempts, wecom.state) == ("pending", 1, "done")
    assert "451" in email.last_error
    _drain(app)
    assert len(mail.messages) == 1 and len(robot.posts) == 1  # the robot was not asked again
    assert sorted(mail.messages[0]["To"].split(", ")) == ["chief@bureau.example", "triage@bureau.example"]
    email, wecom = _items(app)
    assert (email.state, email.attempts) == ("done", 3)
    assert sorted(e.detail["channel"] for e in _events(app, "staff_notified")) == ["email", "wecom"]
    assert outbox.run_due(app) == 0  # nothing left, nothing repeated
    body = mail.bodies()[0]
    assert body.startswith("新投诉线索 20261130-0001") and "小榄镇分局" in body
    assert f"http://localhost/console/leads/{email.lead_id}" in body and "张**" in body
    app.extensions["db"].engine.dispose()


def test_a_branch_table_sends_to_the_branch_only(db_url, mail, robot, robot2):
    app = _app(db_url, mail, robot, leads={"branches": {"xiaolan": {"wecom_webhook": robot2.url}}})
    file_complaint(Chat(app, "o-1"))  # 小榄
    answers = list(OFFLINE_COMPLAINT)
    answers[3] = ("广州市天河区某路", "item")
    file_complaint(Chat(app, "o-2"), answers)  # not in the city: triage, [notify]
    _drain(app)
    assert [t.splitlines()[0] for t in robot2.texts()] == ["新投诉线索 20261130-0001"]
    assert [t.splitlines()[0] for t in robot.texts()] == ["新投诉线索 20261130-0002"]
    assert "待分派" in robot.texts()[0] and len(mail.messages) == 1
    app.extensions["db"].engine.dispose()


def test_a_channel_that_keeps_failing_ends_failed_and_shows(db_url, mail, robot):
    app = _app(db_url, mail, robot, outbox={"max_attempts": 3})
    robot.fail(10, code=45009)
    file_complaint(Chat(app))
    _drain(app)
    email, wecom = _items(app)
    assert email.state == "done" and (wecom.state, wecom.attempts) == ("failed", 3)
    assert "errcode=45009" in wecom.last_error and "robot-secret-key" not in wecom.last_error
    [failed] = _events(app, "notify_failed")
    assert failed.detail["channel"] == "wecom" and "45009" in failed.detail["error"]
    runner = app.test_cli_runner()
    listing = runner.invoke(args=["outbox", "list"])
    assert listing.exit_code == 0 and f"#{wecom.id} notify_staff failed attempts=3" in listing.output
    assert "errcode=45009" in listing.output and "1 failed item(s)" in listing.output
    robot.fail(0)
    assert runner.invoke(args=["outbox", "retry", str(wecom.id)]).exit_code == 0
    assert "ran 1 outbox item(s)" in runner.invoke(args=["outbox", "run"]).output
    assert len(robot.posts) == 1 and _items(app)[1].state == "done"
    assert runner.invoke(args=["outbox", "retry", str(email.id)]).exit_code != 0  # only failed items
    app.extensions["db"].engine.dispose()


def test_an_unreachable_robot_does_not_leak_its_key(db_url, mail):
    robot = RobotServer()  # never started: connection refused
    robot.server.server_close()
    app = _app(db_url, mail, robot, outbox={"max_attempts": 1})
    file_complaint(Chat(app))
    _drain(app)
    wecom = _items(app)[1]
    assert wecom.state == "failed" and "unreachable" in wecom.last_error and "key=" not in wecom.last_error
    app.extensions["db"].engine.dispose()


def test_retries_back_off_exponentially(db_url, mail, robot):
    app = _app(db_url, mail, robot, outbox={"backoff_seconds": 30, "backoff_max_seconds": 100})
    assert [outbox.backoff(app, n) for n in (1, 2, 3, 4)] == [30, 60, 100, 100]
    mail.fail(5)
    file_complaint(Chat(app))
    before = utcnow()
    outbox.run_due(app)
    email = _items(app)[0]
    wait = email.next_attempt_at - before  # both aware (UTCDateTime), whatever the server's time zone
    assert timedelta(seconds=29) < wait < timedelta(seconds=35)
    assert outbox.run_due(app) == 0  # not due yet
    app.extensions["db"].engine.dispose()


RUNS: list[int] = []


@outbox.handler("test_slow")
def _slow(job):
    RUNS.append(job.payload["n"])
    time.sleep(0.05)
    return None


def test_two_runners_never_run_an_item_twice(app):
    RUNS.clear()
    with get_db(app).scope() as s:
        for n in range(20):
            outbox.enqueue(s, "test_slow", {"n": n})
    threads = [threading.Thread(target=outbox.run_due, args=(app, 5)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    _drain(app)
    assert sorted(RUNS) == list(range(20))
    assert {i.state for i in _items(app, "test_slow")} == {"done"}


def test_an_unknown_kind_fails_at_once(app):
    with get_db(app).scope() as s:
        outbox.enqueue(s, "no_such_kind", {})
    outbox.run_due(app)
    [item] = _items(app, "no_such_kind")
    assert item.state == "failed" and "no handler" in item.last_error


def test_no_unmasked_phone_in_notifications_or_logs(db_url, mail, robot, caplog):
    caplog.set_level(logging.DEBUG)
    app = _app(db_url, mail, robot)
    mail.fail(1)
    robot.fail(1)
    answers = list(OFFLINE_COMPLAINT)
    answers[7] = ("饭里有头发，老板电话13912345678不接，我的手机 13800138000 也打不通，备用 138 0013 8001。", "request")
    file_complaint(Chat(app), answers)
    _drain(app)
    sent = mail.bodies() + robot.texts()
    assert len(sent) == 2
    everything = "\n".join([*sent, caplog.text, *(i.last_error or "" for i in _items(app))])
    for phone in ("13800138000", "13912345678", "138 0013 8001", "13800138001"):
        assert phone not in everything
    assert all("138****8000" in body and "139****5678" in body for body in sent)
    app.extensions["db"].engine.dispose()
