"""The names consumers are told for a lead's status: the console's names (新线索 ...) are for staff only. Editors
write them in the dialogue's wording file ([progress.status] in content/dialogue.toml); the dialogue installs the
table when it loads that file at start (bot/dialogue/texts.py), so the outbox's messages use it too."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from bot.content import ContentError
from bot.leads.workflow import ALL_STATUSES

TABLE = "progress.status"


def install(app: Flask, table: object, path: Path, line: int) -> None:
    """Check the table (every status needs a name; a gap stops the start, naming file and line) and keep it."""
    table = table if isinstance(table, dict) else {}
    missing = [s for s in ALL_STATUSES if not isinstance(table.get(s), str) or not table[s].strip()]
    if missing:
        raise ContentError(path, line, f"[{TABLE}] needs a name consumers see for: {'、'.join(missing)}")
    app.extensions["status_names"] = {k: v for k, v in table.items() if isinstance(v, str)}


def consumer_status(app: Flask, status: str, kind: str) -> str:
    """What a consumer is told the status is: the kind's own name ("新线索/report") first, then the status's."""
    table = app.extensions["status_names"]
    return table.get(f"{status}/{kind}") or table.get(status) or status
