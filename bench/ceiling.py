"""The ceiling: WeChat's safe-mode protocol alone, as a bare WSGI callable, served like the app and the floor.

What every safe-mode answer must do whatever else it does: parse the query, check the signature and the replay
window, read the body, parse the envelope, check msg_signature, AES-decrypt and check the AppID, parse the message,
then build a text reply, AES-encrypt and sign it. No Flask, no database, no nonce, no de-duplication row, no
routing, no log line. Whatever our app does on top costs more, so its ratio to the floor is an upper bound for any
webhook written in this stack that keeps WeChat's checks (bench/README.md, "The ceiling").
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import time
from urllib.parse import parse_qsl

from bot.wechat.protocol import Cipher, check_signature, check_timestamp, parse_xml

TOKEN = os.environ.get("CEILING_TOKEN", "bench-token")
APP_ID = os.environ.get("CEILING_APP_ID", "wxbench000000000001")
KEY = os.environ.get("CEILING_AES_KEY", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG")
_cipher = Cipher(TOKEN, KEY, APP_ID)
_HEADERS = "application/xml; charset=utf-8"


def app(environ, start_response):
    args = dict(parse_qsl(environ.get("QUERY_STRING", "")))
    timestamp, nonce = check_signature(TOKEN, args)
    check_timestamp(timestamp, 300)
    body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    outer = parse_xml(body)
    fields = parse_xml(_cipher.decrypt(outer.get("Encrypt"), args.get("msg_signature", ""), timestamp, nonce))
    reply = (
        f"<xml><ToUserName><![CDATA[{fields['FromUserName']}]]></ToUserName>"
        f"<FromUserName><![CDATA[{fields['ToUserName']}]]></FromUserName><CreateTime>{int(time.time())}</CreateTime>"
        "<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[12315]]></Content></xml>"
    )
    data = _cipher.encrypt(reply, nonce, timestamp).encode()
    start_response("200 OK", [("Content-Type", _HEADERS), ("Content-Length", str(len(data)))])
    return [data]


# CEILING_DB=<sqlite file>: the same, plus the least a de-duplicating webhook must write per message: one row keyed by
# the message (sender + MsgId) with its nonce, committed before answering (WAL, synchronous=NORMAL, as the app).
_DB = os.environ.get("CEILING_DB")
_local = threading.local()


def _connection() -> sqlite3.Connection:
    conn = getattr(_local, "conn", None)
    if conn is None:
        conn = _local.conn = sqlite3.connect(_DB, isolation_level=None, timeout=10, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("CREATE TABLE IF NOT EXISTS seen (key TEXT PRIMARY KEY, nonce TEXT UNIQUE, at REAL)")
    return conn


def durable(environ, start_response):
    args = dict(parse_qsl(environ.get("QUERY_STRING", "")))
    timestamp, nonce = check_signature(TOKEN, args)
    check_timestamp(timestamp, 300)
    body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    outer = parse_xml(body)
    fields = parse_xml(_cipher.decrypt(outer.get("Encrypt"), args.get("msg_signature", ""), timestamp, nonce))
    _GROUP.commit((f"{fields['FromUserName']}:{fields['MsgId']}", nonce, time.time()))
    reply = (
        f"<xml><ToUserName><![CDATA[{fields['FromUserName']}]]></ToUserName>"
        f"<FromUserName><![CDATA[{fields['ToUserName']}]]></FromUserName><CreateTime>{int(time.time())}</CreateTime>"
        "<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[12315]]></Content></xml>"
    )
    data = _cipher.encrypt(reply, nonce, timestamp).encode()
    start_response("200 OK", [("Content-Type", _HEADERS), ("Content-Length", str(len(data)))])
    return [data]


class _Group:
    """The least group commit: rows queued by a process's threads share one transaction, led by the first to come."""

    def __init__(self) -> None:
        self.lock, self.queue, self.busy = threading.Lock(), [], False

    def commit(self, row: tuple) -> None:
        done = threading.Event()
        with self.lock:
            self.queue.append((row, done))
            lead = not self.busy
            self.busy = True
        if not lead:
            done.wait()
            return
        while True:
            with self.lock:
                batch, self.queue = self.queue, []
                if not batch:
                    self.busy = False
                    return
            conn = _connection()
            fcntl.flock(_lockfile(), fcntl.LOCK_EX)  # writers of other processes queue here, not in busy sleeps
            try:
                conn.execute("BEGIN IMMEDIATE")
                conn.executemany("INSERT OR IGNORE INTO seen VALUES (?, ?, ?)", [r for r, _ in batch])
                conn.execute("COMMIT")
            finally:
                fcntl.flock(_lockfile(), fcntl.LOCK_UN)
            for _, event in batch:
                event.set()


_GROUP = _Group()


def _lockfile() -> int:
    if getattr(_lockfile, "pid", None) != os.getpid():
        _lockfile.fd, _lockfile.pid = os.open(f"{_DB}.lock", os.O_RDWR | os.O_CREAT), os.getpid()
    return _lockfile.fd


def lookup(environ, start_response):
    """The protocol plus one read by the message's key, as a retry needs (the row is absent: the cost is the same)."""
    args = dict(parse_qsl(environ.get("QUERY_STRING", "")))
    timestamp, nonce = check_signature(TOKEN, args)
    check_timestamp(timestamp, 300)
    body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    outer = parse_xml(body)
    fields = parse_xml(_cipher.decrypt(outer.get("Encrypt"), args.get("msg_signature", ""), timestamp, nonce))
    _connection().execute(
        "SELECT at FROM seen WHERE key = ?", (f"{fields['FromUserName']}:{fields['MsgId']}",)
    ).fetchone()
    reply = (
        f"<xml><ToUserName><![CDATA[{fields['FromUserName']}]]></ToUserName>"
        f"<FromUserName><![CDATA[{fields['ToUserName']}]]></FromUserName><CreateTime>{int(time.time())}</CreateTime>"
        "<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[12315]]></Content></xml>"
    )
    data = _cipher.encrypt(reply, nonce, timestamp).encode()
    start_response("200 OK", [("Content-Type", _HEADERS), ("Content-Length", str(len(data)))])
    return [data]
