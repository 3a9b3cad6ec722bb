"""The sandbox platform's API side: the real platform's JSON shapes and error codes, and its record of calls."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from bot import create_app
from bot.db import get_db, utcnow
from bot.models import Follower, SandboxCall, SandboxMedia, SandboxToken
from bot.sandbox import add_tag, store_media
from tests.conftest import make_config

API = "/sandbox/api/cgi-bin/"
CREDENTIALS = {"grant_type": "client_credential", "appid": "wxtestappid0000001", "secret": "test-app-secret"}
TEXT = {"msgtype": "text", "text": {"content": "双11消费提示：理性消费"}}


@pytest.fixture
def sandbox(db_url):
    application = create_app(make_config(db_url, wechat={"sandbox": True}))
    yield application
    get_db(application).engine.dispose()


@pytest.fixture
def call(sandbox):
    """call(path, json=None, **query) -> the JSON answer, with a valid access token unless given."""
    client = sandbox.test_client()
    token = client.post(API + "stable_token", json=CREDENTIALS).get_json()["access_token"]

    def do(path, json=None, **query):
        query.setdefault("access_token", token)
        if json is None:
            return client.get(API + path, query_string=query).get_json()
        return client.post(API + path, json=json, query_string=query).get_json()

    do.client, do.token = client, token
    return do


def add_user(app, openid, *, subscribed=True, wrote_hours_ago=0.0, scene=None):
    with get_db(app).scope() as s:
        last = None if wrote_hours_ago is None else utcnow() - timedelta(hours=wrote_hours_ago)
        s.add(Follower(openid=openid, subscribed=subscribed, subscribed_at=utcnow(), last_message_at=last, scene=scene))


def test_the_sandbox_is_off_unless_configured(app):
    assert app.test_client().post(API + "stable_token", json=CREDENTIALS).status_code == 404


def test_token_and_its_errors(sandbox):
    client = sandbox.test_client()
    first = client.get(API + "token", query_string=CREDENTIALS).get_json()
    assert set(first) == {"access_token", "expires_in"} and first["expires_in"] == 7200
    assert len(first["access_token"]) >= 100
    second = client.get(API + "token", query_string=CREDENTIALS).get_json()
    assert second["access_token"] != first["access_token"]
    wrong = [
        ({"grant_type": "password"}, 40002),
        ({"appid": "wxother"}, 40013),
        ({"secret": "guess"}, 40125),
        ({"appid": ""}, 41002),
    ]
    for change, errcode in wrong:
        answer = client.get(API + "token", query_string={**CREDENTIALS, **change}).get_json()
        assert answer["errcode"] == errcode and answer["errmsg"]
    # the first token still works for five minutes after the second was issued
    assert client.get(API + "tags/get", query_string={"access_token": first["access_token"]}).get_json() == {"tags": []}


def test_stable_token_is_stable_until_forced(sandbox):
    client = sandbox.test_client()
    one = client.post(API + "stable_token", json=CREDENTIALS).get_json()
    again = client.post(API + "stable_token", json={**CREDENTIALS, "force_refresh": False}).get_json()
    assert again["access_token"] == one["access_token"] and 7000 < again["expires_in"] <= 7200
    forced = client.post(API + "stable_token", json={**CREDENTIALS, "force_refresh": True}).get_json()
    assert forced["access_token"] != one["access_token"]
    old = client.get(API + "tags/get", query_string={"access_token": one["access_token"]}).get_json()
    assert old["errcode"] == 40001
    assert client.get(API + "stable_token", query_string=CREDENTIALS).get_json()["errcode"] == 43002


def test_access_token_checks(sandbox, call):
    assert call("tags/get", access_token="")["errcode"] == 41001
    assert call("tags/get", access_token="made-up")["errcode"] == 40001
    with get_db(sandbox).scope() as s:
        s.execute(update(SandboxToken).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert call("tags/get") == {"errcode": 42001, "errmsg": "access_token expired"}


def test_customer_service_message_and_the_48_hour_window(sandbox, call):
    add_user(sandbox, "o-recent", wrote_hours_ago=47.5)
    add_user(sandbox, "o-old", wrote_hours_ago=48.5)
    add_user(sandbox, "o-never", wrote_hours_ago=None)
    add_user(sandbox, "o-left", subscribed=False, wrote_hours_ago=1)
    send = "message/custom/send"
    assert call(send, {"touser": "o-recent", **TEXT}) == {"errcode": 0, "errmsg": "ok"}
    for openid in ("o-old", "o-never", "o-left"):
        answer = call(send, {"touser": openid, **TEXT})
        assert answer == {"errcode": 45015, "errmsg": "response out of time limit or subscription is canceled"}
    assert call(send, {"touser": "o-stranger", **TEXT})["errcode"] == 40003
    assert call(send, {"touser": "o-recent", "msgtype": "telegram"})["errcode"] == 40008
    assert call(send, {"touser": "o-recent", "msgtype": "text", "text": {"content": " "}})["errcode"] == 44004
    article = {"title": "提示", "description": "", "url": "http://localhost/notices/a", "picurl": ""}
    two = {"touser": "o-recent", "msgtype": "news", "news": {"articles": [article, article]}}
    assert call(send, two)["errcode"] == 45008
    assert call(send, {**two, "news": {"articles": [article]}})["errcode"] == 0
    bad = call.client.post(API + send, data=b"{not json", query_string={"access_token": call.token})
    assert bad.status_code == 200 and bad.get_json()["errcode"] == 47001


def test_template_message(sandbox, call):
    add_user(sandbox, "o-follower", wrote_hours_ago=None)
    add_user(sandbox, "o-left", subscribed=False)
    body = {"template_id": "TPL-1", "url": "http://localhost/", "data": {"first": {"value": "您的投诉已受理"}}}
    answer = call("message/template/send", {"touser": "o-follower", **body})
    assert answer["errcode"] == 0 and answer["errmsg"] == "ok" and isinstance(answer["msgid"], int)
    refused = call("message/template/send", {"touser": "o-left", **body})
    assert refused == {"errcode": 43004, "errmsg": "require subscribe"}
    assert call("message/template/send", {"touser": "o-follower", **body, "template_id": ""})["errcode"] == 40037


def test_mass_send_service_account_budget(sandbox, call):
    for name in ("o-a", "o-b", "o-c"):
        add_user(sandbox, name, wrote_hours_ago=None)
    add_user(sandbox, "o-left", subscribed=False)
    with get_db(sandbox).scope() as s:
        tag = add_tag(s, "食品安全", ["o-a", "o-b", "o-left"])
    everyone = call("message/mass/sendall", {"filter": {"is_to_all": True}, **TEXT, "clientmsgid": "m1"})
    assert everyone["errcode"] == 0 and everyone["errmsg"] == "send job submission success"
    assert isinstance(everyone["msg_id"], int)
    again = call("message/mass/sendall", {"filter": {"is_to_all": True}, **TEXT, "clientmsgid": "m1"})
    assert again == {"errcode": 45065, "errmsg": "clientmsgid exist", "msg_id": everyone["msg_id"]}
    second_to_all = call("message/mass/sendall", {"filter": {"is_to_all": True}, **TEXT, "clientmsgid": "m2"})
    assert second_to_all == {"errcode": 45028, "errmsg": "has no masssend quota"}
    # o-a and o-b have had 1; three more to the tag bring them to 4 a month, the fifth finds nobody left
    for _ in range(3):
        assert call("message/mass/sendall", {"filter": {"is_to_all": False, "tag_id": tag}, **TEXT})["errcode"] == 0
    assert call("message/mass/sendall", {"filter": {"is_to_all": False, "tag_id": tag}, **TEXT})["errcode"] == 45028
    # o-c has had only one: a send to o-a and o-c reaches o-c and skips o-a
    answer = call("message/mass/send", {"touser": ["o-a", "o-c"], **TEXT})
    assert answer["errcode"] == 0
    with get_db(sandbox).scope() as s:
        note = s.execute(select(SandboxCall.note).order_by(SandboxCall.id.desc()).limit(1)).scalar_one()
    assert note == "delivered to 1 follower(s); skipped (4 mass sends this month already): o-a"
    assert call("message/mass/send", {"touser": ["o-a"], **TEXT})["errcode"] == 40130
    unknown_tag = call("message/mass/sendall", {"filter": {"is_to_all": False, "tag_id": 999}, **TEXT})
    assert unknown_tag["errcode"] == -1
    mpnews = call("message/mass/send", {"touser": ["o-c", "o-b"], "msgtype": "mpnews", "mpnews": {"media_id": "M"}})
    assert mpnews["errcode"] == 0 and "msg_data_id" in mpnews


def test_mass_send_subscription_account_once_a_day(db_url):
    application = create_app(make_config(db_url, wechat={"sandbox": True, "account_type": "subscription"}))
    client = application.test_client()
    token = client.post(API + "stable_token", json=CREDENTIALS).get_json()["access_token"]
    add_user(application, "o-a")
    add_user(application, "o-b")

    def post(path, body):
        return client.post(API + path, json=body, query_string={"access_token": token}).get_json()

    assert post("message/mass/sendall", {"filter": {"is_to_all": True}, **TEXT})["errcode"] == 0
    assert post("message/mass/sendall", {"filter": {"is_to_all": True}, **TEXT})["errcode"] == 45028
    by_list = post("message/mass/send", {"touser": ["o-a", "o-b"], **TEXT})
    assert by_list == {"errcode": 48001, "errmsg": "api unauthorized"}
    get_db(application).engine.dispose()


def test_mass_preview(sandbox, call):
    add_user(sandbox, "o-editor", wrote_hours_ago=None)
    add_user(sandbox, "o-left", subscribed=False)
    answer = call("message/mass/preview", {"touser": "o-editor", **TEXT})
    assert answer["errcode"] == 0 and answer["errmsg"] == "preview success" and isinstance(answer["msg_id"], int)
    assert call("message/mass/preview", {"touser": "o-left", **TEXT})["errcode"] == 43004
    assert call("message/mass/preview", {"touser": "o-editor", "msgtype": "news"})["errcode"] == 40008


def test_media_get_serves_what_the_user_sent(sandbox, call):
    photo = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4
    with get_db(sandbox).scope() as s:
        media_id = store_media(s, photo, "image/jpeg", "o-alice")
    answer = call.client.get(API + "media/get", query_string={"access_token": call.token, "media_id": media_id})
    assert answer.status_code == 200 and answer.data == photo
    assert answer.headers["Content-Type"] == "image/jpeg"
    assert answer.headers["Content-disposition"] == f'attachment; filename="{media_id}.jpg"'
    assert call("media/get", media_id="nope") == {"errcode": 40007, "errmsg": "invalid media_id"}
    with get_db(sandbox).scope() as s:
        s.execute(update(SandboxMedia).values(created_at=utcnow() - timedelta(days=3, minutes=1)))
    assert call("media/get", media_id=media_id)["errcode"] == 40007


def test_menu_create_get_and_the_limits(call):
    assert call("menu/get") == {"errcode": 46003, "errmsg": "menu no exist"}
    menu = {
        "button": [
            {"type": "click", "name": "消费提示", "key": "ALERTS"},
            {"name": "投诉举报", "sub_button": [{"type": "view", "name": "公告", "url": "http://localhost/notices/"}]},
        ]
    }
    assert call("menu/create", menu) == {"errcode": 0, "errmsg": "ok"}
    got = call("menu/get")["menu"]["button"]
    assert got[0] == {"type": "click", "name": "消费提示", "key": "ALERTS", "sub_button": []}
    assert got[1]["sub_button"][0]["url"] == "http://localhost/notices/"
    four = {"button": [{"type": "click", "name": "甲", "key": f"K{n}"} for n in range(4)]}
    assert call("menu/create", four) == {"errcode": 40016, "errmsg": "invalid button size"}
    long_name = {"button": [{"type": "click", "name": "消费维权指南", "key": "K"}]}
    assert call("menu/create", long_name)["errcode"] == 40018
    six_subs = {"button": [{"name": "更多", "sub_button": [{"type": "click", "name": "子", "key": "K"}] * 6}]}
    assert call("menu/create", six_subs)["errcode"] == 40023
    no_key = {"button": [{"name": "更多", "sub_button": [{"type": "click", "name": "子"}]}]}
    assert call("menu/create", no_key)["errcode"] == 40026
    assert call("menu/get")["menu"]["button"][0]["key"] == "ALERTS"  # a refused menu changes nothing


def test_user_info_and_tags(sandbox, call):
    add_user(sandbox, "o-alice", scene="qrscene_branch-3")
    add_user(sandbox, "o-bob")
    add_user(sandbox, "o-left", subscribed=False)
    with get_db(sandbox).scope() as s:
        food = add_tag(s, "食品安全", ["o-alice", "o-bob"])
        price = add_tag(s, "价格监督", ["o-bob"])
    assert food == 100 and price == 101
    alice = call("user/info", openid="o-alice", lang="zh_CN")
    assert alice["subscribe"] == 1 and alice["openid"] == "o-alice" and alice["tagid_list"] == [100]
    assert alice["subscribe_scene"] == "ADD_SCENE_QR_CODE" and alice["qr_scene_str"] == "qrscene_branch-3"
    assert isinstance(alice["subscribe_time"], int) and "nickname" not in alice
    assert call("user/info", openid="o-left") == {"subscribe": 0, "openid": "o-left"}
    assert call("user/info", openid="o-nobody") == {"errcode": 40003, "errmsg": "invalid openid"}
    assert call("tags/get") == {
        "tags": [{"id": 100, "name": "食品安全", "count": 2}, {"id": 101, "name": "价格监督", "count": 1}]
    }
    page = call("user/tag/get", {"tagid": 100, "next_openid": ""})
    assert page == {"count": 2, "data": {"openid": ["o-alice", "o-bob"]}, "next_openid": "o-bob"}
    assert call("user/tag/get", {"tagid": 100, "next_openid": "o-bob"}) == {"count": 0, "next_openid": ""}
    assert call("user/tag/get", {"tagid": 7})["errcode"] == 45159


def test_every_call_is_recorded_and_reset_clears_it(sandbox, call):
    add_user(sandbox, "o-alice")
    call("message/custom/send", {"touser": "o-alice", **TEXT})
    call("message/template/send", {"touser": "o-alice", "template_id": "", "data": {}})
    call("no/such/api")
    with get_db(sandbox).scope() as s:
        rows = s.execute(select(SandboxCall).order_by(SandboxCall.id)).scalars().all()
        seen = [(r.path, r.channel, r.openid, r.errcode) for r in rows]
        token_body, custom = rows[0].body, rows[1]
    assert seen == [
        ("stable_token", "token", None, 0),
        ("message/custom/send", "custom", "o-alice", 0),
        ("message/template/send", "template", "o-alice", 40037),
    ]
    assert token_body["secret"] == "***"  # the AppSecret is never stored
    assert custom.body == {"touser": "o-alice", **TEXT} and custom.response == {"errcode": 0, "errmsg": "ok"}
    result = sandbox.test_cli_runner().invoke(args=["sandbox", "reset"])
    assert result.exit_code == 0 and "3 sandbox_call" in result.output
    with get_db(sandbox).scope() as s:
        assert s.execute(select(SandboxCall)).first() is None
    assert call("tags/get")["errcode"] == 40001  # the tokens went too
