"""[console]: the staff's sessions, sign-in limits, paging and the signs of Art 17."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from bot.config import Section


@dataclass(frozen=True, kw_only=True)
class ConsoleSettings(Section):
    NAME: ClassVar[str] = "console"
    idle_minutes: int = 30
    lockout_attempts: int = 5
    lockout_minutes: int = 15
    address_attempts: int = 20
    name_attempts: int = 50
    name_throttle_seconds: int = 60
    page_size: int = 50
    signs_window_days: int = 30
    signs_many_complaints: int = 3
