"""The names consumers are told for a lead's status, from the dialogue's wording file ([progress.status] in
content/dialogue.toml): the console's names (新线索 ...) are for staff, and a consumer never sees them."""

from __future__ import annotations

from flask import Flask

from bot.content import ContentError, read, resolve
from bot.leads.workflow import ALL_STATUSES

TABLE = "progress.status"


def names(app: Flask) -> dict[str, str]:
    """The table, read and checked once: every status must have a consumer's name (a gap stops the start)."""
    found = app.extensions.get("status_names")
    if found is None:
        path = resolve(app.config["SETTINGS"]["dialogue"]["texts_file"])
        raw, source = read(path)
        found = raw.get("progress", {}).get("status", {})
        missing = [s for s in ALL_STATUSES if not isinstance(found.get(s), str) or not found[s].strip()]
        if missing:
            line = source.line_of_table(TABLE, 0)
            raise ContentError(path, line, f"[{TABLE}] needs a name consumers see for: {'、'.join(missing)}")
        app.extensions["status_names"] = found
    return found


def consumer_status(app: Flask, status: str, kind: str) -> str:
    """What a consumer is told the status is: the kind's own name ("新线索/report") first, then the status's."""
    table = names(app)
    return table.get(f"{status}/{kind}") or table.get(status) or status
