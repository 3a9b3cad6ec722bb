"""What a production start refuses, and the secrets made for a local one.

Production (`[app] production = true` or APP_PRODUCTION=1) stops at start, with one line naming the key, on anything
that would be unsafe to serve: a session secret shorter than 32 bytes or copied from an example; any credential that
ships in this repository; no app secret; plain mode (the messages unencrypted) unless `[wechat] allow_plain_mode`;
SQLite unless `[database] allow_sqlite_in_production`; an http API base that is not a loopback address; the sandbox;
on a service account, no template id for the consumers' notices (`[leads] consumer_template_id`).
Outside production, a missing session secret or data key is generated once into instance/.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import tomllib
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bot.config import ROOT, SCHEMA, ConfigError, config_path

log = logging.getLogger(__name__)

# Values published in this repository's files and in WeChat's documentation: known to anyone who reads them.
PUBLIC_EXAMPLES = frozenset(
    {
        "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",  # WeChat's sample EncodingAESKey, also bench/run.py's
        "bench-token",
        "wxbench000000000001",
    }
)
SANDBOX_TEMPLATE = "SANDBOX-CONSUMER-PROGRESS"  # the shipped config.toml's, accepted by the sandbox only
CREDENTIALS = (("wechat", "app_id"), ("wechat", "app_secret"), ("wechat", "token"), ("wechat", "encoding_aes_key"))


@cache
def shipped_values() -> frozenset[str]:
    """Every non-empty credential and secret in the shipped config.toml, and the public examples."""
    try:
        shipped = tomllib.loads((ROOT / "config.toml").read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        shipped = {}
    keys = (*CREDENTIALS, ("app", "secret_key"), ("app", "data_key"))
    found = {shipped.get(section, {}).get(key) for section, key in keys}
    return PUBLIC_EXAMPLES | {v for v in found if isinstance(v, str) and v}


def refuse_unsafe(source: str, s: dict[str, dict[str, Any]]) -> None:
    """Raise ConfigError on the first setting a production start must not run with."""
    wechat, app = s["wechat"], s["app"]
    if wechat["sandbox"]:
        raise ConfigError(source, "[wechat] sandbox", "cannot be on in production mode ([app] production = true)")
    for key in ("secret_key", "data_key"):
        if not app[key]:
            raise ConfigError(source, f"[app] {key}", f"is required in production (set {SCHEMA['app'][key].env})")
    secret = app["secret_key"]
    if len(secret.encode()) < 32 or secret in shipped_values():
        raise ConfigError(source, "[app] secret_key", "must be at least 32 random bytes, not an example (SECRET_KEY)")
    for section, key in CREDENTIALS:
        if s[section][key] in shipped_values():
            env = SCHEMA[section][key].env
            raise ConfigError(source, f"[{section}] {key}", f"is an example published in this repository (set {env})")
    if not wechat["app_secret"].strip():
        raise ConfigError(source, "[wechat] app_secret", "is required in production (set WECHAT_APP_SECRET)")
    if not wechat["encoding_aes_key"] and not wechat["allow_plain_mode"]:
        raise ConfigError(
            source,
            "[wechat] encoding_aes_key",
            "is required in production: plain mode sends messages unencrypted (set WECHAT_ENCODING_AES_KEY, "
            "or allow_plain_mode = true on purpose)",
        )
    if s["database"]["url"].startswith("sqlite") and not s["database"]["allow_sqlite_in_production"]:
        raise ConfigError(
            source,
            "[database] url",
            "SQLite in production (use PostgreSQL, or allow_sqlite_in_production = true on purpose)",
        )
    template = s["leads"]["consumer_template_id"].strip()
    if wechat["account_type"] == "service" and (not template or template == SANDBOX_TEMPLATE):
        raise ConfigError(
            source,
            "[leads] consumer_template_id",
            "is required in production: a notice to a consumer who last wrote more than 48 hours ago can only go as "
            "a template message (set WECHAT_CONSUMER_TEMPLATE_ID to the id of the account's progress template)",
        )
    base = urlsplit(wechat["api_base_url"])
    if base.scheme != "https" and not _loopback(base.hostname or ""):
        raise ConfigError(source, "[wechat] api_base_url", "must be https:// in production (http only on loopback)")


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def ensure_secrets(settings: dict[str, dict[str, Any]], instance: Path) -> None:
    """Fill in secret_key and data_key: required in production, else generated once into instance/ (mode 0600)."""
    from cryptography.fernet import Fernet

    makers = {"secret_key": lambda: os.urandom(32).hex(), "data_key": lambda: Fernet.generate_key().decode()}
    for key, make in makers.items():
        if settings["app"][key]:
            continue
        env = SCHEMA["app"][key].env
        if settings["app"]["production"]:
            raise ConfigError(str(config_path()), f"[app] {key}", f"is required in production (set {env})")
        path = instance / key
        if not path.exists():
            instance.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(make())
            log.warning("no [app] %s configured: generated one in %s (set %s in production)", key, path, env)
        settings["app"][key] = path.read_text().strip()
