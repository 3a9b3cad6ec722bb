"""Configuration: config.toml (or the file named by $APP_CONFIG) plus environment overrides, validated at start.

Each feature declares its table as a `Section` (a frozen dataclass, one typed field per key) beside its code, e.g.
`bot/pushes/settings.py`, and checks it there; create_app lists the sections (bot.SECTIONS) and this module knows
none of them but [app]. Code reads a section with `PushesSettings.of(app).quiet_start`.
"""

from __future__ import annotations

import copy
import logging
import os
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import MISSING, Field, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, ClassVar, TypeVar, get_origin, get_type_hints

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


def setting(default: Any = REQUIRED, *, env: str | None = None, choices: tuple[str, ...] = (), key: str = "") -> Any:
    """A key of a section: its default (or REQUIRED), the variable that may override it, its allowed values, and its
    name in the file when that is not the field's (`from` in [smtp])."""
    meta = {"env": env, "choices": choices, "key": key}
    if default is REQUIRED:
        return field(metadata=meta)
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: copy.deepcopy(default), metadata=meta)
    return field(default=default, metadata=meta)


S = TypeVar("S", bound="Section")


@dataclass(frozen=True)
class Section:
    """A feature's settings: a frozen dataclass naming its table (NAME), one typed field per key.

    The feature declares it beside its code and create_app lists it; `load` reads the table, applies the environment,
    checks each value against the field's type and then the section's own `check`, which names file and key.
    """

    NAME: ClassVar[str] = ""

    @classmethod
    def of(cls: type[S], app: Flask) -> S:
        """This section of the app's settings."""
        return app.config["SETTINGS"].get(cls)

    @classmethod
    def keys(cls) -> dict[str, Field]:
        """The section's keys as written in the file, with their fields."""
        return {f.metadata.get("key") or f.name: f for f in fields(cls)}

    @classmethod
    def env(cls, key: str) -> str | None:
        """The environment variable that may set `key`."""
        return cls.keys()[key].metadata.get("env")

    def check(self: S, source: str, app: AppSettings) -> S:
        """Checks that a type alone cannot express; return this section or a normalised copy. Raise ConfigError
        naming the key."""
        return self

    def refuse_in_production(self, source: str, settings: Settings) -> None:
        """Raise ConfigError, naming the key, on a value a production start must not run with (bot/production.py);
        `settings` has the other sections, for a rule that depends on one of them."""

    @classmethod
    def build(cls: type[S], source: str, given: dict[str, Any]) -> S:
        hints = get_type_hints(cls)
        for key in given:
            if key not in cls.keys():
                log.warning("config %s: unknown key [%s] %s is ignored", source, cls.NAME, key)
        values = {}
        for key, f in cls.keys().items():
            value = _value(source, cls.NAME, key, f, hints[f.name], given)
            if value is not _DEFAULT:
                values[f.name] = value
        return cls(**values)


_DEFAULT = object()
_TYPE_NAMES = {float: "int or float"}


def _value(source: str, section: str, key: str, f: Field, hint: Any, given: dict[str, Any]) -> Any:
    name = f"[{section}] {key}"
    expected = get_origin(hint) or hint
    env = f.metadata.get("env")
    if env and os.environ.get(env):
        value: Any = os.environ[env]
        if expected is bool:
            word = value.strip().lower()
            if word not in TRUE | FALSE:
                raise ConfigError(source, name, f"{env}={value!r} is not true/false, 1/0, yes/no or on/off")
            value = word in TRUE
    elif key in given:
        value = given[key]
    elif f.default is MISSING and f.default_factory is MISSING:
        raise ConfigError(source, name, "is required")
    else:
        return _DEFAULT
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, expected) or (isinstance(value, bool) and expected is not bool):
        wanted = _TYPE_NAMES.get(expected, expected.__name__)
        raise ConfigError(source, name, f"must be {wanted}, got {type(value).__name__} {value!r}")
    choices = f.metadata.get("choices")
    if choices and value not in choices:
        raise ConfigError(source, name, f"must be one of {', '.join(choices)}, got {value!r}")
    return value


