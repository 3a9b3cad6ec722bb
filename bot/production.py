"""What a production start refuses, and the secrets made for a local one.

Production (`[app] production = true` or APP_PRODUCTION=1) stops at start, with one line naming the key, on anything
that would be unsafe to serve: a session secret shorter than 32 bytes or copied from an example; any credential that
ships in this repository; no app secret; plain mode (the messages unencrypted) unless `[wechat] allow_plain_mode`;
SQLite unless `[database] allow_sqlite_in_production`; an http API base that is not a loopback address; the sandbox;
on a service account, no template id for the consumers' notices (`[leads] consumer_template_id`).
Each section refuses its own values (`Section.refuse_in_production`) with the helpers here; outside production, a
missing session secret or data key is generated once into instance/.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import tomllib
from functools import cache
from pathlib import Path

from bot.config import ROOT, AppSettings, ConfigError, Section, Settings

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


def refuse_weak_secrets(source: str, app: AppSettings) -> None:
    """[app]: both secrets present; the session secret 32 bytes or more and not an example."""
    for key in ("secret_key", "data_key"):
        if not getattr(app, key):
            raise ConfigError(source, f"[app] {key}", f"is required in production (set {app.env(key)})")
    if len(app.secret_key.encode()) < 32 or app.secret_key in shipped_values():
        raise ConfigError(source, "[app] secret_key", "must be at least 32 random bytes, not an example (SECRET_KEY)")


def refuse_shipped(source: str, section: Section, *keys: str) -> None:
    """Credentials of `section` that were copied from this repository or from WeChat's documentation."""
    for key in keys:
        if getattr(section, key) in shipped_values():
            env = section.env(key)
            raise ConfigError(
                source, f"[{section.NAME}] {key}", f"is an example published in this repository (set {env})"
            )


def loopback(host: str) -> bool:
    """Whether `host` names this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def ensure_secrets(settings: Settings, instance: Path) -> None:
    """Fill in secret_key and data_key: required in production, else generated once into instance/ (mode 0600)."""
    from cryptography.fernet import Fernet

    app = settings.get(AppSettings)
    makers = {"secret_key": lambda: os.urandom(32).hex(), "data_key": lambda: Fernet.generate_key().decode()}
    for key, make in makers.items():
        if getattr(app, key):
            continue
        env = app.env(key)
        if app.production:
            raise ConfigError(settings.source, f"[app] {key}", f"is required in production (set {env})")
        path = instance / key
        if not path.exists():
            instance.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(make())
            log.warning("no [app] %s configured: generated one in %s (set %s in production)", key, path, env)
        settings.replace(AppSettings, **{key: path.read_text().strip()})
