"""The ceiling: WeChat's safe-mode protocol alone, as bare WSGI callables, served like the app and the floor.

What every safe-mode answer must do whatever else it does: parse the query, check the signature and the replay
window, read the body, parse the envelope, check msg_signature, AES-decrypt and check the AppID, parse the message,
then build a text reply, AES-encrypt and sign it. No Flask, no nonce, no routing, no log line. Three variants:

- `app`: that and nothing else;
- `lookup`: plus one indexed read by the message's key, the least a retry must do to find its stored reply;
- `durable`: plus one row keyed by the message, with its nonce, committed before answering (WAL, synchronous=NORMAL,
  as the app) in a group commit between the threads of a process, writers of different processes queued on a file
  lock: the least a de-duplicating webhook must write for a fresh message, done as cheaply as this stack allows.

With CEILING_PG_URL, `pg_lookup` and `pg_durable` do the same read and write on PostgreSQL: one statement each, in
autocommit (one round trip), on a connection per thread.

The app does all of that and more, so its ratio to the floor cannot pass these (`bench/run.py` measures them in the
same run; bench/README.md, "The ceiling").
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import tempfile
import threading
import time
from urllib.parse import parse_qsl

from bot.wechat.protocol import Cipher, check_signature, check_timestamp, parse_xml

TOKEN = os.environ.get("CEILING_TOKEN", "bench-token")
APP_ID = os.environ.get("CEILING_APP_ID", "wxbench000000000001")
KEY = os.environ.get("CEILING_AES_KEY", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG")
_cipher = Cipher(TOKEN, KEY, APP_ID)
_HEADERS = [("Content-Type", "application/xml; charset=utf-8")]


def _open(environ) -> tuple[dict, str, str]:
    args = dict(parse_qsl(environ.get("QUERY_STRING", "")))
    timestamp, nonce = check_signature(TOKEN, args)
    check_timestamp(timestamp, 300)
    outer = parse_xml(environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0)))
    fields = parse_xml(_cipher.decrypt(outer.get("Encrypt"), args.get("msg_signature", ""), timestamp, nonce))
    return fields, timestamp, nonce


def _answer(fields: dict, timestamp: str, nonce: str, start_response) -> list[bytes]:
    reply = (
        f"<xml><ToUserName><![CDATA[{fields['FromUserName']}]]></ToUserName>"
        f"<FromUserName><![CDATA[{fields['ToUserName']}]]></FromUserName><CreateTime>{int(time.time())}</CreateTime>"
        "<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[12315]]></Content></xml>"
    )
    data = _cipher.encrypt(reply, nonce, timestamp).encode()
    start_response("200 OK", [*_HEADERS, ("Content-Length", str(len(data)))])
    return [data]


def app(environ, start_response):
    """The protocol alone."""
    return _answer(*_open(environ), start_response)


def lookup(environ, start_response):
    """The protocol plus one read by the message's key (the row is absent: a hit costs the same)."""
    fields, timestamp, nonce = _open(environ)
    _connection().execute("SELECT at FROM seen WHERE key = ?", (f"{fields['FromUserName']}:{fields['MsgId']}",))
    return _answer(fields, timestamp, nonce, start_response)


def durable(environ, start_response):
    """The protocol plus one durable row per message, committed before the answer."""
    fields, timestamp, nonce = _open(environ)
    _GROUP.commit((f"{fields['FromUserName']}:{fields['MsgId']}", nonce, time.time()))
    return _answer(fields, timestamp, nonce, start_response)


_local = threading.local()


def _connection() -> sqlite3.Connection:
    conn = getattr(_local, "conn", None)
    if conn is None:
        conn = _local.conn = sqlite3.connect(_db(), isolation_level=None, timeout=10, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("CREATE TABLE IF NOT EXISTS seen (key TEXT PRIMARY KEY, nonce TEXT UNIQUE, at REAL)")
    return conn


def _db() -> str:
    """CEILING_DB (bench/run.py sets it, one file for every worker), else a file in a temporary directory."""
    if "CEILING_DB" not in os.environ:
        os.environ["CEILING_DB"] = os.path.join(tempfile.mkdtemp(prefix="ceiling-"), "ceiling.db")
    return os.environ["CEILING_DB"]


def _lockfile() -> int:
    if getattr(_lockfile, "pid", None) != os.getpid():
        _lockfile.fd, _lockfile.pid = os.open(f"{_db()}.lock", os.O_RDWR | os.O_CREAT), os.getpid()  # type: ignore[attr-defined]
    return _lockfile.fd  # type: ignore[attr-defined]


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


def pg_lookup(environ, start_response):
    """`lookup` on PostgreSQL."""
    fields, timestamp, nonce = _open(environ)
    _pg().execute("SELECT at FROM seen WHERE key = %s", (f"{fields['FromUserName']}:{fields['MsgId']}",)).fetchone()
    return _answer(fields, timestamp, nonce, start_response)


def pg_durable(environ, start_response):
    """`durable` on PostgreSQL: the row committed (autocommit) before the answer; no group needed, no file lock."""
    fields, timestamp, nonce = _open(environ)
    _pg().execute(
        "INSERT INTO seen VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
        (f"{fields['FromUserName']}:{fields['MsgId']}", nonce, time.time()),
    )
    return _answer(fields, timestamp, nonce, start_response)


def _pg():
    conn = getattr(_local, "pg", None)
    if conn is None:
        import psycopg

        url = os.environ["CEILING_PG_URL"].replace("postgresql+psycopg://", "postgresql://")
        conn = _local.pg = psycopg.connect(url, autocommit=True)
    return conn


PG_TABLE = "CREATE TABLE IF NOT EXISTS seen (key TEXT PRIMARY KEY, nonce TEXT UNIQUE, at DOUBLE PRECISION)"
