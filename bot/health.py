"""/healthz: whether the database answers and its schema is current (the home page belongs to `notices`).

It answers within DEADLINE seconds whatever the database does: the check runs in a thread of its own and a check
still waiting then is a 503. It reads without the writers' lock, then asks for a moment for what storing a message
needs and gives it back at once (SQLite: the write lock; PostgreSQL: the message tables' write lock): when another
process holds it, messages cannot be stored, and that is a 503.
"""

from __future__ import annotations

import threading

from flask import Blueprint, jsonify
from sqlalchemy import column, select, table

from bot.db import Database, get_db
from bot.db.migrate import head_revision
from bot.db.statements import Prepared

bp = Blueprint("health", __name__)
DEADLINE = 2.0  # seconds
_REVISION = Prepared(lambda _: select(column("version_num")).select_from(table("alembic_version")))


def current_revision(db: Database) -> str | None:
    """The schema revision recorded in the database (None for an empty one), read without taking the write lock."""
    try:
        row = db.read_one(_REVISION)
    except Exception as exc:  # SQLAlchemy's error, or the driver's own on SQLite's read-only connection
        if "alembic_version" in str(exc):  # an empty database: no migration has run
            return None
        raise
    return row[0] if row else None


@bp.get("/healthz")
def healthz():
    """JSON with database reachability and schema revision; 503 when the database does not answer in time."""
    db, found = get_db(), {}

    def check() -> None:
        try:
            found["current"] = current_revision(db)
            found["writable"] = db.can_write(DEADLINE * 0.75)
        except Exception as exc:  # reported, whatever it is
            found["error"] = type(exc).__name__

    worker = threading.Thread(target=check, name="healthz", daemon=True)
    worker.start()
    worker.join(DEADLINE)
    if worker.is_alive():
        return jsonify(status="error", database="timeout", error=f"no answer within {DEADLINE:g} s"), 503
    if "error" in found:
        return jsonify(status="error", database="unreachable", error=found["error"]), 503
    if not found["writable"]:  # messages cannot be stored now: another process holds the database
        return jsonify(status="error", database="locked", error="another process holds the write lock"), 503
    current, head = found["current"], head_revision(db)
    ok = current == head
    body = {"status": "ok" if ok else "error", "database": "ok", "schema": current, "schema_expected": head}
    return jsonify(body), 200 if ok else 503
