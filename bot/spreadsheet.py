"""Cells made of what people typed, for the spreadsheets staff download (the hazard ledger, the
reward ledger): such a text must never be read as a formula, nor break the file."""

from __future__ import annotations

import re

# A cell starting with one of these is a formula to Excel (tab and carriage return as well:
# spreadsheet programs strip them and read what follows).
_FORMULA = ("=", "+", "-", "@", "\t", "\r")
# Control characters are not allowed in XLSX (XML has no place for them); a CSV cell drops them
# too.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def safe_text(value: str | None) -> str:
    """The text as a plain cell: control characters dropped, a formula's lead quoted."""
    if not value:
        return ""
    text = _CONTROL.sub("", value)
    return "'" + text if text.startswith(_FORMULA) else text
