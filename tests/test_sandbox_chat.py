"""The sandbox's chat page: each action arrives at /wechat as WeChat's signed XML (plain and safe mode), the replies
and the API-side messages come back as bubbles, the outbox page filters, and the sandbox stays out of production."""

from __future__ import annotations

import io
import re
import urllib.parse

import pytest
from sqlalchemy import select

from bot import create_app
from bot.config import ConfigError
from bot.db import get_db
from bot.models import Follower, InboundMessage, SandboxMedia, SandboxMessage, SandboxUser, StaffUser
from bot.sandbox.samples import sample_png
from bot.wechat.router import NOT_MINE, get_router
from tests.conftest import make_config
from tests.wechat_user import AES_KEY

API = "/sandbox/api/cgi-bin/"
CREDENTIALS = {"grant_type": "client_credential", "appid": "wxtestappid0000001", "secret": "test-app-secret"}


_apps: list = []


@pytest.fixture(autouse=True)
def _dispose_engines():
    """Every app a test built gives its database connections back (PostgreSQL warns of open ones)."""
    yield
    while _apps:
        _apps.pop().extensions["db"].engine.dispose()


def build(settings):
    app = create_app(settings)
    _apps.append(app)
    return app


def sandbox_app(db_url, mode="plain", **sections):
    """An app with the sandbox on, that keeps what reached /wechat: the raw request and the parsed message."""
    wechat = {"sandbox": True, "encoding_aes_key": AES_KEY if mode == "safe" else "", **sections.pop("wechat", {})}
    app = build(make_config(db_url, wechat=wechat, **sections))
    app.seen_requests, app.seen_messages = [], []

    inner = app.wsgi_app

    def keep_request(environ, start_response):  # a WSGI middleware: the webhook still reads the body itself
        if environ["PATH_INFO"] == "/wechat":
            body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
            environ["wsgi.input"] = io.BytesIO(body)
            args = dict(urllib.parse.parse_qsl(environ["QUERY_STRING"]))
            app.seen_requests.append((args, body.decode(), environ.get("CONTENT_TYPE")))
        return inner(environ, start_response)

    app.wsgi_app = keep_request

    @get_router(app).interceptor
    def _keep_message(ctx):
        app.seen_messages.append(ctx.msg)
        return NOT_MINE

    return app


def new_user(client, nickname="小测") -> str:
    response = client.post("/sandbox/users", data={"nickname": nickname})
    assert response.status_code == 303
    return re.search(r"u=([\w-]+)", response.headers["Location"])[1]


def act(client, openid, **payload) -> dict:
    response = client.post(f"/sandbox/users/{openid}/actions", json=payload)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def rows(app, model, *where):
    with get_db(app).scope() as s:
        return s.execute(select(model).where(*where).order_by(*model.__table__.primary_key)).scalars().all()


@pytest.fixture(params=["plain", "safe"])
def mode(request):
    return request.param


def test_follow_text_and_menu_reach_the_webhook_signed(db_url, mode):
    app = sandbox_app(db_url, mode)
    client = app.test_client()
    openid = new_user(client)

    followed = act(client, openid, type="subscribe")
    assert followed["subscribed"] is True
    [note, welcome] = followed["bubbles"]
    assert note["text"] == "你关注了公众号" and welcome["side"] == "bot" and "感谢关注" in welcome["html"]
    assert rows(app, Follower, Follower.openid == openid)[0].subscribed is True

    news = act(client, openid, type="text", content="双11")["bubbles"]
    assert news[0] == {**news[0], "side": "user", "kind": "text", "html": "双11"}
    assert news[1]["kind"] == "news" and "双11" in news[1]["title"]
    assert news[1]["url"] == "http://localhost/notices/2022-double11-tips"

    menu = act(client, openid, type="click", key="GUIDES")["bubbles"]
    assert menu[0]["text"] == "点击了菜单「维权指南」"
    assert '<a href="http://localhost/notices/' in menu[1]["html"]  # WeChat's links stay links

    kinds = [(m.type, m.event, m.key, m.content) for m in app.seen_messages]
    assert kinds == [("event", "subscribe", "", ""), ("text", "", "", "双11"), ("event", "click", "GUIDES", "")]
    assert [r.msg_type for r in rows(app, InboundMessage, InboundMessage.openid == openid)] == [
        "event:subscribe",
        "text",
        "event:click",
    ]
    assert len(app.seen_requests) == 3
    for args, body, content_type in app.seen_requests:
        assert args["openid"] == openid and {"signature", "timestamp", "nonce"} <= set(args)
        assert content_type == "text/xml"
        if mode == "safe":
            assert args["encrypt_type"] == "aes" and args["msg_signature"]
            assert "<Encrypt>" in body and openid not in body and "双11" not in body
        else:
            assert "encrypt_type" not in args and f"<FromUserName><![CDATA[{openid}]]>" in body


