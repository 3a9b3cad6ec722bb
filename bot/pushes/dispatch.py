"""The dispatcher: starts due pushes, expands audiences in pages, and sends deliveries in claimed batches."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from functools import partial

from flask import Flask

from bot.db import get_db, utcnow
from bot.models import Push
from bot.pushes import audience, claims, mass, report
from bot.pushes.channels import Content, api_for, content_for, send_one
from bot.pushes.results import Results, values_for
from bot.pushes.schedule import quiet_until, sync
from bot.pushes.starts import start_push
from bot.pushes.workers import Workers

log = logging.getLogger(__name__)
Progress = Callable[[Push, dict[str, int]], None]


class RateLimiter:
    """A token bucket shared by the sending threads of one process: at most `rate` calls a second."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self.next_at = time.monotonic()
        self.lock = threading.Lock()

    def wait(self) -> None:
        with self.lock:
            now = time.monotonic()
            slot = max(self.next_at, now)
            self.next_at = slot + self.interval
        if slot > now:
            time.sleep(slot - now)


class Dispatcher:
    """One sender process's view of the push work; any number may run at once on PostgreSQL."""

    def __init__(self, app: Flask, progress: Progress | None = None) -> None:
        app = getattr(app, "_get_current_object", lambda: app)()  # threads need the app, not the context proxy
        self.app, self.db, self.progress = app, get_db(app), progress
        self.cfg = claims.settings(app)
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.limiter = RateLimiter(self.cfg.rate_per_second)
        self.halt = threading.Event()  # a push-level fault (quota) stops this batch's remaining sends
        self.workers: Workers | None = None  # the sending threads, started by the first batch of a push

    def run_due(self) -> int:
        """The periodic job: sync schedules, start what is due, then work every active push. Deliveries handled."""
        with self.db.scope() as s:
            sync(s, self.app, utcnow())
        self.start_due()
        with self.db.scope() as s:
            active = claims.active_push_ids(s)
        return sum(self.work(push_id) for push_id in active)

    def start_due(self, only: int | None = None, force: bool = False) -> list[Push]:
        """Start (or resume) due pushes; quiet hours postpone them unless `force` (an editor's `run`)."""
        now = utcnow()
        with self.db.scope() as s:
            started = []
            for push in claims.due_pushes(s, now, only):
                quiet_end = None if force else quiet_until(self.app, now)
                if quiet_end is not None:
                    push.run_after = quiet_end
                    push.report = {**push.report, "postponed_to": quiet_end.isoformat(), "postponed": "免打扰时段"}
                    continue
                start_push(s, self.app, push, now, self.owner)
                started.append(push)
            return started

    def work(self, push_id: int, wait_retries: bool = False) -> int:
        """Expand (if needed) and send one push until nothing is claimable; finish it when nothing is left."""
        self.expand(push_id)
        handled = 0
        try:
            while True:
                with self.db.scope() as s:
                    push = s.get(Push, push_id)
                    if push is None or push.state != "sending":
                        return handled
                    claims.recover_stale(s, self.app, push, utcnow())
                    content = self.content(push)
                n = mass.send(self, push, content) if push.channel == "mass" else self.send_batch(push, content)
                handled += n
                if n == 0 and not self.settle(push_id, wait_retries):
                    return handled
        finally:
            if self.workers is not None:
                self.workers.close()
                self.workers = None

    def expand(self, push_id: int) -> None:
        """Turn the audience into Delivery rows, one committed page at a time, resumable from the cursor."""
        size = max(self.cfg.batch_size, 1000)
        while True:
            with self.db.scope() as s:
                push = claims.take_expansion(s, push_id, self.owner, utcnow(), self.cfg.claim_timeout_seconds)
                if push is None:
                    return
                if audience.expand_page(s, self.app, push, utcnow(), size) < size:
                    push.state, push.claimed_until = "sending", None
                    push.report = {**push.report, "expanded": True}
                    return

    def content(self, push: Push) -> Content:
        """The push's message, from its notice (checked present when the push started)."""
        return content_for(self.app, self.app.extensions["notices"].get(push.notice_slug))

    def send_batch(self, push: Push, content: Content) -> int:
        """Claim a batch of deliveries and send them concurrently within the rate; results are committed in groups."""
        claim = uuid.uuid4().hex
        with self.db.scope() as s:
            batch = claims.claim_batch(s, push.id, claim, utcnow(), self.cfg.batch_size)
        if not batch:
            return 0
        api = api_for(self.app)
        self.halt.clear()
        if self.workers is None:  # kept for the whole push: each thread keeps its connection to the platform open
            self.workers = Workers(self.cfg.concurrency)
        written = Results(self.db, claim)
        for result in self.workers.map_unordered(partial(self._send_one, api, push, content), batch):
            if result is not None:
                written.add(*result)
        written.flush()
        if self.halt.is_set():
            self.pause(push.id, self.halt_reason)
        self.report_progress(push.id)
        return len(batch)

    def _send_one(self, api, push: Push, content: Content, row) -> tuple | None:
        """Send one delivery (in a pool thread); its result for Results.add, or None to leave it to stale recovery."""
        try:
            if self.halt.is_set():  # a quota fault stopped the batch: back to pending, this claim not counted
                return row.id, row.openid, {"state": "pending", "claim": None, "attempts": row.attempts - 1}, False
            self.limiter.wait()
            outcome = send_one(self.app, api, push.channel, row.openid, content, f"push{push.id}-d{row.id}")
            if outcome.kind == "pause":
                self.halt_reason = outcome.why
                self.halt.set()
            return row.id, row.openid, values_for(outcome, row.attempts, self.cfg, utcnow()), outcome.unsubscribed
        except Exception:  # a bug must not kill the pool silently: leave the row for stale recovery, log it
            log.exception("push %s delivery %s: unexpected error", push.id, row.id)
            return None

    def pause(self, push_id: int, why: str | None) -> None:
        """Stop a push after a platform quota fault; it resumes by itself after `quota_pause_seconds`."""
        with self.db.scope() as s:
            push = s.get(Push, push_id)
            if push is not None and push.state == "sending":
                push.state, push.last_error = "paused", why
                push.run_after = utcnow() + timedelta(seconds=self.cfg.quota_pause_seconds)
                push.report = {**push.report, "pauses": push.report.get("pauses", 0) + 1}

    def settle(self, push_id: int, wait_retries: bool) -> bool:
        """Nothing claimable: finish the push if nothing is open; True to loop again (after waiting for a retry)."""
        with self.db.scope() as s:
            push = s.get(Push, push_id)
            open_counts = claims.counts(s, push_id)
            if push is None or push.state != "sending":
                return False
            if not any(open_counts.get(state) for state in claims.OPEN):
                report.finish(s, push)
                return False
            retry_at = claims.next_retry_at(s, push_id)
        if not wait_retries:
            return False
        pause = 1.0 if retry_at is None else (report.aware(retry_at) - utcnow()).total_seconds()
        time.sleep(min(max(pause, 0.05), 1.0))
        return True

    def report_progress(self, push_id: int) -> None:
        if self.progress is None:
            return
        with self.db.scope() as s:
            self.progress(s.get(Push, push_id), claims.counts(s, push_id))


def run_due(app: Flask) -> int:
    """The scheduler's periodic job (registered as `pushes`): the number of deliveries handled this tick."""
    return Dispatcher(app).run_due()
