"""A burst against a real threaded server: 200 distinct messages at once, each answered within WeChat's 5 seconds."""

from __future__ import annotations

import socket
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from bot.models import InboundMessage
from tests.browser import serve
from tests.wechat_user import WeChat, make_wechat, new_id, recorded, text_xml

BURST = 200
ASKS = {
    "帮助": "本号可以为您",
    "热线": "消费者投诉举报热线",
    "12315": "消费者投诉举报热线",
    "人工客服": "消费者投诉举报热线",
}


@pytest.fixture
def served(db_url):
    wx = make_wechat(db_url, "safe")
    with serve(wx.app) as url:
        yield wx, WeChat(url, wx.token, wx.app_id, wx.aes_key)
    wx.app.extensions["db"].engine.dispose()


@pytest.mark.wall_clock
def test_200_concurrent_messages_each_answered_within_5_seconds(served, record_property):
    wx, remote = served
    words = list(ASKS)
    # Built in advance (signed and encrypted), so the burst measures the server, not the sender.
    prepared = []
    for n in range(BURST):
        word = words[n % len(words)]
        query = remote.query()
        body, query = remote.envelope(text_xml(f"oBurst{n:04d}", word, msg_id=new_id()), query)
        prepared.append((word, body, query))
    barrier = threading.Barrier(BURST)

    def fire(item):
        word, body, query = item
        barrier.wait()
        started = time.perf_counter()
        status, text = remote.send("POST", query, body.encode())
        elapsed = time.perf_counter() - started
        reply = remote.decode(text, query) if status == 200 else {}
        return word, status, reply, elapsed

    started = time.perf_counter()
    with ThreadPoolExecutor(BURST) as pool:
        results = list(pool.map(fire, prepared))
    wall = time.perf_counter() - started
    slowest = max(r[3] for r in results)
    print(f"\n{BURST} concurrent safe-mode messages: wall {wall:.2f}s, slowest {slowest:.2f}s")
    record_property("burst_wall_seconds", round(wall, 3))
    record_property("burst_slowest_seconds", round(slowest, 3))
    for word, status, reply, elapsed in results:
        assert status == 200 and reply["Content"].startswith(ASKS[word])
        assert elapsed < 5.0
    recorded(wx.app)
    with wx.app.extensions["db"].scope() as s:
        assert s.scalar(select(func.count()).select_from(InboundMessage)) == BURST


def test_oversized_body_is_refused_before_it_is_sent(served):
    _wx, remote = served
    host, port = urllib.parse.urlsplit(remote.target).netloc.split(":")
    query = urllib.parse.urlencode(remote.query())
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        head = (
            f"POST /wechat?{query} HTTP/1.1\r\nHost: {host}\r\nContent-Type: text/xml\r\n"
            f"Content-Length: {50 * 1024 * 1024}\r\n\r\n"
        )
        sock.sendall(head.encode() + b"<xml>" + b"x" * 1024)  # 50 MB announced, 1 KB sent
        answer = sock.recv(4096).decode(errors="replace")
    assert answer.startswith("HTTP/1.1 413")
    after = remote.text("oAfterBig", "12315")
    assert after.status == 200 and after.content.startswith("消费者投诉举报热线")
