"""Local stand-ins for the outbox tests: a real SMTP server (aiosmtpd) and a WeCom group-robot HTTP server."""

from __future__ import annotations

import json
import socket
import threading
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MailServer:
    """An SMTP server on loopback that keeps what it accepted; `fail(n)` refuses the next n messages (451)."""

    def __init__(self) -> None:
        self.messages: list = []
        self.failures = 0
        self.port = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server, session, envelope):
        if self.failures > 0:
            self.failures -= 1
            return "451 4.3.0 Mailbox temporarily unavailable, try again later"
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"

    def fail(self, times: int) -> None:
        self.failures = times

    def bodies(self) -> list[str]:
        return [m["Subject"] + "\n" + m.get_content() for m in self.messages]


class RobotServer:
    """A WeCom group robot on loopback: records every post; `fail(n)` answers HTTP 500, `fail(n, errcode)` an error."""

    def __init__(self) -> None:
        self.posts: list[dict] = []
        self.failures: list[int] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if outer.failures:
                    code = outer.failures.pop(0)
                    if code == 500:
                        self.send_response(500)
                        self.end_headers()
                        return
                    answer = {"errcode": code, "errmsg": "busy"}
                else:
                    outer.posts.append(body)
                    answer = {"errcode": 0, "errmsg": "ok"}
                data = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/cgi-bin/webhook/send?key=robot-secret-key"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def fail(self, times: int, code: int = 500) -> None:
        self.failures = [code] * times

    def texts(self) -> list[str]:
        return [p["text"]["content"] for p in self.posts]

    def start(self) -> RobotServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
