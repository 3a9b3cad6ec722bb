"""Hot-path statements: built once with Core, compiled once per dialect, run through the session's connection.

Every message runs a handful of small statements. Built per call through the ORM, each one paid the ORM's
bulk-persistence bookkeeping, a cache-key walk and the compiled-cache look-up, about a third of a millisecond each
(bench/profiles/01-orm-dml.txt). A `Prepared` statement is a Core construct compiled once for a dialect; a call
converts its parameters with the columns' own bind processors (so datetimes, JSON and EncryptedText are stored exactly
as the ORM stores them) and hands the SQL to the driver on the session's connection: the same transaction, the same
engine events (BEGIN IMMEDIATE on SQLite).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.orm import Session
from sqlalchemy.sql import Executable


def dialect_insert(dialect: str, table: Table):
    """The dialect's INSERT (with on_conflict_do_update / on_conflict_do_nothing) for `table`."""
    return (postgresql if dialect == "postgresql" else sqlite).insert(table)


class _Compiled:
    """One statement compiled for one dialect: its SQL, parameter order and type processors."""

    def __init__(self, stmt: Executable, dialect: Dialect) -> None:
        compiled = stmt.compile(dialect=dialect)
        self.sql = str(compiled)
        self.positional = compiled.positiontup
        binds = {name: bind for bind, name in compiled.bind_names.items()}
        self.names = list(self.positional) if self.positional is not None else list(binds)
        self.defaults = {name: binds[name].effective_value for name in self.names}
        processors = {name: binds[name].type._cached_bind_processor(dialect) for name in self.names}
        # Python-side column defaults (created_at=utcnow, ...) are computed per call, as the ORM would.
        self.computed = {}
        for column in [*compiled.insert_prefetch, *compiled.update_prefetch]:
            default = column.default if column.key in binds else None
            if default is not None and (default.is_callable or default.is_scalar):
                self.computed[column.key] = default
        self.processors = {name: p for name, p in processors.items() if p is not None}
        # Per parameter, once: (name, its type's processor, its Python-side default, its literal value).
        self._plan = [
            (name, self.processors.get(name), self.computed.get(name), self.defaults[name])
            for name in dict.fromkeys(self.names)
        ]
        columns = getattr(stmt, "exported_columns", ())
        self.results = [c.type._cached_result_processor(dialect, None) for c in columns]

    def params(self, given: Mapping[str, Any]) -> tuple | dict:
        values = {}
        for name, processor, default, literal in self._plan:
            if name in given:
                value = given[name]
            elif default is not None:
                value = default.arg(None) if default.is_callable else default.arg
            else:
                value = literal
            values[name] = processor(value) if processor is not None and value is not None else value
        if self.positional is not None:
            return tuple(values[name] for name in self.positional)
        return values

    def row(self, raw: tuple | None) -> tuple | None:
        if raw is None:
            return None
        return tuple(p(v) if p is not None else v for p, v in zip(self.results, raw, strict=True))


class Prepared:
    """A statement built by `build(dialect_name)` once per dialect and compiled once; see the module docstring."""

    def __init__(self, build: Callable[[str], Executable]) -> None:
        self.build = build
        self._by_dialect: dict[str, _Compiled] = {}
        self._lock = threading.Lock()

    def _compiled(self, conn: Connection) -> _Compiled:
        return self.for_dialect(conn.dialect)

    def for_dialect(self, dialect: Dialect) -> _Compiled:
        """The statement compiled for `dialect` (once)."""
        found = self._by_dialect.get(dialect.name)
        if found is None:
            with self._lock:
                found = self._by_dialect.get(dialect.name) or _Compiled(self.build(dialect.name), dialect)
                self._by_dialect[dialect.name] = found
        return found

    def execute(self, session: Session, **params: Any) -> None:
        """Run the statement in the session's transaction."""
        conn = session.connection()
        compiled = self._compiled(conn)
        conn.exec_driver_sql(compiled.sql, compiled.params(params))

    def first(self, session: Session, **params: Any) -> tuple | None:
        """Run the statement and return its first row (values converted like the ORM's), or None (also for a
        statement that returns no rows)."""
        conn = session.connection()
        compiled = self._compiled(conn)
        result = conn.exec_driver_sql(compiled.sql, compiled.params(params))
        return compiled.row(result.fetchone()) if compiled.results else None

    def scalar(self, session: Session, **params: Any) -> Any:
        """The first column of the first row, or None."""
        row = self.first(session, **params)
        return None if row is None else row[0]

    def run(self, conn: Connection, **params: Any) -> tuple | None:
        """`fetch` on a new cursor of `conn` (a Connection already in its transaction)."""
        cursor = conn.connection.cursor()
        try:
            return self.fetch(cursor, conn.dialect, **params)
        finally:
            cursor.close()

    def many(self, cursor: Any, dialect: Dialect, rows: list[Mapping[str, Any]]) -> None:
        """Run the statement once per parameter set in `rows`, in one driver call (results are discarded): SQLite's
        loop in C, psycopg's pipeline (one round trip for the batch)."""
        if rows:
            compiled = self.for_dialect(dialect)
            cursor.executemany(compiled.sql, [compiled.params(row) for row in rows])

    def fetch(self, cursor: Any, dialect: Dialect, **params: Any) -> tuple | None:
        """Run the statement on a DBAPI cursor of a connection already in a transaction; its first row, or None.

        The webhook's path (bot/wechat/inbox.py): no Connection.execute bookkeeping at all, only the driver.
        """
        compiled = self.for_dialect(dialect)
        cursor.execute(compiled.sql, compiled.params(params))
        return compiled.row(cursor.fetchone()) if compiled.results else None
