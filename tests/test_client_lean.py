"""Template messages on the lean path (bot.wechat.lean): same request, same errors and token rules as wechatpy's."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bot import create_app
from bot.db import get_db
from bot.wechat.client import get_api
from bot.wechat.errors import ApiConnectionError, ApiTimeout, RetryableApiError, TokenInvalid, WeChatApiError

DATA = {"first": {"value": "双11消费提示"}}


@pytest.fixture
def api_app(db_url, standin):
    application = create_app(standin.config(db_url, wechat={"timeout": 0.5}))
    yield application
    get_db(application).engine.dispose()


def test_the_template_message_is_the_same_request_on_the_lean_path(api_app, standin):
    standin.user("o-amy")
    api = get_api(api_app)
    answer = api.send_template("o-amy", "TPL", DATA, url="http://localhost/notices/x", client_msg_id="push1-d1")
    assert api._client().lean is not None
    assert answer["errcode"] == 0 and answer["msgid"] > 0
    call = standin.calls("message/template/send")[0]
    token = standin.calls("stable_token")[0].answer["access_token"]
    assert call.method == "POST" and call.args["access_token"] == token
    assert call.body == {
        "touser": "o-amy",
        "template_id": "TPL",
        "data": DATA,
        "url": "http://localhost/notices/x",
        "client_msg_id": "push1-d1",
    }


def test_40001_on_a_template_message_refreshes_once_and_retries(api_app, standin):
    standin.user("o-bea")
    standin.fail("message/template/send", errcode=40001, times=1)
    assert get_api(api_app).send_template("o-bea", "TPL", DATA)["errcode"] == 0
    sends = standin.calls("message/template/send")
    assert [s.answer["errcode"] for s in sends] == [40001, 0]
    assert sends[0].args["access_token"] != sends[1].args["access_token"]
    standin.fail("message/template/send", errcode=42001, times=5)
    with pytest.raises(TokenInvalid):
        get_api(api_app).send_template("o-bea", "TPL", DATA)
    assert len(standin.calls("stable_token")) == 3  # the first fetch and one refresh per rejected call


def test_a_slow_answer_times_out_and_a_dropped_one_is_retryable(api_app, standin):
    standin.user("o-cai")
    api = get_api(api_app)
    api.send_template("o-cai", "TPL", DATA)
    standin.delay(2.0, path="message/template/send", times=1)
    started = time.monotonic()
    with pytest.raises(ApiTimeout):
        api.send_template("o-cai", "TPL", DATA)
    assert time.monotonic() - started < 1.5
    standin.drop(times=1, path="message/template/send")
    with pytest.raises(ApiConnectionError):
        api.send_template("o-cai", "TPL", DATA)
    assert api.send_template("o-cai", "TPL", DATA)["errcode"] == 0
    deadline = time.monotonic() + 5
    while len(standin.calls("message/template/send")) < 4 and time.monotonic() < deadline:
        time.sleep(0.05)  # the stand-in logs the delayed call when it has answered it
    faults = [c.fault for c in standin.calls("message/template/send")]
    assert sorted(faults, key=str) == sorted([None, "delay", "drop", None], key=str)


class _Answer502(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(502)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


def test_http_5xx_is_retryable_and_a_closed_port_a_connection_error(db_url, standin):
    gateway = ThreadingHTTPServer(("127.0.0.1", 0), _Answer502)
    threading.Thread(target=gateway.serve_forever, daemon=True).start()
    app = create_app(standin.config(db_url))
    api = get_api(app)
    api.tags()  # a token from the stand-in; the template call then goes to the failing gateway
    api._client().API_BASE_URL = f"http://127.0.0.1:{gateway.server_port}/cgi-bin/"
    try:
        with pytest.raises(RetryableApiError) as caught:
            api.send_template("o-dee", "TPL", DATA)
        assert "HTTP 502" in caught.value.errmsg
    finally:
        gateway.shutdown()
        gateway.server_close()
    with pytest.raises(ApiConnectionError):
        api.send_template("o-dee", "TPL", DATA)  # nobody listens there any more
    get_db(app).engine.dispose()


def test_with_a_proxy_configured_template_messages_go_through_requests(db_url, standin, monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # a proxy that does not answer
    monkeypatch.setenv("NO_PROXY", "")
    app = create_app(standin.config(db_url))
    api = get_api(app)
    assert api._client().lean is None
    with pytest.raises(WeChatApiError) as caught:  # the call went to the proxy, as requests does
        api.send_template("o-eve", "TPL", DATA)
    assert caught.value.retryable
    assert standin.calls("message/template/send") == []
    get_db(app).engine.dispose()
