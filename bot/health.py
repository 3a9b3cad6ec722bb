"""The home page and /healthz: what the service is, and whether its database answers."""

from __future__ import annotations

from flask import Blueprint, jsonify, render_template
from sqlalchemy.exc import SQLAlchemyError

from bot.db import get_db, revisions

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


@bp.get("/")
def home():
    """The home page: what the service is and where to go."""
    return render_template("home.html")
