"""SQLite's query-planner statistics, refreshed by the scheduler (on PostgreSQL autovacuum keeps them by itself).

Without statistics SQLite guesses that an equality on `status` beats any other index, and the console's queue and
statistics then read and sort every open lead on each request; with them it reads the queue in deadline order from
`ix_lead_queue` and the statistics from their covering indexes (bench/README.md, "Before and after": the console at
100,000 leads).
"""

from __future__ import annotations

from flask import Flask

from bot import scheduler
from bot.db import get_db

INTERVAL_SECONDS = 6 * 3600


def refresh(app: Flask) -> bool:
    """ANALYZE the SQLite database (~0.2 s at 100,000 leads); True when it ran, False on PostgreSQL."""
    db = get_db(app)
    if not db.is_sqlite:
        return False
    with db.work_engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")
    return True


def init_app(app: Flask) -> None:
    """Register the refresh as a periodic job of the leased scheduler."""
    scheduler.periodic(app, "sqlite_analyze", INTERVAL_SECONDS, refresh)
