"""Configuration: config.toml (or the file named by $APP_CONFIG) plus environment overrides, validated at start."""

from __future__ import annotations

import logging
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
from flask import Flask
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from werkzeug.middleware.proxy_fix import ProxyFix

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
REQUIRED = object()
TRUE, FALSE = frozenset({"1", "true", "yes", "on"}), frozenset({"0", "false", "no", "off"})


class ConfigError(click.ClickException):
    """A missing or malformed setting; the one-line message names the file and the key."""

    def __init__(self, source: str, key: str, problem: str) -> None:
        super().__init__(f"{source}: {key}: {problem}")


@dataclass(frozen=True)
class Setting:
    """One key of a section: its type, its default (or REQUIRED) and the variable that may override it."""

    type: type | tuple[type, ...]
    default: Any = REQUIRED
    env: str | None = None
    choices: tuple[str, ...] | None = None


# Every key, with its default. The shipped config.toml documents each one; keep the two in step.
SCHEMA: dict[str, dict[str, Setting]] = {
    "app": {
        "production": Setting(bool, False, "APP_PRODUCTION"),
        "secret_key": Setting(str, "", "SECRET_KEY"),
        "data_key": Setting(str, "", "DATA_ENCRYPTION_KEY"),
        "public_url": Setting(str, "http://127.0.0.1:5000"),
        "log_level": Setting(str, "INFO", None, ("DEBUG", "INFO", "WARNING", "ERROR")),
        "timezone": Setting(str, "Asia/Shanghai"),
        "trusted_proxies": Setting(int, 0),
    },
    "wechat": {
        "app_id": Setting(str, REQUIRED, "WECHAT_APP_ID"),
        "app_secret": Setting(str, "", "WECHAT_APP_SECRET"),
        "token": Setting(str, REQUIRED, "WECHAT_TOKEN"),
        "encoding_aes_key": Setting(str, "", "WECHAT_ENCODING_AES_KEY"),
        "api_base_url": Setting(str, "https://api.weixin.qq.com/cgi-bin/"),
        "account_type": Setting(str, "service", None, ("service", "subscription")),
        "sandbox": Setting(bool, False),
        "allow_plain_mode": Setting(bool, False),
        "timeout": Setting((int, float), 4.0),
        "body_limit": Setting(int, 65536),
        "replay_window": Setting(int, 300),
        "replies_file": Setting(str, "content/replies.toml"),
        "phrases_file": Setting(str, "content/phrases.toml"),
    },
    "database": {
        "url": Setting(str, "sqlite:///instance/bot.db", "DATABASE_URL"),
        "auto_migrate": Setting(bool, True),
        "echo": Setting(bool, False),
        "allow_sqlite_in_production": Setting(bool, False),
    },
    "scheduler": {
        "enabled": Setting(bool, True),
        "lease_seconds": Setting(int, 30),
        "tick_seconds": Setting((int, float), 5),
    },
    "pushes": {
        "quiet_start": Setting(str, "22:00"),
        "quiet_end": Setting(str, "08:00"),
        "rate_per_second": Setting((int, float), 200),
        "concurrency": Setting(int, 16),
        "batch_size": Setting(int, 500),
        "claim_timeout_seconds": Setting(int, 120),
        "dedupe_window_seconds": Setting(int, 540),
        "max_attempts": Setting(int, 5),
        "retry_base_seconds": Setting((int, float), 2),
        "quota_pause_seconds": Setting((int, float), 3600),
        "catch_up_hours": Setting(int, 6),
        "mass_batch": Setting(int, 10000),
        "template_id": Setting(str, ""),
        "template_fields": Setting(
            dict, {"first": "title", "keyword1": "category", "keyword2": "date", "remark": "summary"}
        ),
        "editors": Setting(list, []),
        "topics": Setting(dict, {"double11": "双11", "double12": "双12", "food": "食品安全"}),
        "recurring": Setting(list, []),
    },
    "calendar": {
        "holidays": Setting(list, []),
        "workdays": Setting(list, []),
        "adjusted_weekends_work": Setting(bool, True),
    },
    "console": {
        "idle_minutes": Setting(int, 30),
        "lockout_attempts": Setting(int, 5),
        "lockout_minutes": Setting(int, 15),
        "address_attempts": Setting(int, 20),
        "name_attempts": Setting(int, 50),
        "name_throttle_seconds": Setting(int, 60),
        "page_size": Setting(int, 50),
        "signs_window_days": Setting(int, 30),
        "signs_many_complaints": Setting(int, 3),
    },
    # Complaints and reports (Order 121); each figure is documented with its article in config.toml.
    "leads": {
        "accept_working_days": Setting(int, 7),
        "mediation_days": Setting(int, 60),
        "termination_notice_working_days": Setting(int, 7),
        "verify_working_days": Setting(int, 15),
        "verify_extension_working_days": Setting(int, 15),
        "categories_file": Setting(str, "content/categories.toml"),
        "branches_file": Setting(str, "content/branches.toml"),
        "evidence_dir": Setting(str, "instance/evidence"),
        "media_lifetime_days": Setting(int, 3),
        "service_window_hours": Setting(int, 48),
        "consumer_template_id": Setting(str, ""),
        "branches": Setting(dict, {}),
    },
    "dialogue": {
        "idle_minutes": Setting(int, 30),
        "texts_file": Setting(str, "content/dialogue.toml"),
        "max_photos": Setting(int, 9),
    },
    "notify": {
        "email": Setting(list, []),
        "wecom_webhook": Setting(str, ""),
        "wechat_openids": Setting(list, []),
        "template_id": Setting(str, ""),
    },
    "smtp": {
        "host": Setting(str, ""),
        "port": Setting(int, 587),
        "user": Setting(str, "", "SMTP_USER"),
        "password": Setting(str, "", "SMTP_PASSWORD"),
        "from": Setting(str, ""),
        "starttls": Setting(bool, True),
        "timeout": Setting((int, float), 10.0),
    },
    "outbox": {
        "max_attempts": Setting(int, 8),
        "backoff_seconds": Setting((int, float), 30.0),
        "backoff_max_seconds": Setting((int, float), 3600.0),
        "lease_seconds": Setting(int, 300),
        "batch": Setting(int, 50),
    },
    "notices": {
        "content_dir": Setting(str, "content/notices"),
        "per_page": Setting(int, 10),
        "reload_seconds": Setting((int, float), 1.0),
    },
}


