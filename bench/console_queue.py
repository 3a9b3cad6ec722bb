"""Time the console's work queue at 100,000 leads: seed, sign in, request each queue variant many times.

Usage: .venv/bin/python bench/console_queue.py [--leads 100000] [--repeat 200] [--pg]
SQLite in a temporary file by default; --pg starts a throwaway PostgreSQL server (as the tests do).
Prints one line per variant: p50 / p99 / max in milliseconds, measured in-process through the Flask test client
(the whole request: session, SQL, working-day arithmetic, template rendering).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert

from bot import create_app
from bot.models import Lead
from bot.privacy import encrypt
from bot.workflow import ALL_STATUSES
from tests.conftest import PostgresServer, _pg_bindir, make_config
from tests.console_support import Staff, add_staff

BRANCHES = [f"branch{i:02d}" for i in range(20)]
CATEGORIES = ["食品安全", "预付卡", "网络购物", "装修建材", "汽车", "医疗美容", "教育培训", "其他"]


def seed(app, count: int) -> None:
    """Insert `count` leads in batches (personal fields encrypted once and reused: same cost to read)."""
    rng = random.Random(7)
    name, phone, address = encrypt("张三"), encrypt("13800138000"), encrypt("某市某路1号")
    today = date(2026, 5, 20)
    engine = app.extensions["db"].engine
    batch = []
    with engine.begin() as conn:
        for i in range(count):
            received = today - timedelta(days=rng.randint(0, 365))
            status = rng.choice(ALL_STATUSES)
            due = received + timedelta(days=rng.randint(5, 70)) if status in ALL_STATUSES[:5] else None
            batch.append(
                {"ticket": f"T{i:08d}", "kind": rng.choice(("complaint", "report")), "status": status,
                 "category": rng.choice(CATEGORIES), "branch": rng.choice(BRANCHES) if i % 50 else None,
                 "business_name": f"商户{rng.randint(1, 20000)}号", "received_on": received, "next_due": due,
                 "name": name, "phone": phone, "address": address, "facts": "事实", "extra": {}}
            )  # fmt: skip
            if len(batch) == 5000:
                conn.execute(insert(Lead.__table__).execution_options(render_nulls=True), batch)
                batch = []
        if batch:
            conn.execute(insert(Lead.__table__), batch)


def timed(staff: Staff, url: str, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        response = staff.get(url)
        out.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--pg", action="store_true", help="run on a throwaway PostgreSQL server")
    args = parser.parse_args()
    server = None
    if args.pg:
        server = PostgresServer(_pg_bindir())
        server.start()
        url = server.url("postgres")
    else:
        url = f"sqlite:///{tempfile.mkdtemp(prefix='bench-console-')}/bench.db"
    try:
        app = create_app(make_config(url))
        started = time.perf_counter()
        seed(app, args.leads)
        where = "PostgreSQL" if args.pg else "SQLite"
        print(f"seeded {args.leads} leads in {time.perf_counter() - started:.1f}s on {where}")
        add_staff(app, "handler", "handler", "branch03")
        add_staff(app, "admin", "admin")
        handler, admin = Staff(app, "handler"), Staff(app, "admin")
        variants = [
            ("handler queue (page 1)", handler, "/console/queue"),
            ("handler queue page 20", handler, "/console/queue?page=20"),
            ("handler overdue filter", handler, "/console/queue?overdue=1"),
            ("handler search business", handler, "/console/queue?q=商户123"),
            ("handler category+dates", handler, "/console/queue?category=预付卡&from=2026-01-01&to=2026-03-31"),
            ("admin queue, all branches", admin, "/console/queue"),
            ("admin triage", admin, "/console/triage"),
        ]
        for label, staff, path in variants:
            times = sorted(timed(staff, path, args.repeat))
            p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
            print(f"{label:28s} p50 {statistics.median(times):7.1f} ms   p99 {p99:7.1f} ms   max {times[-1]:7.1f} ms")
        app.extensions["db"].engine.dispose()
    finally:
        if server:
            server.stop()


if __name__ == "__main__":
    main()
