"""The single-scheduler lease: one holder at a time, a standby takes over when the lease expires."""

from __future__ import annotations

import time

from bot.db import get_db
from bot.models import KeyValue
from bot.scheduler import LEASE_KEY, Lease, periodic, start


def test_only_one_lease_holder_and_takeover_after_expiry(app):
    first, second = Lease(app, seconds=1), Lease(app, seconds=1)
    assert first.renew() is True
    assert second.renew() is False
    assert first.renew() is True  # the holder extends its own lease
    time.sleep(1.2)
    assert second.renew() is True  # expired: the standby takes over
    assert first.renew() is False
    with get_db(app).scope() as s:
        assert s.get(KeyValue, LEASE_KEY).value == second.owner


def test_release_lets_a_standby_take_over_at_once(app):
    first, second = Lease(app, seconds=60), Lease(app, seconds=60)
    assert first.renew()
    first.release()
    assert second.renew()


def test_periodic_jobs_run_only_on_the_lease_holder(app):
    ran = []
    periodic(app, "probe", 0.2, lambda a: ran.append(a.name))
    sched = start(app)
    try:
        deadline = time.monotonic() + 5
        while not ran and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        sched.shutdown(wait=True)
    assert ran, "the periodic job never ran on the lease holder"


def test_a_standby_scheduler_runs_no_jobs(app):
    holder = Lease(app, seconds=60)
    assert holder.renew()
    ran = []
    periodic(app, "probe", 0.2, lambda a: ran.append(1))
    sched = start(app)
    try:
        time.sleep(1.0)
    finally:
        sched.shutdown(wait=True)
    assert ran == []
    assert app.extensions["scheduler"][1].held is False