def test_photo_and_location_arrive_as_wechat_sends_them(db_url, mode):
    app = sandbox_app(db_url, mode)
    client = app.test_client()
    openid = new_user(client)
    act(client, openid, type="subscribe")

    photo = act(client, openid, type="photo", sample="receipt")["bubbles"][0]
    [media] = rows(app, SandboxMedia, SandboxMedia.openid == openid)
    assert photo["kind"] == "image" and photo["src"] == f"/sandbox/media/{media.media_id}"
    image = app.seen_messages[-1]
    assert (image.type, image.media_id) == ("image", media.media_id)
    assert image.pic_url == f"http://localhost/sandbox/media/{media.media_id}"
    assert client.get(photo["src"]).data == sample_png("receipt")
    # The app fetches the photo the way it would from WeChat: media/get with an access token.
    token = client.post(API + "stable_token", json=CREDENTIALS).get_json()["access_token"]
    fetched = client.get(API + "media/get", query_string={"access_token": token, "media_id": media.media_id})
    assert fetched.content_type == "image/png" and fetched.data == sample_png("receipt")

    place = act(client, openid, type="location", place="小榄镇")["bubbles"][0]
    assert place["kind"] == "location" and place["label"] == "广东省中山市小榄镇"
    location = app.seen_messages[-1]
    assert (location.type, location.latitude, location.longitude) == ("location", 22.6672, 113.2449)
    assert location.label == "广东省中山市小榄镇"
    assert [r.msg_type for r in rows(app, InboundMessage, InboundMessage.openid == openid)][-2:] == [
        "image",
        "location",
    ]


def test_uploaded_photo_is_checked_and_sent(db_url):
    app = sandbox_app(db_url)
    client = app.test_client()
    openid = new_user(client)
    act(client, openid, type="subscribe")
    url = f"/sandbox/users/{openid}/photo"
    png = sample_png("shop")

    def upload(data, headers={"X-Sandbox": "1"}):  # noqa: B006
        return client.post(url, data={"photo": (io.BytesIO(data), "x.png")}, headers=headers)

    assert upload(png, headers={}).status_code == 400  # a cross-site form cannot send the header
    refused = upload(b"MZ not a picture")
    assert refused.status_code == 400 and refused.get_json()["error"] == "只能发送 JPEG、PNG 或 GIF 图片。"
    assert rows(app, SandboxMedia) == []
    sent = upload(png).get_json()["bubbles"]
    assert sent[0]["kind"] == "image" and app.seen_messages[-1].type == "image"
    assert client.get(sent[0]["src"]).data == png


def test_unfollow_and_bad_actions(db_url):
    app = sandbox_app(db_url)
    client = app.test_client()
    openid = new_user(client)
    act(client, openid, type="subscribe")
    gone = act(client, openid, type="unsubscribe")
    assert gone["subscribed"] is False and gone["bubbles"][0]["text"] == "你取消关注了公众号"
    assert rows(app, Follower, Follower.openid == openid)[0].subscribed is False

    def refused(payload):
        response = client.post(f"/sandbox/users/{openid}/actions", json=payload)
        assert response.status_code == 400
        return response.get_json()["error"]

    assert refused({"type": "click", "key": "NOT_IN_MENU"}) == "菜单里没有这个按钮。"
    assert refused({"type": "view", "url": "https://evil.example/"}) == "菜单里没有这个链接。"
    assert refused({"type": "text", "content": "  "}) == "消息不能为空。"
    assert refused({"type": "location", "place": "北京"}) == "请从列表中选择一个位置。"
    assert refused({"type": "launch"}).startswith("不认识的操作")
    assert client.post(f"/sandbox/users/{openid}/actions", data="type=text").status_code == 400
    assert client.post("/sandbox/users/oNobody/actions", json={"type": "subscribe"}).status_code == 404
    assert len(app.seen_messages) == 2  # none of the refused actions reached the webhook


