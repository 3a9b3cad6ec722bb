"""Push fan-out benchmark: N template messages through the WeChat stand-in answering each call in 20 ms.

Usage: python bench/push_fanout.py [--count 100000] [--delay 0.02] [--db postgresql://...] [--rate 3000]
       [--concurrency 64]
The stand-in (tests/standin.py) runs in this process; the sender is a separate `flask pushes run <id>` process, whose
resident memory is sampled from /proc while it works. At the end every recipient must have exactly one message at
the stand-in (template messages de-duplicated by client_msg_id, as the platform does) and every delivery be `sent`.
Prints one JSON object: count, seconds, messages_per_second, rss_start_mb, rss_end_mb, rss_peak_mb, verified.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, insert, select  # noqa: E402

from bot import create_app  # noqa: E402
from bot.db import get_db, utcnow  # noqa: E402
from bot.models import Delivery, Follower, Push  # noqa: E402
from tests.pushes_helpers import push_config, received, schedule, write_config  # noqa: E402
from tests.standin import Standin  # noqa: E402


def add_followers(app, standin, count: int) -> list[str]:
    """count followers, known both to the app and to the stand-in, inserted in chunks."""
    openids = [f"oBench{i:07d}" for i in range(count)]
    now = utcnow()
    for db in (get_db(app), get_db(standin.app)):
        with db.scope() as s:
            for start in range(0, count, 5000):
                rows = [
                    {"openid": o, "subscribed": True, "subscribed_at": now, "last_message_at": now}
                    for o in openids[start : start + 5000]
                ]
                s.execute(insert(Follower), [r | {"tags": [], "topics": [], "created_at": now} for r in rows])
    return openids


def rss_mb(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) of a process in MB."""
    values = {}
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith(("VmRSS:", "VmHWM:")):
                values[line.split(":")[0]] = int(line.split()[1]) / 1024
    return values.get("VmRSS", 0.0), values.get("VmHWM", 0.0)


def run_sender(config: Path, push_id: int) -> dict:
    """`flask pushes run` in its own process; its time and memory."""
    env = {**os.environ, "APP_CONFIG": str(config), "PYTHONPATH": str(ROOT)}
    flask = str(Path(sys.executable).parent / "flask")
    log = config.parent / "sender.log"
    started = time.perf_counter()
    with log.open("w") as out:
        proc = subprocess.Popen(
            [flask, "--app", "bot", "pushes", "run", str(push_id)], cwd=ROOT, env=env, stdout=out, stderr=out
        )
        samples, first_batch = [], None  # RSS "at start": when the first batch is done (imports and app loaded)
        while proc.poll() is None:
            try:
                samples.append(rss_mb(proc.pid))
            except (FileNotFoundError, ProcessLookupError):
                break
            if first_batch is None and "进度" in log.read_text(errors="replace"):
                first_batch = samples[-1][0]
            time.sleep(0.5)
    lines = log.read_text().splitlines()
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit("sender failed:\n" + "\n".join(lines[-20:]))
    started_rss = first_batch or (samples[0][0] if samples else 0.0)
    return {
        "seconds": seconds,
        "rss_start_mb": started_rss,
        "rss_end_mb": samples[-1][0] if samples else 0.0,
        "rss_peak_mb": max((h for _, h in samples), default=0.0),
        "last_line": lines[-1] if lines else "",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--delay", type=float, default=0.02, help="seconds the stand-in takes to answer each call")
    parser.add_argument("--db", default="", help="database URL (default: a temporary SQLite file)")
    parser.add_argument("--rate", type=float, default=3000, help="[pushes] rate_per_second")
    parser.add_argument("--concurrency", type=int, default=64, help="[pushes] concurrency")
    args = parser.parse_args()
    logging.getLogger("bot.request").setLevel(logging.WARNING)  # the stand-in's access log, in this process
    tmp = Path(tempfile.mkdtemp(prefix="push-bench-"))
    standin = Standin(tmp / "standin.db")
    standin.delay(args.delay)
    cfg = push_config(
        args.db or f"sqlite:///{tmp / 'bot.db'}",
        standin,
        tmp,
        rate_per_second=args.rate,
        concurrency=args.concurrency,
        batch_size=1000,
        claim_timeout_seconds=120,
    )
    cfg["wechat"]["timeout"] = 10.0
    app = create_app(cfg)
    openids = add_followers(app, standin, args.count)
    push_id = schedule(app, "bench-alert")
    result = run_sender(write_config(tmp, cfg), push_id)
    got = received(standin)
    with get_db(app).scope() as s:
        sent = s.scalar(select(func.count()).where(Delivery.push_id == push_id, Delivery.state == "sent"))
        state = s.get(Push, push_id).state
    verified = state == "done" and sent == args.count and got == dict.fromkeys(openids, 1)
    standin.close()
    print(
        json.dumps(
            {
                "count": args.count,
                "delay_ms": args.delay * 1000,
                "database": app.extensions["db"].engine.url.get_backend_name(),
                "seconds": round(result["seconds"], 1),
                "messages_per_second": round(args.count / result["seconds"], 1),
                "rss_start_mb": round(result["rss_start_mb"], 1),
                "rss_end_mb": round(result["rss_end_mb"], 1),
                "rss_peak_mb": round(result["rss_peak_mb"], 1),
                "calls_at_standin": len(standin.calls()),
                "verified_exactly_once": verified,
            },
            ensure_ascii=False,
        )
    )
    if not verified:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
