"""cProfile of the webhook in process: 2,800 signed safe-mode messages through Flask's test client (SQLite).

Usage: python bench/profile_webhook.py [TEXT] [--retry] [--users N] [--top N] [--sort cumulative|tottime]
Prints the time per request and the top of the profile (what bench/profiles/*.txt keep).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import logging
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import wire  # noqa: E402
from bench.run import WECHAT, app_config  # noqa: E402

WARMUP, MEASURED = 200, 2800


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("text", nargs="?", default="12315")
    parser.add_argument("--retry", action="store_true", help="profile retries of answered messages instead")
    parser.add_argument("--users", type=int, default=300, help="distinct senders (0: a new sender for every message)")
    parser.add_argument("--page", default="", help="profile GETs of this path instead (e.g. /notices/)")
    parser.add_argument("--top", type=int, default=45)
    parser.add_argument("--sort", default="cumulative")
    parser.add_argument("--log", action="store_true", help="keep INFO request logging (to stderr) as in production")
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="prof-")
    Path(work, "c.toml").write_text(app_config(f"sqlite:///{work}/b.db"))
    os.environ["APP_CONFIG"] = f"{work}/c.toml"
    from bot import create_app

    app = create_app()
    if not args.log:
        logging.getLogger().setLevel(logging.WARNING)
    client = app.test_client()
    total = WARMUP + MEASURED

    def sender(tag: str, i: int) -> str:
        return f"o_{tag}{i % args.users if args.users else i}"

    if args.page:
        reqs = [wire.get_request(args.page) for _ in range(total)]
    else:
        reqs = [wire.text_request(WECHAT, sender("u", i), args.text, 10**15 + i, safe=True) for i in range(total)]
    if args.retry:
        for r in reqs:
            client.post(r["path"], data=r["body"].encode(), headers=r["headers"])
        reqs = [wire.text_request(WECHAT, sender("u", i), args.text, 10**15 + i, safe=True) for i in range(total)]

    def send(r: dict) -> None:
        if r["method"] == "GET":
            resp = client.get(r["path"])
        else:
            resp = client.post(r["path"], data=r["body"].encode(), headers=r["headers"])
        assert resp.status_code == 200, resp.data

    for r in reqs[:WARMUP]:
        send(r)
    if not args.page:  # the same number again, unprofiled, for the plain time per request
        plain = [
            wire.text_request(WECHAT, sender("v", i), args.text, 2 * 10**15 + i, safe=True) for i in range(MEASURED)
        ]
        started = time.perf_counter()
        for r in plain:
            send(r)
        print(f"per request ms {(time.perf_counter() - started) / MEASURED * 1000:.3f} (no profiler, test client)")
    profile = cProfile.Profile()
    started = time.perf_counter()
    profile.enable()
    for r in reqs[WARMUP:]:
        send(r)
    profile.disable()
    elapsed = time.perf_counter() - started
    print(f"per request ms {elapsed / MEASURED * 1000:.3f} (under cProfile)")
    out = io.StringIO()
    pstats.Stats(profile, stream=out).sort_stats(args.sort).print_stats(args.top)
    print(out.getvalue())


if __name__ == "__main__":
    main()