def test_a_refused_message_shows_as_an_error_bubble(db_url):
    app = sandbox_app(db_url)
    client = app.test_client()
    openid = new_user(client)
    app.extensions["sandbox_wire"].token = "not-the-account-token"  # WeChat and the app disagree on the Token
    bubbles = act(client, openid, type="subscribe")["bubbles"]
    assert bubbles[1]["kind"] == "error" and "HTTP 403" in bubbles[1]["text"]
    assert rows(app, Follower) == [] and app.seen_messages == []


def test_text_replies_are_escaped_except_wechat_links(db_url):
    app = sandbox_app(db_url)
    client = app.test_client()
    openid = new_user(client)
    act(client, openid, type="subscribe")
    bubbles = act(client, openid, type="text", content='<img src=x onerror=alert(1)> <a href="javascript:x">y</a>')
    mine = bubbles["bubbles"][0]["html"]
    assert mine == "&lt;img src=x onerror=alert(1)&gt; &lt;a href=&#34;javascript:x&#34;&gt;y&lt;/a&gt;"


def api_send(client, path, body):
    token = client.post(API + "stable_token", json=CREDENTIALS).get_json()["access_token"]
    return client.post(f"{API}{path}?access_token={token}", json=body).get_json()


def test_poll_returns_what_the_app_sent_through_the_api(db_url):
    app = sandbox_app(db_url)
    client = app.test_client()
    me, other = new_user(client, "甲"), new_user(client, "乙")
    act(client, me, type="subscribe")
    act(client, other, type="subscribe")
    start = client.get(f"/sandbox/users/{me}/messages").get_json()
    assert [b["kind"] for b in start["bubbles"]] == ["note", "text"] and start["subscribed"] is True

    assert (
        api_send(client, "message/custom/send", {"touser": me, "msgtype": "text", "text": {"content": "您好，已受理"}})[
            "errcode"
        ]
        == 0
    )
    api_send(client, "message/custom/send", {"touser": other, "msgtype": "text", "text": {"content": "给乙的"}})
    template = {"touser": me, "template_id": "TPL1", "url": "http://localhost/x", "data": {"first": {"value": "进展"}}}
    assert api_send(client, "message/template/send", template)["errcode"] == 0
    assert api_send(client, "message/mass/sendall", {"filter": {"is_to_all": True}, "msgtype": "text", "text": {
        "content": "群发提醒"}})["errcode"] == 0  # fmt: skip

    polled = client.get(f"/sandbox/users/{me}/messages?after={start['last']}").get_json()
    got = [(b["via"], b["kind"], b.get("html") or b.get("title")) for b in polled["bubbles"]]
    assert got == [
        ("custom", "text", "您好，已受理"),
        ("template", "template", "模板消息 TPL1"),
        ("mass", "text", "群发提醒"),
    ]
    assert polled["bubbles"][1]["lines"] == [{"key": "first", "value": "进展"}]
    again = client.get(f"/sandbox/users/{me}/messages?after={polled['last']}").get_json()
    assert again["bubbles"] == [] and again["last"] == polled["last"]
    # A reload shows the whole chat in order: follow, welcome, then the three messages.
    whole = client.get(f"/sandbox/users/{me}/messages").get_json()["bubbles"]
    assert [b["kind"] for b in whole] == ["note", "text", "text", "template", "text"]


def test_refused_api_messages_do_not_reach_the_chat(db_url):
    app = sandbox_app(db_url)
    client = app.test_client()
    openid = new_user(client)
    act(client, openid, type="subscribe")
    act(client, openid, type="unsubscribe")
    start = client.get(f"/sandbox/users/{openid}/messages").get_json()
    answer = api_send(client, "message/template/send", {"touser": openid, "template_id": "T", "data": {}})
    assert answer["errcode"] == 43004
    assert client.get(f"/sandbox/users/{openid}/messages?after={start['last']}").get_json()["bubbles"] == []


