"""APScheduler wiring: periodic jobs run only on the one scheduler that holds the lease row in the database.

`make run` starts the scheduler inside the web process; in production web processes set `[scheduler] enabled =
false` and one or more `flask scheduler` processes run it — a lease in key_value lets exactly one be active, and a
standby takes over when the lease expires. Jobs live in memory (APScheduler's MemoryJobStore, never shared between
schedulers); what is due is always read from the database.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import ClassVar

import click
from apscheduler.schedulers.background import BackgroundScheduler
from flask import Flask
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from bot import logs
from bot.config import AppSettings, Section
from bot.db import get_db, utcnow
from bot.models import KeyValue

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class SchedulerSettings(Section):
    """[scheduler]: the in-process job runner and its lease among processes."""

    NAME: ClassVar[str] = "scheduler"
    enabled: bool = True
    lease_seconds: int = 30
    tick_seconds: float = 5.0


LEASE_KEY = "scheduler.lease"
Job = Callable[[Flask], object]


def periodic(app: Flask, job_id: str, seconds: float, func: Job, first_after: float | None = None) -> None:
    """Register a periodic job: func(app) runs in an app context, only while this process holds the lease; first
    `first_after` seconds after the scheduler starts when given, else one period after."""
    app.extensions.setdefault("periodic_jobs", {})[job_id] = (seconds, func, first_after)


def init_app(app: Flask) -> None:
    """Register `flask scheduler`; start the in-process scheduler when configured and serving."""
    app.cli.add_command(scheduler_command)
    if SchedulerSettings.of(app).enabled and _serving():
        start(app)


def _serving() -> bool:
    # Not in one-off commands (`flask db upgrade`, `flask notices check`, ...): only `flask run` or a WSGI server.
    if Path(sys.argv[0]).name != "flask":
        return True
    return "run" in [a for a in sys.argv[1:] if not a.startswith("-")][:3]


class Lease:
    """The single-scheduler lease: a key_value row naming its holder until it expires."""

    def __init__(self, app: Flask, seconds: int) -> None:
        self.app = app
        self.seconds = seconds
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.held = False

    def renew(self) -> bool:
        """Take or extend the lease; True when this process holds it now."""
        now = utcnow()
        try:
            with get_db(self.app).scope() as s:
                row = s.execute(
                    select(KeyValue).where(KeyValue.key == LEASE_KEY).with_for_update()
                ).scalar_one_or_none()
                if row is None:
                    row = KeyValue(key=LEASE_KEY, value=self.owner)
                    s.add(row)
                elif row.value != self.owner and row.expires_at and _aware(row.expires_at) > now:
                    self._set(False)
                    return False
                row.value = self.owner
                row.expires_at = now + timedelta(seconds=self.seconds)
        except IntegrityError:  # another process inserted the row first
            self._set(False)
            return False
        self._set(True)
        return True

    def release(self) -> None:
        """Give the lease up at shutdown so a standby need not wait for it to expire."""
        with get_db(self.app).scope() as s:
            row = s.get(KeyValue, LEASE_KEY)
            if row is not None and row.value == self.owner:
                row.expires_at = utcnow()
        self.held = False

    def _set(self, held: bool) -> None:
        if held != self.held:
            log.info("scheduler lease %s by %s", "taken" if held else "held elsewhere, standing by", self.owner)
        self.held = held


def _aware(value):
    # SQLite returns naive datetimes for timezone-aware columns; they were written in UTC.

    return value if value.tzinfo else value.replace(tzinfo=UTC)


def start(app: Flask) -> BackgroundScheduler:
    """Start APScheduler in a background thread with the lease job and every registered periodic job."""
    settings = SchedulerSettings.of(app)
    lease = Lease(app, settings.lease_seconds)
    sched = BackgroundScheduler(timezone=AppSettings.of(app).timezone)
    sched.add_job(
        lease.renew,
        "interval",
        seconds=max(1, settings.lease_seconds / 3),
        id="lease",
        next_run_time=datetime.now(UTC),  # APScheduler's timer runs on the system clock, not the app's
        max_instances=1,
        coalesce=True,
    )
    first_runs: list[threading.Event] = []  # the jobs that run soon after the start: the banner waits for them
    for job_id, (seconds, func, first_after) in app.extensions.get("periodic_jobs", {}).items():
        first = {} if first_after is None else {"next_run_time": datetime.now(UTC) + timedelta(seconds=first_after)}
        ran = threading.Event()
        if first_after is not None:
            first_runs.append(ran)
        sched.add_job(
            _guarded,
            "interval",
            seconds=seconds,
            id=job_id,
            args=(app, lease, job_id, func, ran),
            max_instances=1,
            coalesce=True,
            misfire_grace_time=max(1, int(seconds)),
            **first,
        )
    sched.start()
    app.extensions["scheduler"] = (sched, lease)
    logs.settle_first(app, lambda timeout: _wait_all(first_runs, timeout))
    return sched


def _wait_all(events: list[threading.Event], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    for event in events:
        event.wait(max(0.0, deadline - time.monotonic()))


def _guarded(app: Flask, lease: Lease, job_id: str, func: Job, ran: threading.Event | None = None) -> None:
    try:
        if not lease.held:
            return
        started = time.perf_counter()
        try:
            with app.app_context():
                result = func(app)
        except Exception:
            log.exception("job=%s failed", job_id)
            return
        if result:
            log.info("job=%s result=%s ms=%.0f", job_id, result, (time.perf_counter() - started) * 1000)
    finally:
        if ran is not None:
            ran.set()


@click.command("scheduler")
def scheduler_command() -> None:
    """Run the scheduler in this process (production: one or more; the lease keeps one active)."""
    from flask import current_app

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    sched = start(app)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    jobs = ", ".join(app.extensions.get("periodic_jobs", {})) or "none"
    click.echo(f"scheduler running (jobs: {jobs}); Ctrl-C to stop")
    stop.wait()
    sched.shutdown(wait=True)
    app.extensions["scheduler"][1].release()
    click.echo("scheduler stopped")
