"""The house rules of the code, checked on the source: the packages' layers, the SQLite machinery fenced inside
bot/db/, one writer of Follower.in_dialogue, and no module over 300 lines (the README's "Layout")."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# bot/'s parts from the bottom up: each imports only from itself and those before it (README, "Layout"); parts in
# one tuple are one layer (production.py holds the production rules of config.py's settings).
LAYERS = [
    ("config", "production"), "clock", "forks", "guards", "content", "privacy", "logs", "db", "health", "models",
    "scheduler", "outbox", "wechat", "leads", "dialogue", "notice_replies", "pushes", "console", "sandbox",
]  # fmt: skip
RANK = {name: i for i, layer in enumerate(LAYERS) for name in (layer if isinstance(layer, tuple) else (layer,))}


def _modules():
    for path in sorted((ROOT / "bot").rglob("*.py")):
        if "migrations" not in path.parts:
            yield path, ast.parse(path.read_text(encoding="utf-8"))


def _imports(tree: ast.AST) -> set[str]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names if node.module == "bot")
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return found


def _part(path: Path) -> str:
    relative = path.relative_to(ROOT / "bot")
    return relative.parts[0].removesuffix(".py")


def test_each_part_imports_only_from_the_parts_below_it():
    rank = RANK
    wrong = []
    for path, tree in _modules():
        part = _part(path)
        if part not in rank:
            continue  # bot/__init__.py and bot/cli.py put the parts together
        for name in _imports(tree):
            other = name.split(".")[1] if name.startswith("bot.") else None
            if other in rank and rank[other] > rank[part]:
                wrong.append(f"{path.relative_to(ROOT)} imports {name}")
    assert wrong == []
    assert {_part(p) for p, _ in _modules()} - set(RANK) == {"__init__", "cli"}  # every part has its layer


def test_the_sqlite_machinery_is_used_only_inside_bot_db():
    outside = [
        str(path.relative_to(ROOT))
        for path, tree in _modules()
        if "db" not in path.relative_to(ROOT / "bot").parts[:1]
        and {"bot.db.sqlite", "bot.db.writelock", "bot.db.groupcommit", "bot.db.engines"} & _imports(tree)
    ]
    assert outside == []


def test_handlers_see_no_raw_connection_and_one_module_writes_in_dialogue():
    writers = []
    for path, _tree in _modules():
        text = path.read_text(encoding="utf-8")
        assert "ctx.connection" not in text and "self.connection" not in text, path
        # A column value (`in_dialogue=...` in an insert or update) or an attribute set on a Follower row.
        if re.search(r"(?<![\w.])in_dialogue=(?!=)|(?<!self)\.in_dialogue\s*=(?!=)", text):
            writers.append(str(path.relative_to(ROOT)))
    assert writers == ["bot/models/followers.py"]


def test_settings_are_read_through_their_typed_sections():
    """No `app.config["SETTINGS"]["wechat"]["token"]`: a feature reads `WechatSettings.of(app).token`."""
    untyped = [
        str(path.relative_to(ROOT))
        for folder in ("bot", "notices")
        for path in (ROOT / folder).rglob("*.py")
        if re.search(r"""SETTINGS["']\]\[""", path.read_text(encoding="utf-8"))
    ]
    assert untyped == []


def test_no_module_is_over_300_lines():
    long = {
        str(path.relative_to(ROOT)): n
        for path in [*(ROOT / "bot").rglob("*.py"), *(ROOT / "notices").rglob("*.py")]
        if "migrations" not in path.parts and (n := len(path.read_text(encoding="utf-8").splitlines())) > 300
    }
    assert long == {}