def config_path() -> Path:
    """The TOML file to read: $APP_CONFIG if set, else config.toml at the repository root."""
    return Path(os.environ.get("APP_CONFIG") or ROOT / "config.toml")


def load(test_config: Mapping[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    """Read, override from the environment and validate the settings; raise ConfigError on the first problem."""
    if test_config is not None:
        source, raw = "test_config", {k: dict(v) for k, v in test_config.items()}
    else:
        path = config_path()
        source = str(path)
        raw = _read_toml(path)
    settings: dict[str, dict[str, Any]] = {}
    for section, keys in SCHEMA.items():
        given = raw.get(section, {})
        if not isinstance(given, dict):
            raise ConfigError(source, f"[{section}]", "must be a table")
        for key in given:
            if key not in keys:
                log.warning("config %s: unknown key [%s] %s is ignored", source, section, key)
        settings[section] = {key: _value(source, section, key, spec, given) for key, spec in keys.items()}
    for section in raw:
        if section not in SCHEMA:
            log.warning("config %s: unknown section [%s] is ignored", source, section)
    _check(source, settings)
    return settings


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(str(path), "file", "not found (set APP_CONFIG or create config.toml)") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), "syntax", f"not valid TOML ({exc})") from None


def _value(source: str, section: str, key: str, spec: Setting, given: dict[str, Any]) -> Any:
    name = f"[{section}] {key}"
    if spec.env and os.environ.get(spec.env):
        value: Any = os.environ[spec.env]
        if spec.type is bool:
            word = value.strip().lower()
            if word not in TRUE | FALSE:
                raise ConfigError(source, name, f"{spec.env}={value!r} is not true/false, 1/0, yes/no or on/off")
            value = word in TRUE
    elif key in given:
        value = given[key]
    elif spec.default is REQUIRED:
        raise ConfigError(source, name, "is required")
    else:
        return spec.default
    types = spec.type if isinstance(spec.type, tuple) else (spec.type,)
    if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
        expected = " or ".join(t.__name__ for t in types)
        raise ConfigError(source, name, f"must be {expected}, got {type(value).__name__} {value!r}")
    if spec.choices and value not in spec.choices:
        raise ConfigError(source, name, f"must be one of {', '.join(spec.choices)}, got {value!r}")
    return value


