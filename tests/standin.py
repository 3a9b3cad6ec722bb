"""A stand-in for the WeChat platform: the sandbox API side of a separate app, on a loopback port, with faults.

Use the `standin` fixture (tests/conftest.py) and point the app under test at it:

    def test_reply_is_sent(db_url, standin):
        app = create_app(standin.config(db_url))          # [wechat] api_base_url = standin.url, timeout 2 s
        standin.user("o-alice")                           # a follower who wrote just now (48-hour window open)
        get_api(app).send_text("o-alice", "您好")
        assert standin.calls("message/custom/send")[0].body["text"]["content"] == "您好"

The stand-in has its own SQLite file: the users it knows are the Follower rows of *its* database (`standin.user`),
its tags come from `standin.tag`, photos from `standin.media`. It answers with the platform's JSON and error codes
(45015 outside the 48-hour window, 43004 to a non-follower, 45028 past the mass-send budget, 40001 for a bad token).
Faults, each used up after `times` matching requests (path relative to cgi-bin/, None = any path):

    standin.fail("message/template/send", errcode=45009, times=2)   # answer an error without doing anything
    standin.delay(1.5, path="message/custom/send", times=1)        # wait before answering (times=None: always)
    standin.drop(times=1)                                           # close the connection without an answer
    standin.clear()                                                 # remove faults left unused

`standin.calls(path=None)` lists every request received, faulted ones included, oldest first: `Received` objects
with path, method, args (query), body (parsed JSON), status, answer (parsed JSON, or bytes) and fault.
`standin.settings` are the stand-in's settings: e.g.
`standin.settings.replace(WechatSettings, account_type="subscription")`.
"""

from __future__ import annotations

import io
import json
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from werkzeug.serving import WSGIRequestHandler, make_server

from bot import create_app
from bot.db import get_db, utcnow
from bot.models import Follower
from bot.sandbox import add_tag, store_media

PREFIX = "/sandbox/api/cgi-bin/"
NOW = object()


@dataclass
class Received:
    """One request the stand-in received and what became of it."""

    path: str
    method: str
    args: dict
    body: Any
    status: int | None = None
    answer: Any = None
    fault: str | None = None  # None, "fail", "delay" or "drop"


@dataclass
class _Fault:
    kind: str
    path: str | None
    times: int | None
    errcode: int = 0
    errmsg: str = ""
    seconds: float = 0.0


