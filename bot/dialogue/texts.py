"""The dialogue's wording, read from content/dialogue.toml (editors change it there, not in code)."""

from __future__ import annotations

from typing import Any

from flask import Flask

from bot.config import AppSettings
from bot.content import ContentError, fill, read, resolve
from bot.dialogue.settings import DialogueSettings

REQUIRED = ("labels", "control", "steps", "summary", "submitted", "progress")


class Texts:
    """Look-ups into the wording file; a missing key names the file and the key."""

    def __init__(self, path: str, bureau: str = "") -> None:
        self.path = resolve(path)
        self.data: dict[str, Any]
        self.data, self.source = read(self.path)
        self.data = fill(self.data, bureau=bureau)  # {bureau}: the bureau's name, filled at load
        for section in REQUIRED:
            if section not in self.data:
                raise ContentError(self.path, len(self.source.lines) or 1, f"the table [{section}] is missing")

    def get(self, dotted: str, variant: str | None = None, **fmt: Any) -> str:
        """The text at `a.b.c` (the `_variant` form when it exists), with {placeholders} filled."""
        *parents, leaf = dotted.split(".")
        node: Any = self.data
        for part in parents:
            node = node.get(part, {}) if isinstance(node, dict) else {}
        text = node.get(f"{leaf}_{variant}") if variant else None
        text = text or node.get(leaf)
        if not isinstance(text, str):
            header = ".".join(parents)
            line = self.source.line_of_table(header, 0) if header else 1
            raise ContentError(self.path, line, f'{dotted} is missing: add `{leaf} = "..."` under [{header}]')
        return text.format(**fmt) if fmt else text

    def has(self, dotted: str) -> bool:
        """True when the key exists."""
        *parents, leaf = dotted.split(".")
        node: Any = self.data
        for part in parents:
            node = node.get(part, {}) if isinstance(node, dict) else {}
        return isinstance(node, dict) and leaf in node


def texts(app: Flask) -> Texts:
    """The app's wording, loaded once."""
    found = app.extensions.get("dialogue_texts")
    if found is None:
        bureau = AppSettings.of(app).bureau_name
        found = Texts(DialogueSettings.of(app).texts_file, bureau)
        app.extensions["dialogue_texts"] = found
    return found
