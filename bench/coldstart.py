"""A worker's cold start and idle memory: import to first answered request, and RSS per idle gunicorn worker.

Usage: python bench/coldstart.py [--runs 5]
Each run is a fresh Python process: import bot, create_app() (schema already at head, as after `flask db upgrade`),
then the first safe-mode keyword message and the first notice page through the WSGI app. The idle RSS is read from
/proc for the workers of the app under gunicorn with the bench settings, after one request each and 2 s of rest.
Prints a Markdown table (the median of the runs) that bench/run.py appends to its report.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
sys.path.insert(0, {root!r})
import bot
t1 = time.perf_counter()
app = bot.create_app()
t2 = time.perf_counter()
from bench import wire
from bench.run import WECHAT
req = wire.text_request(WECHAT, "o_cold_start", "12315", 7, safe=True)
client = app.test_client()
resp = client.post(req["path"], data=req["body"].encode(), headers=req["headers"])
assert resp.status_code == 200 and b"<Encrypt>" in resp.data, resp.data
t3 = time.perf_counter()
assert client.get("/notices/").status_code == 200
t4 = time.perf_counter()
rss = int([l for l in open("/proc/self/status") if l.startswith("VmRSS:")][0].split()[1]) / 1024
print(json.dumps({{"import": t1 - t0, "create_app": t2 - t1, "first_message": t3 - t2, "first_page": t4 - t3,
                  "total": t4 - t0, "rss_mb": rss}}))
"""


def cold_runs(env: dict[str, str], runs: int) -> list[dict]:
    """Fresh interpreters, each timing import -> create_app -> first message -> first page."""
    code = CHILD.format(root=str(ROOT))
    out = []
    for _ in range(runs):
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
        result = json.loads(done.stdout.strip().splitlines()[-1])
        result["process"] = time.perf_counter() - started  # interpreter start and exit included
        out.append(result)
    return out


def idle_rss(env: dict[str, str]) -> float:
    """The largest worker RSS of the app under gunicorn (bench settings) at rest after its first requests."""
    from bench.run import Server

    server = Server("bot:create_app()", env, Path(env["APP_CONFIG"]).with_name("coldstart.log"))
    try:
        for _ in range(4):
            subprocess.run(["curl", "-s", "-o", "/dev/null", f"http://127.0.0.1:{server.port}/notices/"], check=False)
        time.sleep(2)
        return server.rss_mb()
    finally:
        server.stop()


def main() -> None:
    from bench.run import app_config

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="coldstart-"))
    config = work / "app.toml"
    config.write_text(app_config(f"sqlite:///{work / 'bench.db'}"))
    env = {**os.environ, "APP_CONFIG": str(config)}
    cold_runs(env, 1)  # creates the schema (a deployment runs `flask db upgrade` before starting workers)
    runs = cold_runs(env, args.runs)
    med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    rss = idle_rss(env)
    print(f"| cold start (median of {args.runs}) | seconds |")
    print("|---|---|")
    for key, label in [("import", "import bot"), ("create_app", "create_app()"),
                       ("first_message", "first keyword message (safe mode)"), ("first_page", "first notice index"),
                       ("total", "**import to first answered request and page**"),
                       ("process", "whole interpreter, start to exit")]:  # fmt: skip
        print(f"| {label} | {med[key]:.3f} |")
    print(f"\nRSS after the cold start (one process): {med['rss_mb']:.0f} MB; "
          f"idle gunicorn worker (bench settings): {rss:.0f} MB")  # fmt: skip


if __name__ == "__main__":
    main()
