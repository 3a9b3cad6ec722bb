"""Outbox work that goes through the WeChat API (against the platform stand-in): staff template messages, replies
to consumers inside and outside the 48-hour window, and evidence photos downloaded within their lifetime."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from bot import create_app, outbox
from bot.db import get_db, utcnow
from bot.models import Evidence, Follower, LeadEvent, OutboxItem
from tests.leads_support import OFFLINE_COMPLAINT, Chat, file_complaint


def _items(app, kind):
    with get_db(app).scope() as s:
        return s.execute(select(OutboxItem).where(OutboxItem.kind == kind).order_by(OutboxItem.id)).scalars().all()


def _events(app, kind):
    with get_db(app).scope() as s:
        return s.execute(select(LeadEvent).where(LeadEvent.kind == kind).order_by(LeadEvent.id)).scalars().all()


def _drain(app, rounds=10):
    for _ in range(rounds):
        if outbox.run_due(app) == 0:
            return


def _app(db_url, standin, tmp_path, **sections):
    cfg = standin.config(
        db_url,
        notify={"wechat_openids": ["o-staff-1", "o-staff-2"], "template_id": "TPL-STAFF"},
        outbox={"backoff_seconds": 0, "max_attempts": 4},
        leads={"consumer_template_id": "TPL-PROGRESS", "evidence_dir": str(tmp_path / "evidence")},
    )
    for name, values in sections.items():
        cfg.setdefault(name, {}).update(values)
    return create_app(cfg)


def test_staff_template_messages_each_once_when_one_fails_for_a_while(db_url, standin, tmp_path):
    app = _app(db_url, standin, tmp_path)
    standin.user("o-staff-1")
    standin.user("o-staff-2")
    standin.fail("message/template/send", errcode=-1, times=2)  # the platform is busy twice
    answers = list(OFFLINE_COMPLAINT)
    answers[7] = ("饭里有头发，我的手机13800138000打了店家也不理。", "request")
    file_complaint(Chat(app), answers)
    _drain(app)
    delivered = [c for c in standin.calls("message/template/send") if c.fault is None]
    assert sorted(c.body["touser"] for c in delivered) == ["o-staff-1", "o-staff-2"]
    assert len(standin.calls("message/template/send")) == 4
    first = delivered[0].body
    assert first["template_id"] == "TPL-STAFF" and first["url"].startswith("http://localhost/console/leads/")
    assert first["data"]["first"]["value"].startswith("新投诉线索")
    assert "13800138000" not in json.dumps([c.body for c in standin.calls()], ensure_ascii=False)
    assert "138****8000" in first["data"]["remark"]["value"]
    assert {i.state for i in _items(app, "notify_staff")} == {"done"}
    assert len(_events(app, "staff_notified")) == 2
    app.extensions["db"].engine.dispose()


def test_a_staff_openid_that_does_not_follow_fails_at_once(db_url, standin, tmp_path):
    app = _app(db_url, standin, tmp_path)
    standin.user("o-staff-1")
    standin.user("o-staff-2", subscribed=False)
    file_complaint(Chat(app))
    _drain(app)
    one, two = _items(app, "notify_staff")
    assert one.state == "done" and (two.state, two.attempts) == ("failed", 1) and "43004" in two.last_error
    app.extensions["db"].engine.dispose()


def _lead_and_reply(app, text, last_message_at):
    chat = Chat(app, "o-consumer")
    file_complaint(chat)
    with get_db(app).scope() as s:
        s.add(Follower(openid="o-consumer", subscribed=True, last_message_at=last_message_at, tags=[], topics=[]))
        lead_id = s.execute(select(LeadEvent.lead_id)).scalars().first()
        outbox.enqueue(
            s, "consumer_message", {"openid": "o-consumer", "text": text, "lead_id": lead_id}, lead_id=lead_id
        )
    return lead_id


def test_a_reply_inside_48_hours_is_a_customer_service_message(db_url, standin, tmp_path):
    app = _app(db_url, standin, tmp_path, notify={"wechat_openids": []})
    standin.user("o-consumer")
    _lead_and_reply(app, "您好，您的投诉已受理，商家联系电话 13912345678。", utcnow() - timedelta(hours=2))
    _drain(app)
    [call] = standin.calls("message/custom/send")
    assert call.body["text"]["content"] == "您好，您的投诉已受理，商家联系电话 139****5678。"
    [event] = _events(app, "reply_delivered")
    assert event.detail["channel"] == "custom" and "139****5678" in event.text
    app.extensions["db"].engine.dispose()


def test_a_reply_after_48_hours_is_a_template_message(db_url, standin, tmp_path):
    app = _app(db_url, standin, tmp_path, notify={"wechat_openids": []})
    standin.user("o-consumer", last_message_at=utcnow() - timedelta(days=3))
    _lead_and_reply(app, "调解已安排在12月3日。", utcnow() - timedelta(days=3))
    _drain(app)
    assert standin.calls("message/custom/send") == []
    [call] = standin.calls("message/template/send")
    assert call.body["template_id"] == "TPL-PROGRESS" and call.body["data"]["keyword1"]["value"].endswith("-0001")
    assert call.body["data"]["remark"]["value"] == "调解已安排在12月3日。"
    assert call.body["data"]["keyword2"]["value"] == "已收到"  # the consumer's word for the status, not 新线索
    [event] = _events(app, "reply_delivered")
    assert event.detail["channel"] == "template" and event.detail["msgid"]
    app.extensions["db"].engine.dispose()


def test_a_refused_customer_service_message_falls_back_to_a_template(db_url, standin, tmp_path):
    app = _app(db_url, standin, tmp_path, notify={"wechat_openids": []})
    standin.user("o-consumer", last_message_at=utcnow() - timedelta(days=3))  # the platform knows better
    _lead_and_reply(app, "已受理。", utcnow() - timedelta(hours=1))
    _drain(app)
    assert [c.answer["errcode"] for c in standin.calls("message/custom/send")] == [45015]
    assert len(standin.calls("message/template/send")) == 1
    assert _events(app, "reply_delivered")[0].detail["channel"] == "template"
    app.extensions["db"].engine.dispose()


def test_a_reply_to_someone_who_left_is_recorded_as_failed(db_url, standin, tmp_path):
    app = _app(db_url, standin, tmp_path, notify={"wechat_openids": []})
    standin.user("o-consumer", subscribed=False)
    _lead_and_reply(app, "已受理。", utcnow() - timedelta(days=5))
    _drain(app)
    [item] = _items(app, "consumer_message")
    assert item.state == "failed" and item.attempts == 1
    [event] = _events(app, "reply_failed")
    assert "unsubscribed" in event.detail["error"]
    app.extensions["db"].engine.dispose()


def test_a_busy_platform_is_retried_until_the_reply_is_delivered(db_url, standin, tmp_path):
    app = _app(db_url, standin, tmp_path, notify={"wechat_openids": []})
    standin.user("o-consumer")
    standin.fail("message/custom/send", errcode=-1, times=2)
    _lead_and_reply(app, "已受理。", utcnow())
    _drain(app)
    [item] = _items(app, "consumer_message")
    assert (item.state, item.attempts) == ("done", 3)
    assert [c.fault for c in standin.calls("message/custom/send")] == ["fail", "fail", None]
    assert len(_events(app, "reply_delivered")) == 1 and _events(app, "reply_failed") == []
    app.extensions["db"].engine.dispose()


def test_evidence_photos_are_downloaded_and_stored(db_url, standin, tmp_path):
    app = _app(db_url, standin, tmp_path, notify={"wechat_openids": []})
    photo = b"\xff\xd8\xff\xe0" + b"JPEG" * 100
    media_id = standin.media(photo, "image/jpeg", "o-consumer-0001")
    chat = Chat(app)
    for answer, step in OFFLINE_COMPLAINT:
        chat.send(answer)
        if step == "facts":
            chat.photo(media_id)
            chat.photo("no-such-media")
    chat.send("确认")
    standin.drop(times=1, path="media/get")  # the first download loses its connection
    _drain(app)
    with get_db(app).scope() as s:
        good, bad = s.execute(select(Evidence).order_by(Evidence.id)).scalars().all()
    assert good.state == "stored" and Path(good.path).read_bytes() == photo and good.content_type == "image/jpeg"
    assert Path(good.path).is_relative_to(tmp_path / "evidence") and good.lead_id is not None
    assert bad.state == "failed" and bad.path is None
    items = _items(app, "fetch_evidence")
    assert [i.state for i in items] == ["done", "failed"] and "40007" in items[1].last_error
    app.extensions["db"].engine.dispose()


def test_a_photo_older_than_its_media_lifetime_is_not_fetched(db_url, standin, tmp_path):
    app = _app(db_url, standin, tmp_path, notify={"wechat_openids": []})
    chat = Chat(app, now=utcnow() - timedelta(days=4))
    for answer, step in OFFLINE_COMPLAINT:
        chat.send(answer)
        if step == "facts":
            chat.photo("OLD-MEDIA")
    chat.send("确认")
    _drain(app)
    [item] = _items(app, "fetch_evidence")
    assert item.state == "failed" and "expired" in item.last_error
    assert standin.calls("media/get") == []
    app.extensions["db"].engine.dispose()
