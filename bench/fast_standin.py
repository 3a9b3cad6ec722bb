"""A fast stand-in for the WeChat API, for the push fan-out benchmark: its own process, asyncio, HTTP/1.1 keep-alive.

    python bench/fast_standin.py --delay 0.02 --users openids.txt   # prints "listening on <port>", then serves

It answers like the platform, each call after `--delay` seconds (many calls wait at once, as on the real platform):
`stable_token` and `token` issue an access token (checked against --appid/--secret); `message/template/send` checks
the token (40001), the template_id (40037), the data (47001) and that the user follows (43004, when --users names
the followers), and de-duplicates a repeated (touser, client_msg_id) within 10 minutes as the platform does: the
repeat is answered with the first msgid and is not a second message. Any other path answers 404.

`GET /_stats` (no delay) is the benchmark's check: {"calls", "accepted", "repeats", "errors": {errcode: n},
"counts": {openid: messages received}}. Unlike tests/standin.py it keeps everything in memory and records nothing in
a database, so that the benchmark measures the sender and not the stand-in.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import time
from collections import Counter
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

DEDUPE_SECONDS = 600
REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed"}


class Platform:
    """What the platform knows and has received."""

    def __init__(self, appid: str, secret: str, users: set[str] | None) -> None:
        self.appid, self.secret, self.users = appid, secret, users
        self.token = secrets.token_urlsafe(32)
        self.calls = self.accepted = self.repeats = 0
        self.errors: Counter[int] = Counter()
        self.counts: Counter[str] = Counter()
        self.seen: dict[tuple[str, str], tuple[int, float]] = {}  # (touser, client_msg_id) -> (msgid, at)
        self.next_msgid = 3_000_000_000

    def answer(self, method: str, target: str, body: bytes) -> tuple[int, dict]:
        """(HTTP status, JSON answer) for one request."""
        url = urlsplit(target)
        path, args = url.path.split("cgi-bin/", 1)[-1], dict(parse_qsl(url.query))
        if path == "_stats":
            return 200, self.stats()
        self.calls += 1
        try:
            data = json.loads(body) if body else {}
        except ValueError:
            return 200, self.fail(47001, "data format error")
        if path in ("stable_token", "token"):
            return 200, self.issue(data if method == "POST" else args)
        if path != "message/template/send":
            return 404, {"errcode": 404, "errmsg": "not found"}
        if method != "POST":
            return 200, self.fail(43002, "require POST method")
        return 200, self.template_send(args.get("access_token"), data)

    def issue(self, values: dict) -> dict:
        if values.get("appid") != self.appid or values.get("secret") != self.secret:
            return self.fail(40125, "invalid appsecret")
        if values.get("force_refresh") is True:
            self.token = secrets.token_urlsafe(32)
        return {"access_token": self.token, "expires_in": 7200}

    def template_send(self, token: str | None, data: dict) -> dict:
        if token != self.token:
            return self.fail(40001, "invalid credential, access_token is invalid or not latest")
        touser = data.get("touser")
        if not isinstance(data.get("template_id"), str) or not data["template_id"]:
            return self.fail(40037, "invalid template_id")
        if not isinstance(data.get("data"), dict):
            return self.fail(47001, "data format error")
        if not isinstance(touser, str) or (self.users is not None and touser not in self.users):
            return self.fail(43004, "require subscribe")
        now, key = time.monotonic(), data.get("client_msg_id")
        if key:
            earlier = self.seen.get((touser, key))
            if earlier is not None and now - earlier[1] < DEDUPE_SECONDS:
                self.repeats += 1
                return {"errcode": 0, "errmsg": "ok", "msgid": earlier[0]}
        self.next_msgid += 1
        if key:
            self.seen[(touser, key)] = (self.next_msgid, now)
        self.accepted += 1
        self.counts[touser] += 1
        return {"errcode": 0, "errmsg": "ok", "msgid": self.next_msgid}

    def fail(self, errcode: int, errmsg: str) -> dict:
        self.errors[errcode] += 1
        return {"errcode": errcode, "errmsg": errmsg}

    def stats(self) -> dict:
        return {
            "calls": self.calls,
            "accepted": self.accepted,
            "repeats": self.repeats,
            "errors": dict(self.errors),
            "counts": dict(self.counts),
        }


class Connection(asyncio.Protocol):
    """One keep-alive connection: requests are read one at a time and each answered after the delay."""

    def __init__(self, platform: Platform, delay: float) -> None:
        self.platform, self.delay = platform, delay
        self.buffer = b""
        self.busy = False
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        self.next_request()

    def next_request(self) -> None:
        if self.busy or self.transport is None or self.transport.is_closing():
            return
        head_end = self.buffer.find(b"\r\n\r\n")
        if head_end < 0:
            return
        lines = self.buffer[:head_end].decode("latin-1").split("\r\n")
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
        length = int(headers.get("content-length") or 0)
        if len(self.buffer) < head_end + 4 + length:
            return
        body = self.buffer[head_end + 4 : head_end + 4 + length]
        self.buffer = self.buffer[head_end + 4 + length :]
        try:
            method, target, _version = lines[0].split(" ", 2)
        except ValueError:
            self.respond(400, {"errcode": 400, "errmsg": "bad request"}, close=True)
            return
        status, answer = self.platform.answer(method, target, body)
        close = headers.get("connection", "").lower() == "close"
        self.busy = True
        delay = 0 if target.endswith("_stats") else self.delay
        asyncio.get_running_loop().call_later(delay, self.respond, status, answer, close)

    def respond(self, status: int, answer: dict, close: bool = False) -> None:
        self.busy = False
        if self.transport is None or self.transport.is_closing():
            return
        payload = json.dumps(answer, ensure_ascii=False).encode()
        head = (
            f"HTTP/1.1 {status} {REASONS.get(status, 'OK')}\r\nContent-Type: application/json; encoding=utf-8\r\n"
            f"Content-Length: {len(payload)}\r\nConnection: {'close' if close else 'keep-alive'}\r\n\r\n"
        )
        self.transport.write(head.encode() + payload)
        if close:
            self.transport.close()
        else:
            self.next_request()

    def connection_lost(self, exc) -> None:
        self.transport = None


async def serve(args: argparse.Namespace) -> None:
    users = set(Path(args.users).read_text().split()) if args.users else None
    platform = Platform(args.appid, args.secret, users)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: Connection(platform, args.delay), args.host, args.port, backlog=1024)
    print(f"listening on {server.sockets[0].getsockname()[1]}", flush=True)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0: a free port (printed)")
    parser.add_argument("--delay", type=float, default=0.02, help="seconds before each answer")
    parser.add_argument("--appid", default="wxtestappid0000001")
    parser.add_argument("--secret", default="test-app-secret")
    parser.add_argument("--users", default="", help="a file of the followers' openids (others get 43004)")
    try:
        asyncio.run(serve(parser.parse_args()))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
