"""Machine-readable views of the notices: the Atom feed and the sitemap (routes on the notices blueprint)."""

from __future__ import annotations

from datetime import UTC, datetime, time
from xml.etree import ElementTree as ET

from flask import url_for

from notices.model import CATEGORIES, Notice
from notices.views import absolute, bp, bureau, conditional, store

ATOM = "http://www.w3.org/2005/Atom"
SITEMAP = "http://www.sitemaps.org/schemas/sitemap/0.9"
FEED_SIZE = 20


def _published(notice: Notice) -> str:
    return datetime.combine(notice.date, time(9, 0), notice.tz).isoformat()


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attrs)
    if text is not None:
        element.text = text
    return element


@bp.get("/notices/feed.xml")
def feed():
    """The newest notices as an Atom feed (full sanitized HTML content)."""
    return conditional(_feed_xml, mimetype="application/atom+xml")


def _feed_xml() -> bytes:
    ET.register_namespace("", ATOM)
    notices = store().latest(limit=FEED_SIZE)
    root = ET.Element(f"{{{ATOM}}}feed", {"{http://www.w3.org/XML/1998/namespace}lang": "zh-CN"})
    _sub(root, f"{{{ATOM}}}id", absolute(url_for("notices.index")))
    _sub(root, f"{{{ATOM}}}title", f"消费提示与维权指南 · {bureau()}")
    _sub(root, f"{{{ATOM}}}subtitle", f"{bureau()}发布的消费提示、维权指南、合规指导和通知公告")
    updated = max((n.modified for n in notices), default=datetime.fromtimestamp(0, UTC))
    _sub(root, f"{{{ATOM}}}updated", updated.isoformat())
    _sub(root, f"{{{ATOM}}}link", rel="self", href=absolute(url_for("notices.feed")))
    _sub(root, f"{{{ATOM}}}link", rel="alternate", type="text/html", href=absolute(url_for("notices.index")))
    author = _sub(root, f"{{{ATOM}}}author")
    _sub(author, f"{{{ATOM}}}name", bureau())
    for notice in notices:
        _entry(root, notice)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def _entry(root: ET.Element, notice: Notice) -> None:
    link = absolute(url_for("notices.notice", slug=notice.slug))
    entry = _sub(root, f"{{{ATOM}}}entry")
    _sub(entry, f"{{{ATOM}}}id", link)
    _sub(entry, f"{{{ATOM}}}title", notice.title)
    _sub(entry, f"{{{ATOM}}}link", rel="alternate", type="text/html", href=link)
    _sub(entry, f"{{{ATOM}}}published", _published(notice))
    _sub(entry, f"{{{ATOM}}}updated", max(notice.modified, datetime.fromisoformat(_published(notice))).isoformat())
    _sub(entry, f"{{{ATOM}}}category", term=notice.category)
    _sub(entry, f"{{{ATOM}}}summary", notice.summary)
    _sub(entry, f"{{{ATOM}}}content", notice.html, type="html")


@bp.get("/sitemap.xml")
def sitemap():
    """Every public page, for search engines."""
    return conditional(_sitemap_xml, mimetype="application/xml")


def _sitemap_xml() -> bytes:
    ET.register_namespace("", SITEMAP)
    root = ET.Element(f"{{{SITEMAP}}}urlset")
    notices = store().all()
    pages = [url_for("notices.home"), url_for("notices.index")]
    pages += [url_for("notices.category", name=c) for c in CATEGORIES if store().latest(category=c, limit=1)]
    for path in pages:
        url = _sub(root, f"{{{SITEMAP}}}url")
        _sub(url, f"{{{SITEMAP}}}loc", absolute(path))
    for notice in notices:
        url = _sub(root, f"{{{SITEMAP}}}url")
        _sub(url, f"{{{SITEMAP}}}loc", absolute(url_for("notices.notice", slug=notice.slug)))
        _sub(url, f"{{{SITEMAP}}}lastmod", notice.modified.date().isoformat())
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)