def _check(source: str, s: dict[str, dict[str, Any]]) -> None:
    """Cross-field checks that a type alone cannot express."""
    for key in ("app_id", "token"):
        if not s["wechat"][key].strip():
            raise ConfigError(source, f"[wechat] {key}", f"is empty (set it here or in {SCHEMA['wechat'][key].env})")
    aes = s["wechat"]["encoding_aes_key"]
    if aes and len(aes) != 43:
        raise ConfigError(source, "[wechat] encoding_aes_key", "must be 43 characters (or empty for plain mode)")
    if not s["wechat"]["api_base_url"].startswith(("http://", "https://")):
        raise ConfigError(source, "[wechat] api_base_url", "must be an http(s) URL")
    if not s["wechat"]["api_base_url"].endswith("/"):
        s["wechat"]["api_base_url"] += "/"
    if not 1024 <= s["wechat"]["body_limit"] <= 1024 * 1024:
        raise ConfigError(source, "[wechat] body_limit", "must be between 1024 and 1048576 bytes")
    if not 30 <= s["wechat"]["replay_window"] <= 3600:
        raise ConfigError(source, "[wechat] replay_window", "must be between 30 and 3600 seconds")
    s["database"]["url"] = database_url(source, s["database"]["url"])
    if s["app"]["production"]:
        from bot.production import refuse_unsafe  # the rules of a production start

        refuse_unsafe(source, s)


def database_url(source: str, url: str) -> str:
    """Normalise an SQLAlchemy URL: psycopg 3 for PostgreSQL, relative SQLite paths under the repository root."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError(source, "[database] url", f"is not a database URL: {url!r}") from None
    backend = parsed.get_backend_name()
    if backend == "postgresql":
        return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    if backend != "sqlite":
        raise ConfigError(source, "[database] url", f"unknown scheme {parsed.drivername!r} (use sqlite or postgresql)")
    db = parsed.database
    if db and db != ":memory:" and not db.startswith("file:") and not os.path.isabs(db):
        parsed = parsed.set(database=str(ROOT / db))
    return parsed.render_as_string(hide_password=False)


def init_app(app: Flask, test_config: Mapping[str, Any] | None = None) -> None:
    """Load and validate the settings into app.config (each feature checks its own section further at its init)."""
    from bot.production import ensure_secrets

    settings = load(test_config)
    ensure_secrets(settings, Path(app.instance_path))
    app.config.update(SETTINGS=settings, SECRET_KEY=settings["app"]["secret_key"])
    app.config["SETTINGS_SOURCE"] = "test_config" if test_config is not None else str(config_path())
    app.config["MAX_CONTENT_LENGTH"] = 16 * 1024 * 1024


def source(app: Flask) -> str:
    """Where the app's settings came from, for a feature's ConfigError: the file, or "test_config"."""
    return app.config["SETTINGS_SOURCE"]


def trusted_proxies(app: Flask, inner: Any) -> Any:
    """The WSGI layer that takes the client's address and scheme from `[app] trusted_proxies` reverse proxies."""
    proxies = app.config["SETTINGS"]["app"]["trusted_proxies"]
    return ProxyFix(inner, x_for=proxies, x_proto=proxies, x_host=proxies) if proxies else inner