def test_outbox_lists_calls_newest_first_and_filters(db_url):
    app = sandbox_app(db_url)
    client = app.test_client()
    me, other = new_user(client, "甲"), new_user(client, "乙")
    for openid in (me, other):
        act(client, openid, type="subscribe")
    api_send(client, "message/custom/send", {"touser": me, "msgtype": "text", "text": {"content": "第一条给甲"}})
    api_send(client, "message/custom/send", {"touser": other, "msgtype": "text", "text": {"content": "给乙"}})
    api_send(client, "message/template/send", {"touser": me, "template_id": "T9", "data": {"k": {"value": "模板给甲"}}})

    page = client.get("/sandbox/outbox").get_data(as_text=True)
    assert page.index("模板给甲") < page.index("给乙") < page.index("第一条给甲")  # newest first
    assert "stable_token" in page and "&#34;errcode&#34;: 0" in page

    mine = client.get(f"/sandbox/outbox?user={me}").get_data(as_text=True)
    assert "第一条给甲" in mine and "模板给甲" in mine and "给乙" not in mine
    templates = client.get("/sandbox/outbox?channel=template").get_data(as_text=True)
    assert "模板给甲" in templates and "第一条给甲" not in templates and "stable_token" not in templates
    assert "没有符合条件的记录" in client.get("/sandbox/outbox?channel=mass").get_data(as_text=True)


def test_chat_page_shows_users_menu_and_pickers(db_url):
    app = sandbox_app(db_url)
    client = app.test_client()
    empty = client.get("/sandbox/").get_data(as_text=True)
    assert "还没有测试用户" in empty and 'id="phone"' not in empty
    openid = new_user(client, "王小明")
    page = client.get(f"/sandbox/?u={openid}").get_data(as_text=True)
    assert "王小明" in page and openid in page
    for label in ("最新消费提示", "我要投诉", "订阅提醒", "石岐街道", "小榄镇", "购物小票"):
        assert label in page
    assert 'data-url="http://localhost/notices/"' in page
    assert client.get("/sandbox/samples/receipt.png").data[:8] == b"\x89PNG\r\n\x1a\n"
    assert client.get("/sandbox/samples/nothing.png").status_code == 404


def test_reset_clears_the_chat(db_url):
    app = sandbox_app(db_url)
    client = app.test_client()
    openid = new_user(client)
    act(client, openid, type="subscribe")
    result = app.test_cli_runner().invoke(args=["sandbox", "reset"])
    assert result.exit_code == 0 and "1 sandbox_user" in result.output and "2 sandbox_message" in result.output
    assert rows(app, SandboxUser) == [] and rows(app, SandboxMessage) == []


def test_sandbox_off_serves_nothing(db_url):
    app = build(make_config(db_url))
    client = app.test_client()
    assert client.get("/sandbox/").status_code == 404
    assert client.get("/sandbox/outbox").status_code == 404
    assert client.post("/sandbox/users", data={"nickname": "x"}).status_code == 404


def test_sandbox_is_refused_in_production(db_url):
    settings = make_config(db_url, app={"production": True}, wechat={"sandbox": True})
    with pytest.raises(ConfigError, match=r"\[wechat\] sandbox.*production"):
        create_app(settings)


def _login(client, username, password):
    from tests.console_support import csrf_from

    token = csrf_from(client.get("/console/login").get_data(as_text=True))
    return client.post("/console/login", data={"username": username, "password": password, "csrf_token": token})


def test_make_run_gives_a_console_account(db_url, caplog):
    app = sandbox_app(db_url)
    runner = app.test_cli_runner()
    assert runner.invoke(args=["sandbox", "accounts"]).exit_code == 0
    [line] = [r.getMessage() for r in caplog.records if "sandbox console account" in r.getMessage()]
    password = re.search(r"password: (\w+)", line)[1]
    assert "sandbox-admin" in line and "http://localhost/console/" in line
    assert _login(app.test_client(), "sandbox-admin", password).status_code == 302

    caplog.clear()
    runner.invoke(args=["sandbox", "accounts"])  # the next start: a new password, printed again
    newer = re.search(r"password: (\w+)", caplog.records[-1].getMessage())[1]
    assert newer != password and _login(app.test_client(), "sandbox-admin", password).status_code == 401
    assert [u.username for u in rows(app, StaffUser)] == ["sandbox-admin"]


def test_real_accounts_are_left_alone(db_url):
    from tests.console_support import add_staff

    app = sandbox_app(db_url)
    add_staff(app, "chief", "admin")
    result = app.test_cli_runner().invoke(args=["sandbox", "accounts"])
    assert "console accounts exist already" in result.output
    assert [u.username for u in rows(app, StaffUser)] == ["chief"]
    off = build(make_config(db_url)).test_cli_runner().invoke(args=["sandbox", "accounts"])
    assert "sandbox is off" in off.output
