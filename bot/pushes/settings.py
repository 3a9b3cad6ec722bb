"""[pushes]: scheduled pushes to followers: quiet hours, rates, retries, the template and the recurring pushes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from bot.config import AppSettings, Section, setting


@dataclass(frozen=True, kw_only=True)
class PushesSettings(Section):
    NAME: ClassVar[str] = "pushes"
    quiet_start: str = "22:00"
    quiet_end: str = "08:00"
    rate_per_second: float = 200.0
    concurrency: int = 16
    batch_size: int = 500
    claim_timeout_seconds: int = 120
    dedupe_window_seconds: int = 540
    max_attempts: int = 5
    retry_base_seconds: float = 2.0
    quota_pause_seconds: float = 3600.0
    catch_up_hours: int = 6
    mass_batch: int = 10000
    template_id: str = ""
    template_fields: dict[str, str] = setting(
        {"first": "title", "keyword1": "category", "keyword2": "date", "remark": "summary"}
    )
    editors: list[str] = setting([])
    topics: dict[str, str] = setting({"double11": "双11", "double12": "双12", "food": "食品安全"})
    recurring: list[dict[str, Any]] = setting([])

    def check(self, source: str, app: AppSettings) -> PushesSettings:
        from bot.pushes.schedule import check_settings

        check_settings(source, self, app.timezone)
        return self
