"""Markdown -> sanitized HTML: Python-Markdown for the editors' syntax, nh3 for anything pasted in."""

from __future__ import annotations

import html
import re
import threading

import markdown
import nh3
from markdown.extensions.toc import slugify_unicode

EXTENSIONS = ["tables", "fenced_code", "toc", "attr_list"]
EXTENSION_CONFIGS = {"toc": {"slugify": slugify_unicode, "permalink": False}}

# What survives sanitising. The store's check uses the same lists to tell an editor what will be removed.
ALLOWED_TAGS = {
    *("p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "code", "div", "span"),
    *("ul", "ol", "li", "dl", "dt", "dd", "strong", "em", "b", "i", "u", "s", "del", "ins", "mark"),
    *("sub", "sup", "small", "abbr", "a", "img", "figure", "figcaption"),
    *("table", "thead", "tbody", "tr", "th", "td", "caption"),
}
ALLOWED_ATTRIBUTES = {
    "*": {"id", "class", "title"},
    "a": {"href"},
    "img": {"src", "alt", "width", "height"},
    "th": {"style", "colspan", "rowspan"},
    "td": {"style", "colspan", "rowspan"},
    "ol": {"start"},
}
URL_SCHEMES = {"http", "https", "mailto", "tel"}
DROP_WITH_CONTENT = {"script", "style", "iframe", "object", "embed", "template", "noscript"}

_lock = threading.Lock()
_cache: dict[tuple[str, object], str] = {}
_CACHE_LIMIT = 512


def sanitize(fragment: str) -> str:
    """Clean an HTML fragment: only the allowed tags, attributes and URL schemes; scripts go with their content."""
    return nh3.clean(
        fragment,
        tags=ALLOWED_TAGS,
        clean_content_tags=DROP_WITH_CONTENT,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        filter_style_properties={"text-align"},
        link_rel="noopener noreferrer",
    )


def markdown_to_html(text: str) -> str:
    """Render Markdown (tables, fenced code, heading anchors, attribute lists) and sanitize the result."""
    md = markdown.Markdown(extensions=EXTENSIONS, extension_configs=EXTENSION_CONFIGS, output_format="html")
    return sanitize(md.convert(text))


def render_cached(key: str, version: object, text: str) -> str:
    """The sanitized HTML of one file version; rendered once per (key, version)."""
    with _lock:
        hit = _cache.get((key, version))
    if hit is not None:
        return hit
    rendered = markdown_to_html(text)
    with _lock:
        for stale in [k for k in _cache if k[0] == key]:
            del _cache[stale]
        if len(_cache) >= _CACHE_LIMIT:
            _cache.pop(next(iter(_cache)))
        _cache[(key, version)] = rendered
    return rendered


_TAG = re.compile(r"<[^>]*>")
_SPACE = re.compile(r"\s+")


def html_to_text(fragment: str) -> str:
    """The readable text of an HTML fragment (for search and snippets)."""
    return _SPACE.sub(" ", html.unescape(_TAG.sub(" ", fragment))).strip()
