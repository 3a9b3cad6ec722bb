"""The WeChat API client against the platform stand-in: the shared token, its refresh rules, errors and timeouts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from sqlalchemy import select

from bot import create_app
from bot.db import get_db
from bot.models import KeyValue
from bot.wechat.client import get_api
from bot.wechat.errors import (
    ApiConnectionError,
    ApiTimeout,
    OutsideServiceWindow,
    QuotaExceeded,
    RetryableApiError,
    TokenInvalid,
    UserUnsubscribed,
    WeChatApiError,
)

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def api_app(db_url, standin):
    application = create_app(standin.config(db_url))
    yield application
    get_db(application).engine.dispose()


def rotate_token(standin) -> str:
    """What another system holding our AppSecret might do: force a new stable token, invalidating ours."""
    body = {"grant_type": "client_credential", "appid": "wxtestappid0000001", "secret": "test-app-secret"}
    answer = requests.post(standin.url + "stable_token", json={**body, "force_refresh": True}, timeout=5).json()
    return answer["access_token"]


def test_the_token_is_fetched_once_stored_in_the_database_and_used(api_app, standin):
    standin.user("o-alice")
    api = get_api(api_app)
    assert api.send_text("o-alice", "您好") == {"errcode": 0, "errmsg": "ok"}
    api.tags()
    fetches = standin.calls("stable_token")
    assert len(fetches) == 1
    assert fetches[0].body == {
        "grant_type": "client_credential",
        "appid": "wxtestappid0000001",
        "secret": "test-app-secret",
        "force_refresh": False,
    }
    token = fetches[0].answer["access_token"]
    assert [c.args["access_token"] for c in standin.calls() if c.path != "stable_token"] == [token, token]
    with get_db(api_app).scope() as s:
        row = s.execute(select(KeyValue).where(KeyValue.key.like("wechat.access_token.%"))).scalar_one()
        assert row.value == token


def test_a_second_process_reuses_the_stored_token_and_a_rotation_is_refreshed_only_once(db_url, standin):
    first = create_app(standin.config(db_url))
    second = create_app(standin.config(db_url))  # another worker: its own memory, the same database
    get_api(first).tags()
    get_api(second).tags()
    assert len(standin.calls("stable_token")) == 1

    rotate_token(standin)  # both workers now hold a token the platform rejects
    get_api(second).tags()  # 40001 -> refreshes (force_refresh) -> retries
    get_api(first).tags()  # 40001 -> finds the new token in the database -> retries without fetching
    fetches = standin.calls("stable_token")
    assert len(fetches) == 3  # ours, the rotation, one refresh
    assert fetches[2].body["force_refresh"] is True
    answers = [c.answer.get("errcode", 0) for c in standin.calls("tags/get")]
    assert answers == [0, 0, 40001, 0, 40001, 0]
    for application in (first, second):
        get_db(application).engine.dispose()


WORKER = r"""
import json, sys, threading
from bot import create_app
from bot.wechat.client import get_api

