"""A one-sheet XLSX file written as a stream, for the hazard ledger (隐患台账).

openpyxl's write-only mode spends about 12 µs on each cell (a cell object, its type and style
checks, an lxml element per tag); with the 24 columns the ledger has, that was most of an
export's time. A ledger needs little of it: text, whole numbers, decimals, date-times, a bold
header row, column widths and a frozen header. This writes those straight into the package
(ECMA-376: inline strings, serial dates, one styles part), a few rows at a time, so a year of
a large city never sits in memory either.

Blocking: file I/O, for a worker thread.
"""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from xml.sax.saxutils import quoteattr

Value = str | int | float | dt.datetime | None

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PACKAGE = "http://schemas.openxmlformats.org/package/2006/relationships"
_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'

# The styles' indexes in cellXfs below.
_BOLD, _DATETIME, _DECIMAL = 1, 2, 3
# Excel's day zero (the 1900 date system, past its 1900-02-29 that never was).
_EPOCH = dt.date(1899, 12, 30).toordinal()
_DAY = 86400.0
_MAX_TEXT = 32767  # characters in a cell
# Not allowed in XML 1.0 at all (a text a person typed may hold them).
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_ROWS_PER_WRITE = 500

_CONTENT_TYPES = (
    _HEAD + '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships'
    '+xml"/><Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.spreadsheetml.styles+xml"/></Types>'
)
_ROOT_RELS = (
    _HEAD + f'<Relationships xmlns="{_PACKAGE}"><Relationship Id="rId1" Type="{_RELS}/'
    'officeDocument" Target="xl/workbook.xml"/></Relationships>'
)
_WORKBOOK_RELS = (
    _HEAD + f'<Relationships xmlns="{_PACKAGE}">'
    f'<Relationship Id="rId1" Type="{_RELS}/worksheet" Target="worksheets/sheet1.xml"/>'
    f'<Relationship Id="rId2" Type="{_RELS}/styles" Target="styles.xml"/></Relationships>'
)


def _styles(decimals: int) -> str:
    number = "0." + "0" * decimals if decimals else "0"
    return (
        _HEAD + f'<styleSheet xmlns="{_MAIN}"><numFmts count="2">'
        '<numFmt numFmtId="164" formatCode="yyyy-mm-dd hh:mm:ss"/>'
        f'<numFmt numFmtId="165" formatCode="{number}"/></numFmts>'
        '<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font>'
        '<font><b/><sz val="11"/><name val="Calibri"/></font></fonts>'
        '<fills count="2"><fill><patternFill patternType="none"/></fill>'
        '<fill><patternFill patternType="gray125"/></fill></fills>'
        '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
        '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/>'
        '</cellStyleXfs><cellXfs count="4">'
        '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
        '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
        '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
        '<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
        '</cellXfs><cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/>'
        "</cellStyles></styleSheet>"
    )


def sheet_title(title: str) -> str:
    """Excel's rules: at most 31 characters, none of []:*?/\\."""
    return re.sub(r"[\[\]:*?/\\]", " ", title)[:31] or "Sheet"


def column_letter(index: int) -> str:
    """A, B, … Z, AA, …: the letters of the column ``index`` (from 1)."""
    letters = ""
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def _text(value: str) -> str:
    text = _ILLEGAL.sub("", value)[:_MAX_TEXT]
    # Excel keeps a text's outer spaces and line breaks only when told to.
    space = ' xml:space="preserve"' if text != text.strip() else ""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    # A bare carriage return would be read back as a line feed (XML normalises line ends).
    text = text.replace("\r", "&#13;")
    return f"<t{space}>{text}</t>"


class Sheet:
    """One worksheet in a new XLSX file at ``path``: a bold header row, kept in view, then
    rows of values. Floats are shown with ``decimals`` places; date-times (without a zone) to
    the second. Use as a context manager: leaving it finishes the file."""

    def __init__(self, path: Path, title: str, widths: Sequence[int], *, decimals: int = 5) -> None:
        self._zip = zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED)
        self._zip.writestr("[Content_Types].xml", _CONTENT_TYPES)
        self._zip.writestr("_rels/.rels", _ROOT_RELS)
        name = quoteattr(sheet_title(title))
        self._zip.writestr(
            "xl/workbook.xml",
            _HEAD + f'<workbook xmlns="{_MAIN}" xmlns:r="{_RELS}"><sheets>'
            f'<sheet name={name} sheetId="1" r:id="rId1"/></sheets></workbook>',
        )
        self._zip.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        self._zip.writestr("xl/styles.xml", _styles(decimals))
        self._out = self._zip.open("xl/worksheets/sheet1.xml", "w")
        self._letters = [column_letter(i) for i in range(1, len(widths) + 1)]
        self._row = 0
        self._pending: list[str] = []
        cols = "".join(
            f'<col min="{i}" max="{i}" width="{w}" customWidth="1"/>'
            for i, w in enumerate(widths, start=1)
        )
        self._pending.append(
            _HEAD + f'<worksheet xmlns="{_MAIN}"><sheetViews><sheetView workbookViewId="0">'
            '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
            '<selection pane="bottomLeft" activeCell="A2" sqref="A2"/></sheetView></sheetViews>'
            f"<cols>{cols}</cols><sheetData>"
        )

    def header(self, titles: Sequence[str]) -> None:
        self._append(titles, bold=True)

    def append(self, values: Sequence[Value]) -> None:
        self._append(values, bold=False)

    def _append(self, values: Sequence[Value], *, bold: bool) -> None:
        if len(values) > len(self._letters):
            raise ValueError("a row has more cells than the sheet has columns")
        self._row += 1
        n = self._row
        text_style = f' s="{_BOLD}"' if bold else ""
        cells = [f'<row r="{n}">']
        for letter, value in zip(self._letters, values, strict=False):
            if value is None or value == "":
                continue
            if isinstance(value, str):
                cells.append(
                    f'<c r="{letter}{n}"{text_style} t="inlineStr"><is>{_text(value)}</is></c>'
                )
            elif isinstance(value, dt.datetime):
                if value.tzinfo is not None:
                    raise ValueError("a spreadsheet time has no zone: give it in local time")
                seconds = value.hour * 3600 + value.minute * 60 + value.second
                serial = value.toordinal() - _EPOCH + (seconds + value.microsecond / 1e6) / _DAY
                cells.append(f'<c r="{letter}{n}" s="{_DATETIME}"><v>{serial!r}</v></c>')
            elif isinstance(value, float):
                cells.append(f'<c r="{letter}{n}" s="{_DECIMAL}"><v>{value!r}</v></c>')
            else:  # a whole number (a bool is one too, and has no business here)
                cells.append(f'<c r="{letter}{n}"><v>{int(value)}</v></c>')
        cells.append("</row>")
        self._pending.append("".join(cells))
        if len(self._pending) >= _ROWS_PER_WRITE:
            self._flush()

    def _flush(self) -> None:
        self._out.write("".join(self._pending).encode("utf-8"))
        self._pending.clear()

    def close(self) -> None:
        self._pending.append("</sheetData></worksheet>")
        self._flush()
        self._out.close()
        self._zip.close()

    def discard(self) -> None:
        """Stop without finishing the file (what was written is no spreadsheet)."""
        self._out.close()
        self._zip.close()

    def __enter__(self) -> Sheet:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if kind is None:
            self.close()
        else:
            self.discard()
