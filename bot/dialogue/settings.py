"""[dialogue]: the complaint and report dialogue."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from bot.config import Section


@dataclass(frozen=True, kw_only=True)
class DialogueSettings(Section):
    NAME: ClassVar[str] = "dialogue"
    idle_minutes: int = 30
    texts_file: str = "content/dialogue.toml"
    max_photos: int = 9
