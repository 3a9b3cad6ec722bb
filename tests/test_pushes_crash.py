"""Exactly once across crashes: a sender killed with SIGKILL mid-push, two schedulers, two senders at once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from bot import create_app
from bot.db import get_db
from bot.models import Delivery, Push
from bot.pushes.dispatch import Dispatcher
from tests.pushes_helpers import FAST, add_followers, push_config, received, schedule, write_config

ROOT = Path(__file__).resolve().parent.parent


def child(config: Path, *args: str) -> subprocess.Popen:
    """`flask --app bot ...` in its own process on the same database and standin."""
    env = {
        **os.environ,
        "APP_CONFIG": str(config),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    flask = str(Path(sys.executable).parent / "flask")
    return subprocess.Popen(
        [flask, "--app", "bot", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


@pytest.fixture
def setup(db_url, standin, tmp_path, system_clock):
    cfg = push_config(db_url, standin, tmp_path, concurrency=4, batch_size=20)
    cfg["scheduler"] = {"enabled": False, "tick_seconds": 0.3, "lease_seconds": 3}
    app = create_app(cfg)
    yield app, write_config(tmp_path, cfg)
    app.extensions["db"].engine.dispose()


def _wait_for(predicate, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_sender_killed_mid_push_and_restarted_sends_each_recipient_exactly_once(setup, standin):
    app, config = setup
    openids = add_followers(app, 200, standin=standin)
    push_id = schedule(app)
    standin.delay(0.02)
    proc = child(config, "pushes", "run", str(push_id))
    try:
        _wait_for(lambda: len(standin.calls("message/template/send")) >= 60 or proc.poll() is not None)
    finally:
        proc.send_signal(signal.SIGKILL)
        output = proc.communicate(timeout=10)[0].decode()
    assert proc.returncode == -signal.SIGKILL, output
    with get_db(app).scope() as s:
        left = s.scalars(select(Delivery.state).where(Delivery.push_id == push_id)).all()
    assert "sending" in left or "pending" in left  # it really died in the middle
    time.sleep(FAST["claim_timeout_seconds"] + 0.1)
    result = app.test_cli_runner().invoke(args=["pushes", "run", str(push_id)])
    assert result.exit_code == 0, result.output
    assert received(standin) == dict.fromkeys(openids, 1)
    with get_db(app).scope() as s:
        assert s.get(Push, push_id).state == "done"


def test_two_schedulers_started_at_once_one_sends(setup, standin):
    app, config = setup
    openids = add_followers(app, 60, standin=standin)
    push_id = schedule(app)
    procs = [child(config, "scheduler") for _ in range(2)]
    try:

        def done() -> bool:
            with get_db(app).scope() as s:
                return s.get(Push, push_id).state == "done"

        _wait_for(done, 60)
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        outputs = [proc.communicate(timeout=20)[0].decode() for proc in procs]
    assert received(standin) == dict.fromkeys(openids, 1)
    holders = [out for out in outputs if "lease taken" in out]
    assert len(holders) == 1, outputs


def test_two_senders_share_one_push_without_sending_twice(setup, standin):
    app, _ = setup
    openids = add_followers(app, 150, standin=standin)
    push_id = schedule(app)
    standin.delay(0.01)
    Dispatcher(app).start_due()
    workers = [threading.Thread(target=Dispatcher(app).work, args=(push_id, True)) for _ in range(2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
    assert received(standin) == dict.fromkeys(openids, 1)
    with get_db(app).scope() as s:
        assert s.get(Push, push_id).state == "done"
