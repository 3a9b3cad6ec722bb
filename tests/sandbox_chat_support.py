"""Helpers for the sandbox chat tests: apps with the sandbox on that keep what reached /wechat, users, actions."""

from __future__ import annotations

import io
import re
import urllib.parse

from sqlalchemy import select

from bot import create_app
from bot.db import get_db
from tests.conftest import make_config
from tests.wechat_user import AES_KEY, recorded

API = "/sandbox/api/cgi-bin/"
CREDENTIALS = {"grant_type": "client_credential", "appid": "wxtestappid0000001", "secret": "test-app-secret"}


_apps: list = []


def dispose_all() -> None:
    """Every app a test built gives its database connections back (PostgreSQL warns of open ones)."""
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

    webhook = app.extensions["webhook"]
    opened = webhook.open

    def keep_message(args, environ):  # every message as the webhook decoded it (interceptors see only some)
        envelope = opened(args, environ)
        app.seen_messages.append(envelope.msg)
        return envelope

    webhook.open = keep_message
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
    recorded(app)  # what the webhook writes after its answers
    with get_db(app).scope() as s:
        return s.execute(select(model).where(*where).order_by(*model.__table__.primary_key)).scalars().all()


def api_send(client, path, body):
    token = client.post(API + "stable_token", json=CREDENTIALS).get_json()["access_token"]
    return client.post(f"{API}{path}?access_token={token}", json=body).get_json()
