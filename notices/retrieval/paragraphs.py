"""A notice's body as the paragraphs a reader sees (paragraphs, list items, table rows), each with its heading,
so that the paragraph that answers a question can be quoted."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

_BLOCK_END = re.compile(r"</(?:p|li|h[1-6]|tr|blockquote|pre|dd|dt|figcaption|caption)>|<br\s*/?>|<hr\s*/?>", re.I)
_HEADING = re.compile(r"<h([1-6])[\s>]", re.I)
_ROW = re.compile(r"<t[dh][\s>]", re.I)
_CELL_END = re.compile(r"</t[dh]>", re.I)  # cells of a row are read with a space between them
_TAG = re.compile(r"<[^>]*>")  # other tags (strong, em, a ...) are inline: removed without a space
_SPACE = re.compile(r"\s+")
SHORT = 40  # a paragraph shorter than this is quoted with the ones after it (a list of short items)
QUOTE = 160  # at most this many characters are quoted


@dataclass(frozen=True)
class Paragraph:
    """One block of the body: its text and the heading it stands under ("" before the first heading)."""

    heading: str
    text: str
    is_heading: bool = False
    is_row: bool = False  # a row of a table: searched, but quoted only after the paragraph that introduces it

    @property
    def quotable(self) -> float:
        """How well the block reads quoted on its own: 1 for a paragraph, less for a table row, a heading or a line
        that introduces a list or a table (ending with a colon)."""
        if self.is_row or self.is_heading:
            return 0.5
        return 0.6 if self.text.endswith(("：", ":")) else 1.0


def paragraphs(fragment: str) -> list[Paragraph]:
    """The blocks of a sanitized HTML body, in order, empty ones left out."""
    out: list[Paragraph] = []
    heading = ""
    for piece in _BLOCK_END.split(fragment):
        text = _SPACE.sub(" ", html.unescape(_TAG.sub("", _CELL_END.sub(" ", piece)))).strip()
        if not text:
            continue
        if _HEADING.search(piece):
            heading = text
            out.append(Paragraph(heading, text, is_heading=True))
        else:
            out.append(Paragraph(heading, text, is_row=bool(_ROW.search(piece))))
    return out


def quote(blocks: list[Paragraph], index: int, limit: int = QUOTE) -> str:
    """The text to quote for the block at `index`: the block itself, joined by the next blocks under the same
    heading while it is short (a list of short items reads as one), cut at `limit` characters; a heading is
    quoted with what follows it."""
    block = blocks[index]
    parts = [] if block.is_heading else [block.text]
    i = index + 1
    while sum(len(p) for p in parts) < SHORT and i < len(blocks):
        nxt = blocks[i]
        if nxt.is_heading or nxt.is_row or (parts and nxt.heading != block.heading):
            break
        parts.append(nxt.text)
        i += 1
    text = "；".join(p.rstrip("；;。，,") if k < len(parts) - 1 else p for k, p in enumerate(parts)) or block.text
    return text if len(text) <= limit else text[: limit - 1].rstrip("，、；：") + "…"
