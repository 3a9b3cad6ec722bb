"""Text made safe for the files the console hands out: spreadsheets (CSV, XLSX) and Word documents.

Consumers' and staff's words reach these files as typed. Two things in such text break or abuse them:

- control characters (a vertical tab or a \\x01 pasted from Word): XML, and so XLSX and DOCX, cannot hold them,
  and one of them made the whole file fail; they are removed (tab, line feed and carriage return are kept);
- a cell that begins with `=`, `+`, `-`, `@`, a tab or a carriage return is taken by spreadsheet programs as a
  formula (CSV injection: `=HYPERLINK(...)` sending the row's phone number away). As OWASP advises, such a cell
  gets a leading `'` and stays text. Typed numbers and dates are not text and keep their type.
"""

from __future__ import annotations

import re

CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def without_controls(text: str) -> str:
    """The text without the control characters XML cannot hold (tab, line feed and carriage return stay)."""
    return CONTROL.sub("", text)


def spreadsheet_text(text: str) -> str:
    """A text cell for CSV or XLSX: no control characters, and never read as a formula."""
    text = without_controls(text)
    return "'" + text if text.startswith(FORMULA_START) else text
