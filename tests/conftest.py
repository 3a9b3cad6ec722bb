"""Fixtures: an app on SQLite and on a real PostgreSQL server started for the test session."""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import subprocess
import tempfile
import weakref
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, event, text

from bot import clock as app_clock
from bot import create_app, scheduler
from bot.db import Database
from bot.db.later import flush_all
from bot.db.migrate import upgrade
from tests.timekeeping import START

TEST_DATA_KEY = "8J4r0c4d0B2m8k4cZ0xv2yqS1m9l9Xb0o4QnF8p7mU4="

BASE_CONFIG = {
    "app": {"secret_key": "test-secret-key", "data_key": TEST_DATA_KEY, "public_url": "http://localhost"},
    "wechat": {
        "app_id": "wxtestappid0000001",
        "app_secret": "test-app-secret",
        "token": "test-token",
        "encoding_aes_key": "",
        "api_base_url": "http://127.0.0.1:9/cgi-bin/",
    },
    "database": {"url": "sqlite://"},
    "scheduler": {"enabled": False},
}


def make_config(db_url: str, **sections: dict) -> dict:
    """The test settings on db_url, with sections merged key by key over the base."""
    cfg = {name: dict(values) for name, values in BASE_CONFIG.items()}
    cfg["database"]["url"] = db_url
    for name, values in sections.items():
        cfg.setdefault(name, {}).update(values)
    return cfg


@pytest.fixture(autouse=True)
def clock():
    """Every test starts at the same instant (tests/timekeeping.py: START), ticking; the system clock after it."""
    app_clock.set_now(START, tick=True)
    yield app_clock
    app_clock.reset()


@pytest.fixture(autouse=True)
def _tidy(monkeypatch):
    """After each test, passed or failed: stop the in-process schedulers its apps started (an app on the shipped
    config starts one) and dispose every engine it used. Otherwise a scheduler thread keeps running on a database
    that is gone, and a psycopg connection left in a pool is closed by the garbage collector during a later test,
    whose run then fails on a ResourceWarning."""
    used: weakref.WeakSet = weakref.WeakSet()
    started = []
    start = scheduler.start

    def seen(conn) -> None:
        used.add(conn.engine)

    def recorded(app):
        started.append(start(app))
        return started[-1]

    monkeypatch.setattr(scheduler, "start", recorded)
    event.listen(Engine, "engine_connect", seen)
    yield
    event.remove(Engine, "engine_connect", seen)
    for sched in started:
        if sched.running:
            sched.shutdown(wait=True)
    for engine in list(used):
        engine.dispose()


@pytest.fixture
def system_clock(clock):
    """For tests whose other processes (servers, schedulers, senders) read the system clock: this process reads it
    too, so that signatures, leases and claims agree. Such tests are about processes, not about the date."""
    clock.reset()
    return clock


# ---------------------------------------------------------------- PostgreSQL, started for the session


def _pg_bindir() -> Path | None:
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).resolve().parent
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    return candidates[-1].parent if candidates else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresServer:
    """A throwaway PostgreSQL cluster in a temporary directory, on a free loopback port."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.dir = Path(tempfile.mkdtemp(prefix="bot-pg-"))
        self.port = _free_port()
        self.as_postgres = os.geteuid() == 0  # initdb refuses to run as root

    def _run(self, *args: str) -> None:
        cmd = [str(self.bindir / args[0]), *args[1:]]
        if self.as_postgres:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        subprocess.run(cmd, check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        data = self.dir / "data"
        if self.as_postgres:
            shutil.chown(self.dir, "postgres")
        self._run("initdb", "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8")
        opts = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off"
        opts += " -c full_page_writes=off -c max_connections=300"
        self._run("pg_ctl", "-D", str(data), "-o", opts, "-l", str(self.dir / "log"), "-w", "start")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.dir / "data"), "-m", "immediate", "stop")
        shutil.rmtree(self.dir, ignore_errors=True)

    def url(self, dbname: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{dbname}"


PG_UNAVAILABLE: list[str] = []


def pytest_configure(config: pytest.Config) -> None:
    if os.environ.get("BOT_TEST_NO_PG"):
        PG_UNAVAILABLE.append("BOT_TEST_NO_PG is set")
    elif _pg_bindir() is None:
        PG_UNAVAILABLE.append("no PostgreSQL server binaries (pg_ctl, initdb): run `make test` as root to install")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not PG_UNAVAILABLE:
        return
    marker = pytest.mark.skip(reason=f"PostgreSQL half skipped: {PG_UNAVAILABLE[0]}")
    for item in items:
        if "[postgresql" in item.nodeid or item.get_closest_marker("production_shape"):
            item.add_marker(marker)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if PG_UNAVAILABLE:
        terminalreporter.write_sep("!", f"POSTGRESQL TESTS SKIPPED: {PG_UNAVAILABLE[0]}", red=True, bold=True)


@pytest.fixture(scope="session")
def pg_server():
    """The session's PostgreSQL server with a migrated template database."""
    server = PostgresServer(_pg_bindir())
    server.start()
    engine = create_engine(server.url("postgres"), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("CREATE DATABASE bot_template"))
    engine.dispose()
    db = Database(server.url("bot_template"))
    upgrade(db)
    db.dispose()
    server.admin = create_engine(server.url("postgres"), isolation_level="AUTOCOMMIT")
    yield server
    server.admin.dispose()
    server.stop()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    """A migrated SQLite file that each test copies."""
    path = tmp_path_factory.mktemp("sqlite") / "template.db"
    db = Database(f"sqlite:///{path}")
    upgrade(db)
    db.dispose()  # closing the last connection checkpoints the WAL into the file
    return path


_counter = itertools.count()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    """A fresh, migrated database for one test: a copied SQLite file, or a PostgreSQL database from the template."""
    if request.param == "sqlite":
        path = tmp_path / "bot.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        flush_all()  # the records written after the answer (bot/db/later.py), before the database goes
        return
    server = request.getfixturevalue("pg_server")
    name = f"bot_test_{os.getpid()}_{next(_counter)}"
    with server.admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name} TEMPLATE bot_template"))
    yield server.url(name)
    flush_all()
    with server.admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


@pytest.fixture
def app(db_url):
    """The app on a fresh database (each test runs on SQLite and on PostgreSQL)."""
    application = create_app(make_config(db_url))
    yield application
    application.extensions["db"].engine.dispose()


@pytest.fixture
def standin(tmp_path, sqlite_template):
    """The WeChat platform stand-in (tests/standin.py): the sandbox API side on a loopback port, with faults."""
    from tests.standin import Standin

    path = tmp_path / "standin.db"
    shutil.copy(sqlite_template, path)
    server = Standin(path)
    yield server
    server.close()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def make_app(db_url, standin, tmp_path):
    """Build apps on the test's database pointed at the standin (pushes' settings as keywords); disposed at the end."""
    from tests.pushes_helpers import push_config

    made = []

    def build(wechat: dict | None = None, **pushes):
        app = create_app(push_config(db_url, standin, tmp_path, wechat, **pushes))
        made.append(app)
        return app

    yield build
    for app in made:
        app.extensions["db"].engine.dispose()
