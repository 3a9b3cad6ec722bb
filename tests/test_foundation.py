"""The foundation: configuration errors, the schema kept at head, /healthz, and the start contract."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from bot import create_app
from bot.config import AppSettings, ConfigError
from bot.db import Base, Database, get_db
from bot.db.migrate import revisions, upgrade
from bot.wechat.settings import WechatSettings
from tests.conftest import make_config

ROOT = Path(__file__).resolve().parent.parent


def _write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(body, encoding="utf-8")
    return path


def _load_from(path: Path, monkeypatch) -> None:
    monkeypatch.setenv("APP_CONFIG", str(path))
    create_app()


MINIMAL = """
[wechat]
app_id = "wxminimal000000001"
app_secret = "s"
token = "tok"
encoding_aes_key = ""

[database]
url = "sqlite:///{db}"
"""


def test_bad_toml_names_the_file_and_line(tmp_path, monkeypatch):
    path = _write(tmp_path, "[wechat\napp_id = 1\n")
    with pytest.raises(ConfigError) as err:
        _load_from(path, monkeypatch)
    message = err.value.format_message()
    assert str(path) in message and "line 1" in message and "\n" not in message


def test_wrong_type_names_the_key(tmp_path, monkeypatch):
    body = MINIMAL.format(db=tmp_path / "x.db") + 'auto_migrate = "yes"\n'
    with pytest.raises(ConfigError) as err:
        _load_from(_write(tmp_path, body), monkeypatch)
    assert "[database] auto_migrate: must be bool" in err.value.format_message()


def test_unknown_database_scheme_names_the_key(tmp_path, monkeypatch):
    body = MINIMAL.replace("sqlite:///{db}", "mysql://u@h/db")
    with pytest.raises(ConfigError) as err:
        _load_from(_write(tmp_path, body), monkeypatch)
    assert "[database] url: unknown scheme 'mysql'" in err.value.format_message()


def test_missing_required_key_names_it(tmp_path, monkeypatch):
    body = MINIMAL.format(db=tmp_path / "x.db").replace('token = "tok"\n', "")
    with pytest.raises(ConfigError) as err:
        _load_from(_write(tmp_path, body), monkeypatch)
    assert "[wechat] token: is required" in err.value.format_message()


def test_bad_aes_key_length_is_refused():
    cfg = make_config("sqlite://", wechat={"encoding_aes_key": "short"})
    with pytest.raises(ConfigError, match=r"\[wechat\] encoding_aes_key: must be 43 characters"):
        create_app(cfg)


def test_environment_overrides_a_secret(tmp_path, monkeypatch):
    monkeypatch.setenv("WECHAT_APP_SECRET", "from-env")
    app = create_app(make_config(f"sqlite:///{tmp_path / 'e.db'}"))
    assert WechatSettings.of(app).app_secret == "from-env"


def test_production_refuses_missing_secrets_and_the_sandbox(tmp_path):
    db = f"sqlite:///{tmp_path / 'p.db'}"
    cfg = make_config(db, app={"production": True, "secret_key": "", "data_key": ""})
    with pytest.raises(ConfigError, match=r"\[app\] secret_key: is required in production"):
        create_app(cfg)
    cfg = make_config(db, app={"production": True, "secret_key": "9f" * 32}, wechat={"sandbox": True})
    with pytest.raises(ConfigError, match=r"\[wechat\] sandbox: cannot be on in production"):
        create_app(cfg)


def test_empty_database_is_brought_to_head_and_upgrade_is_a_noop(tmp_path):
    app = create_app(make_config(f"sqlite:///{tmp_path / 'fresh.db'}"))
    current, head = revisions(get_db(app))
    assert current == head and head is not None
    tables = set(inspect(get_db(app).engine).get_table_names())
    assert {"lead", "follower", "push", "delivery", "outbox_item", "staff_user", "audit_entry"} <= tables
    result = app.test_cli_runner().invoke(args=["db", "upgrade"])
    assert result.exit_code == 0 and "already up to date" in result.output


def test_auto_migrate_off_refuses_an_old_schema(tmp_path):
    cfg = make_config(f"sqlite:///{tmp_path / 'old.db'}", database={"auto_migrate": False})
    with pytest.raises(Exception, match=r"run `flask db upgrade`"):
        create_app(cfg)


def test_models_and_migrations_agree(db_url):
    db = Database(db_url)
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    db.engine.dispose()
    assert diff == []


def test_healthz_reports_database_and_revision(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok" and body["database"] == "ok" and body["schema"] == body["schema_expected"]


def test_healthz_is_503_when_the_database_is_gone(pg_server):
    app = create_app(make_config(pg_server.url("postgres")))
    app.extensions["db"].engine.dispose()
    gone = Database(f"postgresql+psycopg://postgres@127.0.0.1:{_closed_port()}/x?connect_timeout=2")
    app.extensions["db"] = gone
    response = app.test_client().get("/healthz")
    gone.engine.dispose()
    assert response.status_code == 503 and response.get_json()["database"] == "unreachable"


def test_home_page_says_what_the_service_is(client):
    response = client.get("/")
    assert response.status_code == 200
    assert "投诉" in response.get_data(as_text=True)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.sqlite_only
@pytest.mark.wall_clock  # under libfaketime (make test-far-date) the real server process has died with SIGSEGV
def test_minimal_config_starts_with_flask_run(tmp_path, system_clock):
    """The operators' contract: APP_CONFIG=<only [wechat] and [database]> flask --app bot run --port N."""
    path = _write(tmp_path, MINIMAL.format(db=tmp_path / "contract.db"))
    port = _closed_port()
    env = {**os.environ, "APP_CONFIG": str(path)}
    flask = Path(sys.executable).with_name("flask")
    out = (tmp_path / "server.log").open("wb")
    proc = subprocess.Popen(
        [str(flask), "--app", "bot", "run", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
    )
    try:
        body = _wait_for(f"http://127.0.0.1:{port}/healthz", proc, tmp_path / "server.log")
        assert '"status":"ok"' in body.replace(" ", "")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        out.close()


@pytest.mark.sqlite_only
def test_malformed_config_stops_flask_run_with_one_line(tmp_path):
    path = _write(tmp_path, MINIMAL.format(db=tmp_path / "m.db").replace('token = "tok"', "token = 5"))
    env = {**os.environ, "APP_CONFIG": str(path)}
    flask = Path(sys.executable).with_name("flask")
    done = subprocess.run(
        [str(flask), "--app", "bot", "run", "--port", str(_closed_port())],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    errors = [line for line in done.stderr.splitlines() if line.startswith("Error:")]
    assert errors == [f"Error: {path}: [wechat] token: must be str, got int 5"]


def _wait_for(url: str, proc: subprocess.Popen, log: Path) -> str:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(log.read_text())
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return response.read().decode()
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer")


def test_upgrade_runs_on_an_empty_postgres_database(pg_server):
    with pg_server.admin.connect() as conn:
        conn.exec_driver_sql("CREATE DATABASE bot_empty")
    db = Database(pg_server.url("bot_empty"))
    upgrade(db)
    current, head = revisions(db)
    db.engine.dispose()
    assert current == head


def test_production_sample_config_starts_with_secrets_from_the_environment(tmp_path, monkeypatch):
    sample = (ROOT / "deploy" / "config.production.toml").read_text(encoding="utf-8")
    production = tmp_path / "production.toml"  # the sample, on SQLite for this test (refused unless allowed)
    production.write_text(sample.replace("[database]\n", "[database]\nallow_sqlite_in_production = true\n"))
    monkeypatch.setenv("APP_CONFIG", str(production))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'prod.db'}")
    with pytest.raises(ConfigError, match=r"\[wechat\] app_id: is empty"):
        create_app()
    for name, value in {
        "WECHAT_APP_ID": "wxprod000000000001",
        "WECHAT_TOKEN": "prod-token",
        "WECHAT_APP_SECRET": "prod-secret",
        "WECHAT_ENCODING_AES_KEY": "K" * 43,
        "WECHAT_CONSUMER_TEMPLATE_ID": "prod-progress-template",
        "SECRET_KEY": "9f" * 32,
        "DATA_ENCRYPTION_KEY": "8J4r0c4d0B2m8k4cZ0xv2yqS1m9l9Xb0o4QnF8p7mU4=",
    }.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(Exception, match=r"run `flask db upgrade`"):
        create_app()  # production does not migrate by itself
    monkeypatch.setenv("APP_CONFIG", str(ROOT / "config.toml"))  # migrate with the local defaults' auto_migrate
    db = Database(f"sqlite:///{tmp_path / 'prod.db'}")
    upgrade(db)
    db.engine.dispose()
    monkeypatch.setenv("APP_CONFIG", str(production))
    app = create_app()
    assert AppSettings.of(app).production is True
    assert WechatSettings.of(app).app_secret == "prod-secret"
    app.extensions["db"].engine.dispose()


def test_trusted_proxy_gives_the_client_address(tmp_path):
    from flask import request

    app = create_app(make_config(f"sqlite:///{tmp_path / 'px.db'}", app={"trusted_proxies": 1}))
    app.add_url_rule("/probe-address", "probe", lambda: request.remote_addr)
    seen = app.test_client().get("/probe-address", headers={"X-Forwarded-For": "203.0.113.7"})
    assert seen.get_data(as_text=True) == "203.0.113.7"
    app.extensions["db"].engine.dispose()


def test_the_shipped_config_documents_every_key():
    """Every setting the code knows appears, with a comment, in the config.toml that ships."""
    import re
    import tomllib

    from bot import SECTIONS

    shipped = (ROOT / "config.toml").read_text(encoding="utf-8")
    parsed = tomllib.loads(shipped)
    for cls in SECTIONS:
        section, keys = cls.NAME, cls.keys()
        assert section in parsed, f"[{section}] is missing from config.toml"
        block = re.split(r"^\[", shipped.split(f"\n[{section}]\n", 1)[1], flags=re.M)[0]
        for key in keys:
            as_key = rf"^#?\s*{re.escape(key)}\s*="
            as_table = rf"^#?\s*\[+{re.escape(section)}\.{re.escape(key)}\b"
            found = re.search(as_key, block, re.M) or re.search(as_table, shipped, re.M)
            assert found, f"[{section}] {key} is not in config.toml"
    assert create_app(make_config("sqlite://", **{k: v for k, v in parsed.items() if k not in ("database",)}))
