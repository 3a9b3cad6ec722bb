"""The sandbox's chat page at the webhook: each action arrives at /wechat as WeChat's signed XML (plain and safe
mode), as the rows and the parsed message show, and its reply comes back as bubbles."""

from __future__ import annotations

import io

import pytest

from bot.models import Follower, InboundMessage, SandboxMedia
from bot.sandbox.samples import sample_png
from tests.sandbox_chat_support import API, CREDENTIALS, act, dispose_all, new_user, rows, sandbox_app


@pytest.fixture(autouse=True)
def _dispose_engines():
    yield
    dispose_all()


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


def test_the_last_message_can_be_set_back_past_the_service_window(db_url):
    from datetime import timedelta

    from bot.db import get_db, utcnow
    from bot.leads.delivery import last_contact

    app = sandbox_app(db_url)
    client = app.test_client()
    openid = new_user(client)
    act(client, openid, type="subscribe")
    act(client, openid, type="text", content="你好")
    assert client.post(f"/sandbox/users/{openid}/age").status_code == 400  # only the page's own script
    assert client.post("/sandbox/users/oNoSuchUser/age", headers={"X-Sandbox": "1"}).status_code == 404
    answer = client.post(f"/sandbox/users/{openid}/age", headers={"X-Sandbox": "1"}).get_json()
    assert "49 小时前" in answer["bubbles"][0]["text"]
    with get_db(app).scope() as s:
        quiet = utcnow() - last_contact(s, openid)
    assert timedelta(hours=49) <= quiet < timedelta(hours=49, minutes=1)