api = get_api(create_app(json.loads(sys.argv[1])))
threads = int(sys.argv[2])
print("ready", flush=True)
for line in sys.stdin:
    barrier, results = threading.Barrier(threads), []

    def work():
        barrier.wait()
        try:
            api.tags()
            results.append("ok")
        except Exception as exc:
            results.append(repr(exc))

    pool = [threading.Thread(target=work) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    print(json.dumps(results), flush=True)
"""


def test_concurrent_callers_in_two_processes_refresh_the_token_once(db_url, standin, system_clock):
    standin.delay(0.4, path="stable_token")  # a slow token endpoint widens the window for a double refresh
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    config = json.dumps(standin.config(db_url))
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, config, "6"],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        for _ in range(2)
    ]
    try:
        assert [w.stdout.readline().strip() for w in workers] == ["ready", "ready"]

        def round_of_calls() -> list[str]:
            for w in workers:
                w.stdin.write("go\n")
                w.stdin.flush()
            return [r for w in workers for r in json.loads(w.stdout.readline())]

        assert round_of_calls() == ["ok"] * 12  # cold start: 12 callers, 2 processes
        assert len(standin.calls("stable_token")) == 1
        rotate_token(standin)
        assert round_of_calls() == ["ok"] * 12  # every cached token now rejected with 40001
        fetches = standin.calls("stable_token")
        assert len(fetches) == 3, [f.body for f in fetches]  # the first fetch, the rotation, one refresh
        assert sum(c.answer.get("errcode") == 40001 for c in standin.calls("tags/get")) == 12
    finally:
        for w in workers:
            w.stdin.close()
            w.wait(timeout=30)
            w.stdout.close()


def test_40001_once_refreshes_and_retries(api_app, standin):
    standin.user("o-bob")
    api = get_api(api_app)
    standin.fail("message/custom/send", errcode=40001, times=1)
    assert api.send_text("o-bob", "第二次就好") == {"errcode": 0, "errmsg": "ok"}
    sends = standin.calls("message/custom/send")
    assert [s.answer["errcode"] for s in sends] == [40001, 0]
    assert sends[0].args["access_token"] != sends[1].args["access_token"]
    assert [f.body["force_refresh"] for f in standin.calls("stable_token")] == [False, True]


def test_42001_expired_token_is_refreshed_too(api_app, standin):
    standin.fail("tags/get", errcode=42001, times=1)
    assert get_api(api_app).tags() == []
    assert len(standin.calls("stable_token")) == 2


def test_40001_forever_gives_token_invalid_after_exactly_one_refresh(api_app, standin):
    standin.user("o-carol")
    standin.fail("message/custom/send", errcode=40001, times=100)
    with pytest.raises(TokenInvalid) as caught:
        get_api(api_app).send_text("o-carol", "不会送达")
    assert caught.value.errcode == 40001
    assert caught.value.retryable
    assert len(standin.calls("message/custom/send")) == 2
    assert len(standin.calls("stable_token")) == 2


def test_busy_and_quota_are_distinct_errors(api_app, standin):
    standin.user("o-dan")
    api = get_api(api_app)
    standin.fail("message/template/send", errcode=-1)
    with pytest.raises(RetryableApiError) as busy:
        api.send_template("o-dan", "TPL", {"first": {"value": "x"}})
    assert type(busy.value) is RetryableApiError and busy.value.errcode == -1
    standin.fail("message/template/send", errcode=45009, times=2)
    with pytest.raises(QuotaExceeded) as quota:
        api.send_template("o-dan", "TPL", {"first": {"value": "x"}})
    assert quota.value.errcode == 45009 and quota.value.retryable
    assert len(standin.calls("message/template/send")) == 2  # neither error is retried inside the client
    assert len(standin.calls("stable_token")) == 1


def test_platform_refusals_become_their_own_errors(api_app, standin):
    standin.user("o-gone", subscribed=False)
    standin.user("o-quiet", last_message_at=None)
    api = get_api(api_app)
    with pytest.raises(OutsideServiceWindow):
        api.send_text("o-quiet", "超过 48 小时")
    with pytest.raises(UserUnsubscribed):
        api.send_template("o-gone", "TPL", {"first": {"value": "x"}})
    with pytest.raises(WeChatApiError) as unknown:
        api.user_info("o-nobody")
    assert unknown.value.errcode == 40003 and not unknown.value.retryable


def test_a_slow_platform_times_out(db_url, standin):
    application = create_app(standin.config(db_url, wechat={"timeout": 0.5}))
    api = get_api(application)
    api.tags()  # token in hand
    standin.delay(2.0, path="tags/get", times=1)
    started = time.monotonic()
    with pytest.raises(ApiTimeout) as caught:
        api.tags()
    assert time.monotonic() - started < 1.5
    assert isinstance(caught.value, RetryableApiError)
    assert api.tags() == []  # the next call goes through
    get_db(application).engine.dispose()


def test_a_dropped_connection_is_retryable_and_the_next_call_works(api_app, standin):
    api = get_api(api_app)
    api.tags()
    standin.drop(times=1, path="tags/get")
    with pytest.raises(ApiConnectionError):
        api.tags()
    assert api.tags() == []
    assert [c.fault for c in standin.calls("tags/get")] == [None, "drop", None]


def test_a_dropped_token_request_is_retryable(api_app, standin):
    standin.drop(times=1, path="stable_token")
    with pytest.raises(ApiConnectionError):
        get_api(api_app).tags()
    assert get_api(api_app).tags() == []


def test_a_wrong_app_secret_is_reported_as_such(db_url, standin):
    application = create_app(standin.config(db_url, wechat={"app_secret": "not-the-secret"}))
    with pytest.raises(WeChatApiError) as caught:
        get_api(application).tags()
    assert caught.value.errcode == 40125 and not isinstance(caught.value, TokenInvalid)
    assert standin.calls("tags/get") == []
    get_db(application).engine.dispose()


def test_every_method_reaches_its_endpoint(api_app, standin):
    standin.user("o-erin")
    standin.user("o-fay")
    tag = standin.tag("食品安全", ["o-erin", "o-fay"])
    media_id = standin.media(b"\xff\xd8\xff\xe0photo", "image/jpeg", "o-erin")
    api = get_api(api_app)
    news = api.send_news("o-erin", "双11消费提示", "理性消费", "http://localhost/notices/double11", "http://x/c.jpg")
    assert news["errcode"] == 0
    article = standin.calls("message/custom/send")[-1].body["news"]["articles"]
    assert article == [
        {
            "title": "双11消费提示",
            "description": "理性消费",
            "url": "http://localhost/notices/double11",
            "picurl": "http://x/c.jpg",
        }
    ]
    assert api.send_template("o-erin", "TPL", {"first": {"value": "已受理"}}, url="http://localhost/")["msgid"] > 0
    text = {"msgtype": "text", "text": {"content": "提醒"}}
    assert api.mass_send(text, tag_id=tag, clientmsgid="push-1")["msg_id"] > 0
    assert api.mass_send(text, openids=["o-erin", "o-fay"], clientmsgid="push-2")["errmsg"].startswith("send job")
    assert api.mass_preview("o-erin", text)["errmsg"] == "preview success"
    assert api.download_media(media_id) == (b"\xff\xd8\xff\xe0photo", "image/jpeg")
    assert api.menu_get() == {}
    menu = {"button": [{"type": "click", "name": "消费提示", "key": "ALERTS"}]}
    assert api.menu_create(menu)["errcode"] == 0
    assert api.menu_get()["menu"]["button"][0]["key"] == "ALERTS"
    assert api.user_info("o-erin")["tagid_list"] == [tag]
    assert api.tags() == [{"id": tag, "name": "食品安全", "count": 2}]
    assert api.tag_users(tag)["data"]["openid"] == ["o-erin", "o-fay"]
    sendall = standin.calls("message/mass/sendall")[0].body
    assert sendall["filter"] == {"is_to_all": False, "tag_id": tag} and sendall["clientmsgid"] == "push-1"
