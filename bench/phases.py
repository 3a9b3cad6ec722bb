"""Where one webhook message's time goes, phase by phase, in process (no server, no profiler): SQLite, safe mode.

Usage: python bench/phases.py [--n 3000] [--pg]
Prints microseconds per message for the whole WSGI call (fresh and retried) and for each phase of a fresh one:
verify + decrypt + parse, BEGIN, the nonce, the de-duplication row, the follower upsert, routing + rendering,
storing the (encrypted) reply, COMMIT, and sealing (AES + signature) the answer.
"""

from __future__ import annotations

import argparse
import collections
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import run, wire  # noqa: E402
from bench.run import WECHAT, app_config  # noqa: E402


def environs(n: int, tag: str, start: int) -> list[dict]:
    from werkzeug.test import EnvironBuilder

    out = []
    for i in range(n):
        r = wire.text_request(WECHAT, f"o_{tag}{i % 300}", "12315", start + i, safe=True)
        path, query = r["path"].split("?", 1)
        builder = EnvironBuilder(path=path, query_string=query, method="POST", data=r["body"].encode(),
                                 headers=r["headers"])  # fmt: skip
        out.append(builder.get_environ())
    return out


def wsgi_us(app, envs: list[dict]) -> float:
    started = time.perf_counter()
    for env in envs:
        for _ in app(env, lambda status, headers, exc=None: None):
            pass
    return (time.perf_counter() - started) / len(envs) * 1e6


def phases(app, envs: list[dict]) -> dict[str, float]:
    """The same steps as bot/wechat/inbox.py's durable path (Inbox._attempt) for a fresh message, timed one by one."""
    from bot.db import get_db, utcnow
    from bot.wechat import inbox
    from bot.wechat.handlers import TOUCH
    from bot.wechat.messages import Context
    from bot.wechat.protocol import dedupe_key
    from bot.wechat.views import _query

    webhook, acc, engine = app.extensions["webhook"], collections.Counter(), get_db(app).engine
    names = ["verify+decrypt+parse", "connect+BEGIN", "nonce", "retry look-up", "follower", "route+render",
             "record row+reply", "COMMIT", "seal"]  # fmt: skip
    for env in envs:
        with app.app_context():
            marks = [time.perf_counter()]
            envelope = webhook.open(_query(env["QUERY_STRING"]), env)
            marks.append(time.perf_counter())
            now, key = utcnow(), dedupe_key(envelope.msg)
            with engine.connect() as conn:
                conn.begin()
                cur, dialect = conn.connection.cursor(), conn.dialect
                marks.append(time.perf_counter())
                webhook.inbox._claim_nonce(cur, dialect, envelope.nonce, key, now)
                marks.append(time.perf_counter())
                inbox._STORED_REPLY.fetch(cur, dialect, key=key)
                marks.append(time.perf_counter())
                in_dialogue = bool(TOUCH.fetch(cur, dialect, openid=envelope.msg.openid, now=now)[0])
                marks.append(time.perf_counter())
                body = webhook.inbox._answer(envelope, Context(envelope.msg, None, app, now, in_dialogue))
                marks.append(time.perf_counter())
                inbox._RECORD.fetch(cur, dialect, key=key, openid=envelope.msg.openid, kind="text", now=now, body=body)
                marks.append(time.perf_counter())
                conn.commit()
                marks.append(time.perf_counter())
            webhook.seal(body, envelope)
            marks.append(time.perf_counter())
        for name, a, b in zip(names, marks[:-1], marks[1:], strict=True):
            acc[name] += b - a
    return {k: v / len(envs) * 1e6 for k, v in acc.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=3000)
    parser.add_argument("--pg", action="store_true", help="on a throwaway PostgreSQL server instead of SQLite")
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="phases-")
    url, stop = run.database_url("postgresql" if args.pg else "sqlite", Path(work))
    Path(work, "c.toml").write_text(app_config(url))
    os.environ["APP_CONFIG"] = f"{work}/c.toml"
    from bot import create_app

    app = create_app()
    logging.getLogger().setLevel(logging.WARNING)
    wsgi_us(app, environs(args.n, "w", 10**15))  # warm up
    print(f"WSGI call, fresh message: {wsgi_us(app, environs(args.n, 'a', 2 * 10**15)):.0f} us")
    app.extensions["webhook"].inbox.later.flush()  # the records written after the answers, as a retry 5 s later finds
    print(f"WSGI call, retried message: {wsgi_us(app, environs(args.n, 'a', 2 * 10**15)):.0f} us")
    for name, us in phases(app, environs(args.n, "b", 3 * 10**15)).items():
        print(f"  {name:22} {us:6.0f} us")
    stop()


if __name__ == "__main__":
    main()
