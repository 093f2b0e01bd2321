"""The hazard ledger (隐患台账): every case of a period as a spreadsheet, XLSX and CSV.

One pass over the cases writes both files, row by row (openpyxl's write-only mode and the csv
module), so a year of a large city never sits in memory. Headers and values are in the reader's
language. The reporter's identity is not in the ledger at all (DESIGN.md, "Confidentiality"):
storage/stats.py does not even read it.

Blocking: ``write`` runs in a worker thread (``export`` sees to it).
"""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import re
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot import stats
from bot.cards import Cards, cards
from bot.i18n import N_, Translator
from bot.labels import LEVEL_LABELS, STATUS_LABELS
from bot.services import Services
from bot.spreadsheet import safe_text
from bot.stats_report import plain_colour
from bot.vocabulary.grading import Colour
from bot.vocabulary.lifecycle import FINAL, Level, Status
from storage.stats import OPEN_WITH_DEADLINE, LedgerReader, LedgerRow

HEADERS: tuple[str, ...] = (
    N_("Case number"),
    N_("Reported at"),
    N_("Category"),
    N_("District"),
    N_("Address"),
    N_("Risk colour"),
    N_("Hazard level"),
    N_("Department"),
    N_("Enterprise"),
    N_("Deadline"),
    N_("Status"),
    N_("Closed at"),
    N_("Days overdue"),
    N_("Under supervision (挂牌督办) since"),
    N_("Reward"),
)

# Column widths in the spreadsheet, in characters (a Chinese character is about two).
WIDTHS = (20, 17, 24, 14, 30, 18, 12, 26, 26, 17, 14, 17, 8, 17, 20)
assert len(WIDTHS) == len(HEADERS)

# The statuses of the rewards table (migration 0005), with the msgids bot/reward_notices.py shows
# them with, so one translation serves both; a case without a row has no reward.
REWARD_LABELS: dict[str, str] = {
    "proposed": N_("proposed, awaiting approval"),
    "approved": N_("approved, not yet claimed"),
    "paid": N_("paid"),
    "expired": N_("lapsed, not claimed in time"),
    "none": N_("no reward"),  # the case ended without one (an open case's cell is empty)
}


def days_overdue(row: LedgerRow, now: dt.datetime) -> int | None:
    """Whole days (begun) an open case is past its deadline; None when it is not overdue."""
    if row.deadline is None or row.status not in OPEN_WITH_DEADLINE or row.deadline >= now:
        return None
    return stats.days_overdue(row.deadline, now)


Cell = str | int | dt.datetime | None


@dataclass(frozen=True)
class Ledger:
    """Turns ledger rows into cells in one reader's language."""

    tr: Translator
    cards: Cards
    now: dt.datetime

    def headers(self) -> list[str]:
        return [self.tr.gettext(h) for h in HEADERS]

    def local(self, moment: dt.datetime | None) -> dt.datetime | None:
        """City time without a zone: spreadsheets have none."""
        if moment is None:
            return None
        return moment.astimezone(self.cards.zone).replace(tzinfo=None)

    def cells(self, row: LedgerRow) -> list[Cell]:
        _ = self.tr.gettext
        colour = plain_colour(self.tr, Colour(row.colour)) if row.colour in _COLOURS else ""
        level = _(LEVEL_LABELS[Level(row.level)]) if row.level in _LEVELS else ""
        status = _(STATUS_LABELS[Status(row.status)]) if row.status in _STATUSES else row.status
        # No reward row: none for a case that has ended, not decided yet for one still open.
        ended = row.status in _STATUSES and Status(row.status) in FINAL
        reward = row.reward_status or ("none" if ended else "")
        return [
            row.number,
            self.local(row.created_at),
            self.cards.category(self.tr, row.category),
            self.cards.district(self.tr, row.district) if row.district else "",
            safe_text(row.address),
            colour,
            level,
            self.cards.department(self.tr, row.department),
            safe_text(row.enterprise),
            self.local(row.deadline),
            status,
            self.local(row.closed_at),
            days_overdue(row, self.now),
            self.local(row.escalated_at),
            _(REWARD_LABELS[reward]) if reward in REWARD_LABELS else reward,
        ]


_COLOURS = frozenset(c.value for c in Colour)
_LEVELS = frozenset(level.value for level in Level)
_STATUSES = frozenset(s.value for s in Status)


def _csv_cell(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return f"{value:%Y-%m-%d %H:%M}"
    return str(value)


def write(ledger: Ledger, rows: Iterable[LedgerRow], csv_path: Path, xlsx_path: Path) -> int:
    """Write both files in one pass over ``rows``; return how many cases they hold."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    book = Workbook(write_only=True)
    sheet: Any = book.create_sheet(_sheet_title(ledger.tr.gettext("Hazard ledger")))
    headers = ledger.headers()
    bold = Font(bold=True)
    header_cells = []
    for header in headers:
        cell = WriteOnlyCell(sheet, value=header)
        cell.font = bold
        header_cells.append(cell)
    for index, width in enumerate(WIDTHS, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"
    sheet.append(header_cells)
    count = 0
    # utf-8-sig: a byte-order mark, so that Excel reads the Chinese as UTF-8.
    with csv_path.open("w", encoding="utf-8-sig", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(headers)
        for row in rows:
            cells = ledger.cells(row)
            writer.writerow([_csv_cell(c) for c in cells])
            sheet.append(cells)
            count += 1
    book.save(xlsx_path)
    return count


def _sheet_title(title: str) -> str:
    """Excel's rules: at most 31 characters, none of []:*?/\\."""
    return re.sub(r"[\[\]:*?/\\]", " ", title)[:31] or "Sheet"


# An export ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Export:
    """The ledger of a period as two files in a folder of their own, which ``discard`` removes."""

    csv: Path
    xlsx: Path
    count: int  # cases


def export_files(
    root: Path, reader: LedgerReader, book: Ledger, scope: stats.Scope, period: stats.Period
) -> Export:
    """Write the ledger into a fresh folder under ``root`` (blocking: a worker thread)."""
    root.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(dir=root))
    csv_path = folder / f"hazard-ledger-{period.slug}.csv"
    xlsx_path = folder / f"hazard-ledger-{period.slug}.xlsx"
    rows = reader.rows(period.start, period.end, scope.departments)
    try:
        count = write(book, rows, csv_path, xlsx_path)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return Export(csv_path, xlsx_path, count)


async def export(services: Services, tr: Translator, asked: stats.Request) -> Export:
    """The hazard ledger a reader asked for (stats.request, without officers: the ledger is the
    supervisors'), in their language."""
    root = services.settings.data_dir / "exports"
    reader = LedgerReader(services.db.path)
    book = Ledger(tr, cards(services), services.clock.now())
    return await asyncio.to_thread(export_files, root, reader, book, asked.scope, asked.period)


async def discard(export: Export) -> None:
    await asyncio.to_thread(shutil.rmtree, export.csv.parent, ignore_errors=True)
