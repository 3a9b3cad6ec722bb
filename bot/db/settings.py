"""[database]: where the data lives and how the schema is kept up to date."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import ClassVar

from bot.config import AppSettings, ConfigError, Section, Settings, database_url, setting


@dataclass(frozen=True, kw_only=True)
class DatabaseSettings(Section):
    NAME: ClassVar[str] = "database"
    url: str = setting("sqlite:///instance/bot.db", env="DATABASE_URL")
    auto_migrate: bool = True
    echo: bool = False
    allow_sqlite_in_production: bool = False

    def check(self, source: str, app: AppSettings) -> DatabaseSettings:
        return replace(self, url=database_url(source, self.url))

    def refuse_in_production(self, source: str, settings: Settings) -> None:
        if self.url.startswith("sqlite") and not self.allow_sqlite_in_production:
            raise ConfigError(
                source,
                "[database] url",
                "SQLite in production (use PostgreSQL, or allow_sqlite_in_production = true on purpose)",
            )
