"""Portable SQL pieces: insert-ignore and row claiming on both SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from bot.db import aware  # noqa: F401  (re-exported for this package's modules)


def insert_ignore(session: Session, model: type, rows: list[dict[str, Any]], keys: list[str]) -> int:
    """Insert rows, silently skipping those that collide on the unique `keys`; the number actually inserted."""
    if not rows:
        return 0
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(model).values(rows).on_conflict_do_nothing(index_elements=keys).returning(model.id)
    return len(session.execute(stmt).all())


def skip_locked(session: Session, stmt: Select) -> Select:
    """`FOR UPDATE SKIP LOCKED` on PostgreSQL; SQLite has one writer at a time (BEGIN IMMEDIATE) and needs none."""
    if session.get_bind().dialect.name == "postgresql":
        return stmt.with_for_update(skip_locked=True)
    return stmt
