"""[leads], [calendar] and [notify]: the periods of Order 121, the working-day calendar, the staff's channels."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, ClassVar

from bot.config import AppSettings, ConfigError, Section, Settings, setting


@dataclass(frozen=True, kw_only=True)
class LeadsSettings(Section):
    """Complaints and reports; each period is documented with its article in config.toml."""

    NAME: ClassVar[str] = "leads"
    accept_working_days: int = 7
    mediation_days: int = 60
    termination_notice_working_days: int = 7
    verify_working_days: int = 15
    verify_extension_working_days: int = 15
    categories_file: str = "content/categories.toml"
    branches_file: str = "content/branches.toml"
    evidence_dir: str = "instance/evidence"
    media_lifetime_days: int = 3
    service_window_hours: int = 48
    conversation_days: int = 7
    consumer_template_id: str = setting("", env="WECHAT_CONSUMER_TEMPLATE_ID")
    decisions_file: str = "content/decisions.toml"
    page_link_days: int = 30
    tell_reporter_outcome: bool = False
    branches: dict[str, Any] = setting({})  # per-branch channels, [leads.branches.<code>], checked at init

    def refuse_in_production(self, source: str, settings: Settings) -> None:
        from bot.production import SANDBOX_TEMPLATE
        from bot.wechat.settings import WechatSettings

        template = self.consumer_template_id.strip()
        if settings.get(WechatSettings).account_type == "service" and template in ("", SANDBOX_TEMPLATE):
            raise ConfigError(
                source,
                "[leads] consumer_template_id",
                "is required in production: a notice to a consumer who last wrote more than 48 hours ago can only go "
                "as a template message (set WECHAT_CONSUMER_TEMPLATE_ID to the id of the account's progress template)",
            )


@dataclass(frozen=True, kw_only=True)
class CalendarSettings(Section):
    """The bureau's own record of a year's holidays and 调休 working days."""

    NAME: ClassVar[str] = "calendar"
    holidays: list[Any] = setting([])
    workdays: list[Any] = setting([])
    adjusted_weekends_work: bool = True

    def check(self, source: str, app: AppSettings) -> CalendarSettings:
        for key in ("holidays", "workdays"):
            for day in getattr(self, key):
                try:
                    date.fromisoformat(str(day))
                except ValueError:
                    raise ConfigError(source, f"[calendar] {key}", f"{day!r} is not a date like 2027-01-01") from None
        return self


@dataclass(frozen=True, kw_only=True)
class NotifySettings(Section):
    """Where a new lead is announced to staff (a branch may have its own, [leads.branches.<code>])."""

    NAME: ClassVar[str] = "notify"
    email: list[str] = setting([])
    wecom_webhook: str = ""
    wechat_openids: list[str] = setting([])
    template_id: str = ""


@dataclass(frozen=True, kw_only=True)
class SmtpSettings(Section):
    """The mail server the staff's e-mail notices go through."""

    NAME: ClassVar[str] = "smtp"
    host: str = ""
    port: int = 587
    user: str = setting("", env="SMTP_USER")
    password: str = setting("", env="SMTP_PASSWORD")
    sender: str = setting("", key="from")
    starttls: bool = True
    timeout: float = 10.0