@dataclass(frozen=True, kw_only=True)
class AppSettings(Section):
    """[app]: the service as a whole."""

    NAME: ClassVar[str] = "app"
    production: bool = setting(False, env="APP_PRODUCTION")
    secret_key: str = setting("", env="SECRET_KEY")
    data_key: str = setting("", env="DATA_ENCRYPTION_KEY")
    public_url: str = "http://127.0.0.1:5000"
    log_level: str = setting("INFO", choices=("DEBUG", "INFO", "WARNING", "ERROR"))
    timezone: str = "Asia/Shanghai"
    trusted_proxies: int = 0
    bureau_name: str = "中山市市场监督管理局"

    def check(self, source: str, app: AppSettings) -> AppSettings:
        if not self.bureau_name.strip():
            raise ConfigError(source, "[app] bureau_name", "must name the bureau, e.g. 中山市市场监督管理局")
        return self

    def refuse_in_production(self, source: str, settings: Settings) -> None:
        from bot.production import refuse_weak_secrets

        refuse_weak_secrets(source, self)


class Settings:
    """Every section of the app's settings, by its class; `app.config["SETTINGS"]`."""

    def __init__(self, source: str, sections: dict[type[Section], Section]) -> None:
        self.source = source
        self._sections = sections

    def get(self, cls: type[S]) -> S:
        return self._sections[cls]  # type: ignore[return-value]

    def replace(self, cls: type[Section], **changes: Any) -> None:
        """Change keys of a section (the secrets generated at a local start)."""
        self._sections[cls] = replace(self._sections[cls], **changes)

    def classes(self) -> tuple[type[Section], ...]:
        return tuple(self._sections)


def config_path() -> Path:
    """The TOML file to read: $APP_CONFIG if set, else config.toml at the repository root."""
    return Path(os.environ.get("APP_CONFIG") or ROOT / "config.toml")


def load(sections: Iterable[type[Section]], test_config: Mapping[str, Any] | None = None) -> Settings:
    """Read the file (or test_config), apply the environment, build and check every section; raise ConfigError on the
    first problem."""
    if test_config is not None:
        source, raw = "test_config", {k: dict(v) for k, v in test_config.items()}
    else:
        path = config_path()
        source = str(path)
        raw = _read_toml(path)
    classes = (AppSettings, *(cls for cls in sections if cls is not AppSettings))
    known = {cls.NAME for cls in classes}
    for section in raw:
        if section not in known:
            log.warning("config %s: unknown section [%s] is ignored", source, section)
    built: dict[type[Section], Section] = {}
    for cls in classes:
        given = raw.get(cls.NAME, {})
        if not isinstance(given, dict):
            raise ConfigError(source, f"[{cls.NAME}]", "must be a table")
        built[cls] = cls.build(source, given)
    app = built[AppSettings]
    for cls in classes:
        built[cls] = built[cls].check(source, app)  # type: ignore[assignment]
    settings = Settings(source, built)
    if app.production:
        for section in built.values():
            section.refuse_in_production(source, settings)
    return settings


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(str(path), "file", "not found (set APP_CONFIG or create config.toml)") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), "syntax", f"not valid TOML ({exc})") from None


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


def init_app(app: Flask, sections: Iterable[type[Section]], test_config: Mapping[str, Any] | None = None) -> None:
    """Load and check every section into app.config["SETTINGS"]; generate the local secrets when missing."""
    from bot.production import ensure_secrets

    settings = load(sections, test_config)
    ensure_secrets(settings, Path(app.instance_path))
    app.config.update(SETTINGS=settings, SECRET_KEY=settings.get(AppSettings).secret_key)
    app.config["MAX_CONTENT_LENGTH"] = 16 * 1024 * 1024


def source(app: Flask) -> str:
    """Where the app's settings came from, for a feature's ConfigError: the file, or "test_config"."""
    return app.config["SETTINGS"].source


def trusted_proxies(app: Flask, inner: Any) -> Any:
    """The WSGI layer that takes the client's address and scheme from `[app] trusted_proxies` reverse proxies."""
    proxies = AppSettings.of(app).trusted_proxies
    return ProxyFix(inner, x_for=proxies, x_proto=proxies, x_host=proxies) if proxies else inner
