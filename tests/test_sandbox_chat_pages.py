"""The sandbox's pages: the poll returns what the app sent through the API side, the outbox lists and filters,
reset, the sandbox off and refused in production, and the console account `make run` prints."""

from __future__ import annotations

import re

import pytest

from bot import create_app
from bot.config import ConfigError
from bot.models import SandboxMessage, SandboxUser, StaffUser
from tests.conftest import make_config
from tests.sandbox_chat_support import act, api_send, build, dispose_all, new_user, rows, sandbox_app


@pytest.fixture(autouse=True)
def _dispose_engines():
    yield
    dispose_all()


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
    settings = make_config(db_url, app={"production": True, "secret_key": "9f" * 32}, wechat={"sandbox": True})
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