class Standin:
    """The sandbox API side of its own app, served by werkzeug in a thread on a free loopback port."""

    def __init__(self, db_path: Path) -> None:
        from tests.conftest import make_config

        self.app = create_app(make_config(f"sqlite:///{db_path}", wechat={"sandbox": True}))
        self.settings = self.app.config["SETTINGS"]
        self._lock = threading.Lock()
        self._faults: list[_Fault] = []
        self._received: list[Received] = []
        self.server = make_server("127.0.0.1", 0, self._wsgi, threaded=True, request_handler=self._handler_class())
        self.url = f"http://127.0.0.1:{self.server.server_port}{PREFIX}"
        self._thread = threading.Thread(target=self.server.serve_forever, name="wechat-standin", daemon=True)
        self._thread.start()

    def config(self, db_url: str, **sections: dict) -> dict:
        """Test settings for an app on db_url that talks to this stand-in (timeout 2 s unless given)."""
        from tests.conftest import make_config

        wechat = {"api_base_url": self.url, "timeout": 2.0, **sections.pop("wechat", {})}
        return make_config(db_url, wechat=wechat, **sections)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)
        get_db(self.app).engine.dispose()

    # ------------------------------------------------------------------ the platform's data

    def user(self, openid: str, *, subscribed: bool = True, last_message_at: Any = NOW, scene: str | None = None):
        """Make openid a user the platform knows; last_message_at=None means the user never wrote."""
        with get_db(self.app).scope() as s:
            found = s.execute(select(Follower).where(Follower.openid == openid)).scalar_one_or_none()
            row = found or Follower(openid=openid)
            row.subscribed = subscribed
            row.subscribed_at = row.subscribed_at or utcnow()
            row.last_message_at = utcnow() if last_message_at is NOW else last_message_at
            row.scene = scene
            s.add(row)

    def tag(self, name: str, openids: list[str]) -> int:
        """A user tag with these followers; returns its id."""
        with get_db(self.app).scope() as s:
            return add_tag(s, name, openids)

    def media(self, content: bytes, content_type: str = "image/jpeg", openid: str | None = None) -> str:
        """A file a user sent; returns the media_id media/get serves it under."""
        with get_db(self.app).scope() as s:
            return store_media(s, content, content_type, openid)

    # ------------------------------------------------------------------ faults and what was received

    def fail(self, path: str, errcode: int, times: int = 1, errmsg: str | None = None) -> None:
        """Answer the next `times` calls to path with {"errcode": errcode} and do nothing else."""
        self._add(_Fault("fail", path, times, errcode=errcode, errmsg=errmsg or f"injected error {errcode}"))

    def delay(self, seconds: float, path: str | None = None, times: int | None = None) -> None:
        """Wait `seconds` before answering (the next `times` calls, or every call while times is None)."""
        self._add(_Fault("delay", path, times, seconds=seconds))

    def drop(self, times: int = 1, path: str | None = None) -> None:
        """Close the connection of the next `times` calls without answering."""
        self._add(_Fault("drop", path, times))

    def clear(self) -> None:
        """Remove every fault not yet used up."""
        with self._lock:
            self._faults.clear()

    def calls(self, path: str | None = None) -> list[Received]:
        """Every request received (to path, if given), oldest first."""
        with self._lock:
            return [r for r in self._received if path is None or r.path == path]

    def _add(self, fault: _Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def _take(self, kind: str, path: str) -> _Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.kind == kind and fault.path in (None, path):
                    if fault.times is not None:
                        fault.times -= 1
                        if fault.times <= 0:
                            self._faults.remove(fault)
                    return fault
        return None

    def _log(self, received: Received) -> None:
        with self._lock:
            self._received.append(received)

    # ------------------------------------------------------------------ serving

    def _wsgi(self, environ: dict, start_response):
        raw = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        environ["wsgi.input"] = io.BytesIO(raw)
        received = _received(environ, raw)
        delayed = self._take("delay", received.path)
        if delayed:
            received.fault = "delay"
            time.sleep(delayed.seconds)
        failed = self._take("fail", received.path)
        if failed:
            received.fault, received.status = "fail", 200
            received.answer = {"errcode": failed.errcode, "errmsg": failed.errmsg}
            self._log(received)
            start_response("200 OK", [("Content-Type", "application/json; encoding=utf-8")])
            return [json.dumps(received.answer).encode()]
        captured: dict = {}

        def capture(status, headers, exc_info=None):
            captured["status"], captured["headers"] = status, headers
            return start_response(status, headers, exc_info)

        body = b"".join(self.app(environ, capture))
        received.status = int(captured["status"].split()[0])
        received.answer = _decode(body, dict(captured["headers"]).get("Content-Type", ""))
        self._log(received)
        return [body]

    def _handler_class(self) -> type[WSGIRequestHandler]:
        standin = self

        class Handler(WSGIRequestHandler):
            def run_wsgi(self) -> None:
                path = _relative(urlsplit(self.path).path)
                if standin._take("drop", path):
                    standin._log(Received(path, self.command, {}, None, fault="drop"))
                    self.close_connection = True  # no status line, no headers: the client sees the socket close
                    return
                super().run_wsgi()

            def log_request(self, *args) -> None:  # quiet: the test asserts on calls() instead
                pass

        return Handler


def _relative(path: str) -> str:
    return path[len(PREFIX) :] if path.startswith(PREFIX) else path


def _received(environ: dict, raw: bytes) -> Received:
    from urllib.parse import parse_qsl

    try:
        body = json.loads(raw) if raw else None
    except ValueError:
        body = raw
    args = dict(parse_qsl(environ.get("QUERY_STRING", "")))
    return Received(_relative(environ.get("PATH_INFO", "")), environ["REQUEST_METHOD"], args, body)


def _decode(body: bytes, content_type: str) -> Any:
    if content_type.startswith(("application/json", "text/plain")):
        try:
            return json.loads(body)
        except ValueError:
            return body
    return body


def last_message(minutes_ago: float) -> datetime:
    """A last_message_at that many minutes ago (for standin.user)."""
    from datetime import timedelta

    return utcnow() - timedelta(minutes=minutes_ago)
