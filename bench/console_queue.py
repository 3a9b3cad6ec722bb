"""Time the console's work queue and statistics at 100,000 leads: seed, sign in, request each variant many times.

Usage: .venv/bin/python bench/console_queue.py [--leads 100000] [--repeat 200] [--pg] [--only TEXT]
                                               [--profile OUT.txt]
SQLite in a temporary file by default; --pg starts a throwaway PostgreSQL server (as the tests do).
Prints one line per variant: p50 / p99 / max in milliseconds, measured in-process through the Flask test client
(the whole request: session, SQL, working-day arithmetic, template rendering). --only keeps the variants whose label
contains TEXT; --profile runs them under cProfile instead and writes the top of the profile (cumulative and own
time) to OUT.txt.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert, select

from bot import create_app
from bot.console import planner
from bot.leads.workflow import ALL_STATUSES, CLOSED_STATUSES
from bot.models import Lead, LeadEvent
from bot.privacy import encrypt
from tests.conftest import PostgresServer, _pg_bindir, make_config
from tests.console_support import Staff, add_staff

BRANCHES = [f"branch{i:02d}" for i in range(20)]
ACCEPTED = ("已受理", "调解中", "已办结", "终止调解")
CATEGORIES = ["食品安全", "预付卡", "网络购物", "装修建材", "汽车", "医疗美容", "教育培训", "其他"]


def seed(app, count: int) -> None:
    """Insert `count` leads in batches (personal fields encrypted once and reused: same cost to read), then one
    status event per lead that has left 新线索 (what the statistics' step counts read)."""
    rng, later = random.Random(7), random.Random(11)  # `later`: dates the statistics read, apart from the queue's
    name, phone, address = encrypt("张三"), encrypt("13800138000"), encrypt("某市某路1号")
    today = date(2026, 5, 20)
    engine = app.extensions["db"].engine
    batch = []
    with engine.begin() as conn:
        for i in range(count):
            received = today - timedelta(days=rng.randint(0, 365))
            status = rng.choice(ALL_STATUSES)
            due = received + timedelta(days=rng.randint(5, 70)) if status in ALL_STATUSES[:5] else None
            accepted = received + timedelta(days=later.randint(1, 7)) if status in ACCEPTED else None
            closed = received + timedelta(days=later.randint(1, 60)) if status in CLOSED_STATUSES else None
            batch.append(
                {"ticket": f"T{i:08d}", "kind": rng.choice(("complaint", "report")), "status": status,
                 "category": rng.choice(CATEGORIES), "branch": rng.choice(BRANCHES) if i % 50 else None,
                 "business_name": f"商户{rng.randint(1, 20000)}号", "received_on": received, "next_due": due,
                 "accepted_on": accepted, "closed_on": closed,
                 "name": name, "phone": phone, "address": address, "facts": "事实", "extra": {}}
            )  # fmt: skip
            if len(batch) == 5000:
                conn.execute(insert(Lead.__table__).execution_options(render_nulls=True), batch)
                batch = []
        if batch:
            conn.execute(insert(Lead.__table__).execution_options(render_nulls=True), batch)
        seed_events(conn)


def seed_events(conn) -> None:
    """A status event for every lead past 新线索, dated on its closing or acceptance day (or a week after receipt),
    with the lead's kind as bot/workflow.py writes it."""
    rows = conn.execute(select(Lead.id, Lead.kind, Lead.status, Lead.received_on, Lead.accepted_on, Lead.closed_on))
    events = []
    for lead_id, kind, status, received, accepted, closed in rows.all():
        if status == "新线索":
            continue
        day = closed or accepted or received + timedelta(days=7)
        at = datetime(day.year, day.month, day.day, 2, tzinfo=UTC)
        event = {"lead_id": lead_id, "at": at, "kind": "status", "status": status, "lead_kind": kind, "detail": {}}
        events.append(event)
        if len(events) == 5000:
            conn.execute(insert(LeadEvent.__table__), events)
            events = []
    if events:
        conn.execute(insert(LeadEvent.__table__), events)


def settle(app) -> None:
    """Planner statistics as a running service has them: on SQLite the scheduler's ANALYZE (bot/console/planner.py),
    on PostgreSQL what autovacuum does within a minute of a bulk load (VACUUM ANALYZE, here at once).

    The throwaway server runs with synchronous_commit=off, and a VACUUM right after the seed's commit marks no page
    all-visible (the seed's rows carry no hint bits until its commit record is flushed), so every index-only scan
    would still read the table (relallvisible stayed 0 in step 9's measurements). Repeat VACUUM until the lead table
    is all-visible, as autovacuum, a minute later, would leave it."""
    if not planner.refresh(app):
        with app.extensions["db"].engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            visible = "SELECT relallvisible >= relpages FROM pg_class WHERE relname = 'lead'"
            for _ in range(25):
                conn.exec_driver_sql("VACUUM ANALYZE")
                if conn.exec_driver_sql(visible).scalar():
                    break
                time.sleep(0.2)


def timed(staff: Staff, url: str, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        response = staff.get(url)
        out.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    return out


def variants(handler: Staff, admin: Staff) -> list[tuple[str, Staff, str]]:
    """Every page timed: the queue's common shapes and the statistics (the seed's last 83 days, and its whole year)."""
    recent, year = "from=2026-02-27&to=2026-05-20", "from=2025-05-20&to=2026-05-20"
    return [
        ("handler queue (page 1)", handler, "/console/queue"),
        ("handler queue page 20", handler, "/console/queue?page=20"),
        ("handler overdue filter", handler, "/console/queue?overdue=1"),
        ("handler search business", handler, "/console/queue?q=商户123"),
        ("handler category+dates", handler, "/console/queue?category=预付卡&from=2026-01-01&to=2026-03-31"),
        ("admin queue, all branches", admin, "/console/queue"),
        ("admin queue page 200", admin, "/console/queue?page=200"),
        ("admin triage", admin, "/console/triage"),
        ("handler statistics, 83 days", handler, f"/console/stats?{recent}"),
        ("admin statistics, 83 days", admin, f"/console/stats?{recent}"),
        ("admin statistics, a year", admin, f"/console/stats?{year}"),
    ]


def measure(chosen: list[tuple[str, Staff, str]], repeat: int) -> None:
    """Print p50 / p99 / max of each variant."""
    for label, staff, path in chosen:
        times = sorted(timed(staff, path, repeat))
        p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
        print(f"{label:28s} p50 {statistics.median(times):7.1f} ms   p99 {p99:7.1f} ms   max {times[-1]:7.1f} ms")


def profile(chosen: list[tuple[str, Staff, str]], repeat: int, out: Path, title: str) -> None:
    """Run the variants under cProfile and write the top 40 functions by cumulative and by own time."""
    for _label, staff, path in chosen:
        timed(staff, path, 3)  # warm: templates compiled, statements cached
    profiler = cProfile.Profile()
    profiler.enable()
    for _label, staff, path in chosen:
        timed(staff, path, repeat)
    profiler.disable()
    text = io.StringIO()
    text.write(f"{title}\nvariants: {', '.join(label for label, _s, _p in chosen)}; {repeat} requests each\n")
    for key in ("cumulative", "tottime"):
        pstats.Stats(profiler, stream=text).strip_dirs().sort_stats(key).print_stats(40)
    out.write_text(text.getvalue())
    print(f"wrote {out}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--pg", action="store_true", help="run on a throwaway PostgreSQL server")
    parser.add_argument("--only", default="", help="time only the variants whose label contains this text")
    parser.add_argument("--profile", type=Path, help="write the top of a cProfile of the variants to this file")
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
        settle(app)
        where = "PostgreSQL" if args.pg else "SQLite"
        print(f"seeded {args.leads} leads in {time.perf_counter() - started:.1f}s on {where}")
        add_staff(app, "handler", "handler", "branch03")
        add_staff(app, "admin", "admin")
        chosen = [v for v in variants(Staff(app, "handler"), Staff(app, "admin")) if args.only in v[0]]
        if args.profile:
            title = f"bench/console_queue.py on {where}, {args.leads} leads"
            profile(chosen, args.repeat, args.profile, title)
        else:
            measure(chosen, args.repeat)
        app.extensions["db"].engine.dispose()
    finally:
        if server:
            server.stop()


if __name__ == "__main__":
    main()
