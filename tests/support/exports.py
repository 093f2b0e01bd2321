"""/export in a chat test: a seeded ledger, the two documents a reader gets, and their rows."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import TypeVar

from openpyxl import load_workbook

from fakebotapi import FakeUser, SentMessage
from tests.support.cases import enterprise_named
from tests.support.chat import Bot
from tests.support.generated import Made, insert_cases, make_cases

BOM = b"\xef\xbb\xbf"
T = TypeVar("T")


async def seeded(bot: Bot, count: int = 600) -> list[Made]:
    enterprises = [
        await enterprise_named(bot, "=HYPERLINK(1)", "91330100MA27XL0T4C"),  # a formula-like name
        await enterprise_named(bot, "Golden Dragon Restaurant", "91350100M000100Y43"),
    ]
    made = make_cases(bot, count, enterprises, seed=11)
    await insert_cases(bot, made)
    return made


async def export(user: FakeUser, command: str) -> tuple[SentMessage, SentMessage]:
    mark = len(user.transcript)
    await user.send(command)
    sent = user.transcript[mark:]
    assert [m.method for m in sent] == ["sendDocument", "sendDocument"], [m.plain for m in sent]
    xlsx, table = sent
    assert xlsx.document_name is not None
    assert xlsx.document_name.endswith(".xlsx")
    assert table.document_name is not None
    assert table.document_name.endswith(".csv")
    return xlsx, table


def sheet_rows(document: SentMessage) -> list[list[object]]:
    assert document.document is not None
    book = load_workbook(io.BytesIO(document.document), read_only=True)
    sheet = book.worksheets[0]
    rows: list[list[object]] = [list(row) for row in sheet.iter_rows(values_only=True)]
    book.close()
    return rows


def csv_rows(document: SentMessage) -> list[list[str]]:
    assert document.document is not None
    assert document.document.startswith(BOM)
    return list(csv.reader(io.StringIO(document.document.decode("utf-8-sig"), newline="")))


def by_number(rows: Sequence[Sequence[T]], blank: T) -> dict[str, dict[str, T]]:
    """The lines of a ledger (CSV or sheet) by case number, each cell under its header; a
    sheet's row ends at its last value, the rest is ``blank``."""
    headers = [str(h) for h in rows[0]]
    lines = {}
    for row in rows[1:]:
        cells = [*row, *[blank] * (len(headers) - len(row))]
        lines[str(cells[0])] = dict(zip(headers, cells, strict=True))
    return lines
