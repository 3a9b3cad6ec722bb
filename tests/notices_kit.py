"""Helpers for the notice tests: write an editor's file, build a bare Flask app serving a content directory."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

from flask import Flask

import notices

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "content" / "notices"


def png() -> bytes:
    """A valid 1x1 PNG, for covers and pictures."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixel = zlib.compress(b"\0\xff\x00\x00")
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixel) + chunk(b"IEND", b"")


def front(
    title: str = "测试公告",
    date: str = "2022-11-01",
    category: str = "消费提示",
    keywords: str = "[测试关键词]",
    summary: str = "一句话摘要。",
    extra: str = "",
    drop: str = "",
) -> str:
    """Front matter: line 2 title, 3 date, 4 category, 5 keywords, 6 summary, 7... extra lines."""
    fields = {"title": title, "date": date, "category": category, "keywords": keywords, "summary": summary}
    lines = [f"{key}: {value}" for key, value in fields.items() if key != drop]
    return "---\n" + "\n".join(lines) + "\n" + (extra + "\n" if extra else "") + "---\n"


def write_notice(directory: Path, slug: str, body: str = "正文第一段。\n", **fields: str) -> Path:
    """Write content/notices/<slug>.md; returns its path."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{slug}.md"
    path.write_text(front(**fields) + body, encoding="utf-8")
    return path


def notice_app(content: Path, **options) -> Flask:
    """A bare Flask app with only the notice service (the package needs nothing of `bot`)."""
    app = Flask("notices_test")
    app.config["TESTING"] = True
    options.setdefault("interval", 0)
    notices.init_app(app, content, public_url="https://example.gov.cn", **options)
    return app
