"""/healthz: whether the database answers and its schema is current (the home page belongs to `notices`)."""

from __future__ import annotations

from flask import Blueprint, jsonify
from sqlalchemy.exc import SQLAlchemyError

from bot.db import get_db
from bot.db.migrate import revisions

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """JSON with database reachability and schema revision; 503 when the database does not answer."""
    try:
        current, head = revisions(get_db())
    except SQLAlchemyError as exc:
        return jsonify(status="error", database="unreachable", error=type(exc).__name__), 503
    ok = current == head
    body = {"status": "ok" if ok else "error", "database": "ok", "schema": current, "schema_expected": head}
    return jsonify(body), 200 if ok else 503
