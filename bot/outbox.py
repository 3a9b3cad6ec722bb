"""The outbox: slow or external work written in the same transaction as its cause, done later by the scheduler.

An item is claimed with a lease (PostgreSQL: FOR UPDATE SKIP LOCKED; SQLite: one writer at a time), run outside any
transaction, and its result is recorded, together with the handler's own bookkeeping, in one transaction that only
succeeds while the claim is still ours: a done item is never run again. Failures are retried with exponential backoff
and end as `failed` after `[outbox] max_attempts`, with the last error visible in `flask outbox list`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.config import Section
from bot.db import get_db, utcnow
from bot.models import OutboxItem
from bot.privacy import mask_text
from bot.scheduler import SchedulerSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class OutboxSettings(Section):
    """[outbox]: retries of slow work with back-off, and the lease a worker holds on a claimed job."""

    NAME: ClassVar[str] = "outbox"
    max_attempts: int = 8
    backoff_seconds: float = 30.0
    backoff_max_seconds: float = 3600.0
    lease_seconds: int = 300
    batch: int = 50


class PermanentError(Exception):
    """A failure that retrying cannot fix (bad configuration, an expired media id): the item fails at once."""


@dataclass(frozen=True)
class Job:
    """A claimed item as a handler sees it."""

    app: Flask
    id: int
    kind: str
    payload: dict[str, Any]
    lead_id: int | None
    attempts: int
    claimed_until: datetime


Runner = Callable[[Job], dict | None]
Recorder = Callable[[Session, OutboxItem, dict | None, str | None], None]


@dataclass(frozen=True)
class Spec:
    run: Runner
    record: Recorder | None


_handlers: dict[str, Spec] = {}


def handler(kind: str, *, record: Recorder | None = None) -> Callable[[Runner], Runner]:
    """Register the function that does one kind of work; `record(session, item, result, error)` runs in the
    transaction that marks the item done (error None) or finally failed (error set)."""

    def deco(fn: Runner) -> Runner:
        _handlers[kind] = Spec(fn, record)
        return fn

    return deco


def enqueue(
    session: Session, kind: str, payload: dict, *, lead_id: int | None = None, dedupe_key: str | None = None
) -> OutboxItem:
    """Add work to the session (never commits); an item with the same dedupe_key is returned instead of a second."""
    if dedupe_key:
        existing = session.execute(select(OutboxItem).where(OutboxItem.dedupe_key == dedupe_key)).scalar_one_or_none()
        if existing is not None:
            return existing
    item = OutboxItem(
        kind=kind,
        payload=json.dumps(payload, ensure_ascii=False),
        lead_id=lead_id,
        dedupe_key=dedupe_key,
        state="pending",
        attempts=0,
        next_attempt_at=utcnow(),
    )
    try:
        with session.begin_nested():
            session.add(item)
    except IntegrityError:  # another transaction added the same dedupe_key first
        return session.execute(select(OutboxItem).where(OutboxItem.dedupe_key == dedupe_key)).scalar_one()
    return item


def run_due(app: Flask, limit: int | None = None) -> int:
    """Claim the items that are due, run them and record the results; the number of items run."""
    jobs = _claim(app, limit or OutboxSettings.of(app).batch)
    for job in jobs:
        _run(app, job)
    return len(jobs)


def _claim(app: Flask, limit: int) -> list[Job]:
    db = get_db(app)
    now = utcnow()
    until = now + timedelta(seconds=OutboxSettings.of(app).lease_seconds)
    query = (
        select(OutboxItem)
        .where(OutboxItem.state == "pending", OutboxItem.next_attempt_at <= now)
        .where(or_(OutboxItem.claimed_until.is_(None), OutboxItem.claimed_until < now))
        .order_by(OutboxItem.next_attempt_at, OutboxItem.id)
        .limit(limit)
    )
    if not db.is_sqlite:  # SQLite: BEGIN IMMEDIATE already makes this the only claimer
        query = query.with_for_update(skip_locked=True)
    with db.scope() as s:
        items = s.execute(query).scalars().all()
        for item in items:
            item.claimed_until = until
        return [Job(app, i.id, i.kind, json.loads(i.payload), i.lead_id, i.attempts, until) for i in items]


def _run(app: Flask, job: Job) -> None:
    spec = _handlers.get(job.kind)
    result, error, permanent = None, None, False
    try:
        if spec is None:
            raise PermanentError(f"no handler for outbox kind {job.kind!r}")
        result = spec.run(job)
    except PermanentError as exc:
        error, permanent = str(exc), True
    except Exception as exc:  # an error may say that retrying cannot help (`retryable = False`, e.g. WeChat 40003)
        error, permanent = f"{type(exc).__name__}: {exc}", getattr(exc, "retryable", True) is False
    if error:
        error = mask_text(error)[:2000]
        log.warning("outbox item=%s kind=%s attempt=%s failed: %s", job.id, job.kind, job.attempts + 1, error)
    _record(app, job, spec, result, error, permanent)


def _record(app: Flask, job: Job, spec: Spec | None, result: dict | None, error: str | None, permanent: bool) -> None:
    settings = OutboxSettings.of(app)
    now = utcnow()
    with get_db(app).scope() as s:
        item = s.execute(select(OutboxItem).where(OutboxItem.id == job.id).with_for_update()).scalar_one_or_none()
        if item is None or item.state != "pending" or _aware(item.claimed_until) != job.claimed_until:
            log.warning("outbox item=%s: claim lost before the result was recorded", job.id)
            return
        item.attempts += 1
        item.claimed_until = None
        if error is None:
            item.state, item.done_at, item.last_error = "done", now, None
        else:
            item.last_error = error
            if permanent or item.attempts >= settings.max_attempts:
                item.state = "failed"
            else:
                item.next_attempt_at = now + timedelta(seconds=backoff(app, item.attempts))
        if spec and spec.record and item.state != "pending":
            spec.record(s, item, result, error)


def backoff(app: Flask, attempts: int) -> float:
    """Seconds before the next try after `attempts` failures: doubling from backoff_seconds, capped."""
    settings = OutboxSettings.of(app)
    return min(settings.backoff_seconds * 2 ** (attempts - 1), settings.backoff_max_seconds)


def _aware(value: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes for timezone-aware columns; they were written in UTC.
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


outbox_cli = AppGroup("outbox", help="Slow work: staff notifications, evidence downloads, replies to consumers.")


@outbox_cli.command("list")
@click.option("--state", default="failed", type=click.Choice(["failed", "pending", "done", "all"]), show_default=True)
@click.option("--limit", default=50, show_default=True)
def list_command(state: str, limit: int) -> None:
    """Show outbox items (by default those that failed) with their last error; payloads are not shown."""
    query = select(OutboxItem).order_by(OutboxItem.id.desc()).limit(limit)
    if state != "all":
        query = query.where(OutboxItem.state == state)
    with get_db(current_app).scope() as s:
        items = s.execute(query).scalars().all()
        for i in items:
            click.echo(
                f"#{i.id} {i.kind} {i.state} attempts={i.attempts} lead={i.lead_id or '-'} "
                f"next={_aware(i.next_attempt_at):%Y-%m-%d %H:%M:%S}Z error={i.last_error or '-'}"
            )
    click.echo(f"{len(items)} {state} item(s)")


@outbox_cli.command("retry")
@click.argument("item_id", type=int)
def retry_command(item_id: int) -> None:
    """Put a failed item back in the queue, due now, with a fresh count of attempts."""
    with get_db(current_app).scope() as s:
        item = s.get(OutboxItem, item_id)
        if item is None or item.state != "failed":
            raise click.ClickException(f"outbox item {item_id} is not a failed item")
        item.state, item.attempts, item.next_attempt_at = "pending", 0, utcnow()
    click.echo(f"outbox item {item_id} is queued again")


@outbox_cli.command("run")
def run_command() -> None:
    """Run the items that are due now, once."""
    click.echo(f"ran {run_due(current_app)} outbox item(s)")


def init_app(app: Flask) -> None:
    """Register `flask outbox` and the periodic job that runs the outbox."""
    from bot import scheduler

    app.cli.add_command(outbox_cli)
    scheduler.periodic(app, "outbox", SchedulerSettings.of(app).tick_seconds, run_due)
