"""The hazard ledger (隐患台账): every case of a period as a spreadsheet, XLSX and CSV.

One pass over the cases writes both files, row by row (openpyxl's write-only workbook and the
csv module), so a year of a large city never sits in memory. Headers and values are in the reader's
language. The reporter's identity is not in the ledger at all (DESIGN.md, "Confidentiality"):
storage/stats.py does not even read it.

Blocking, and pure Python for seconds: ``export_files`` runs in a worker process (``export``
sees to it, through Services.offload), which reads the cases on its own connection.
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
from bot.reward_notices import STATUS_LABELS as REWARD_STATUS_LABELS
from bot.services import Services
from bot.spreadsheet import safe_text
from bot.stats_report import channel_name, plain_colour
from bot.vocabulary.grading import Colour
from bot.vocabulary.lifecycle import FINAL, Level, Status
from storage.stats import OPEN_WITH_DEADLINE, LedgerReader, LedgerRow

# The fields of the 隐患排查治理 ledger a department expects (DOMAIN.md, "The hazard ledger"),
# each with its width in the spreadsheet, in characters (a Chinese character is about two).
# Not here: the reporter's identity (the reward ledger's alone).
COLUMNS: tuple[tuple[str, int], ...] = (
    (N_("Case number"), 20),
    (N_("Reported at"), 19),
    (N_("Source"), 16),
    (N_("Channel"), 14),
    (N_("Enterprise"), 26),
    (N_("Unified social credit code"), 22),
    (N_("Address"), 30),
    (N_("District"), 14),
    (N_("Latitude"), 11),
    (N_("Longitude"), 11),
    (N_("Category"), 24),
    (N_("Hazard description"), 40),
    (N_("Risk colour"), 18),
    (N_("Hazard level"), 12),
    (N_("Department"), 26),
    (N_("Status"), 14),
    (N_("Deadline"), 19),
    (N_("Measures"), 40),
    (N_("Accepted at"), 19),
    (N_("Rectified at (fix submitted)"), 19),
    (N_("Verified at"), 19),
    (N_("Closed at"), 19),
    (N_("Under supervision (挂牌督办) since"), 19),
    (N_("Days overdue"), 8),
    (N_("Reward"), 20),
)
HEADERS = tuple(header for header, _width in COLUMNS)
WIDTHS = tuple(width for _header, width in COLUMNS)

SOURCES = {False: N_("Public report"), True: N_("Self-reported by the enterprise (隐患自查自报)")}

# The statuses of the rewards table (migration 0005), with the msgids bot/reward_notices.py shows
# them with, so one translation serves both; a case without a row has no reward.
# The reward cell: a reward's status, or "none" once a case ended without one (an open case's
# cell is empty).
REWARD_LABELS: dict[str, str] = {s.value: label for s, label in REWARD_STATUS_LABELS.items()}


def days_overdue(row: LedgerRow, now: dt.datetime) -> int | None:
    """Whole days (begun) an open case is past its deadline; None when it is not overdue."""
    if row.deadline is None or row.status not in OPEN_WITH_DEADLINE or row.deadline >= now:
        return None
    return stats.days_overdue(row.deadline, now)


Cell = str | int | float | dt.datetime | None


@dataclass(frozen=True)
class Ledger:
    """Turns ledger rows into cells in one reader's language."""

    tr: Translator
    cards: Cards
    now: dt.datetime

    def headers(self) -> list[str]:
        return [self.tr.gettext(h) for h in HEADERS]

    def local(self, moment: dt.datetime | None) -> dt.datetime | None:
        """City time to the second, without a zone: spreadsheets have none."""
        if moment is None:
            return None
        return moment.astimezone(self.cards.zone).replace(tzinfo=None, microsecond=0)

    def cells(self, row: LedgerRow) -> list[Cell]:
        _ = self.tr.gettext
        cards = self.cards
        colour = plain_colour(self.tr, Colour(row.colour)) if row.colour in _COLOURS else ""
        level = _(LEVEL_LABELS[Level(row.level)]) if row.level in _LEVELS else ""
        status = _(STATUS_LABELS[Status(row.status)]) if row.status in _STATUSES else row.status
        # No reward row: none for a case that has ended, not decided yet for one still open.
        ended = row.status in _STATUSES and Status(row.status) in FINAL
        reward = row.reward_status or ("none" if ended else "")
        # A fix the officers returned is no rectification: its time and note are history.
        fixed = row.status in _FIX_STANDS
        measures = []
        if row.plan:
            measures.append(_("Rectification plan: {value}").format(value=row.plan))
        if row.fix_note and fixed:
            measures.append(_("Fix note: {value}").format(value=row.fix_note))
        # A pin without a typed address is still a place: the district and the coordinates.
        place = row.address or cards.spot(self.tr, None, row.latitude, row.longitude, row.district)
        return [
            row.number,
            self.local(row.created_at),
            _(SOURCES[row.self_reported]),
            safe_text(channel_name(self.tr, row.channel)),
            safe_text(row.enterprise),
            safe_text(row.credit_code),
            safe_text(place),
            cards.district(self.tr, row.district) if row.district else "",
            _degrees(row.latitude),
            _degrees(row.longitude),
            cards.category(self.tr, row.category),
            # The reporter's words stand for the department's until order templates exist
            # (#16): the ledger is the supervisors' own document (#20 decides who sees what).
            safe_text(row.description),
            colour,
            level,
            cards.department(self.tr, row.department),
            status,
            self.local(row.deadline),
            safe_text("\n".join(measures)),
            self.local(row.accepted_at),
            self.local(row.fix_submitted_at) if fixed else None,
            self.local(row.verified_at),
            self.local(row.closed_at),
            self.local(row.escalated_at),
            days_overdue(row, self.now),
            _(REWARD_LABELS[reward]) if reward in REWARD_LABELS else reward,
        ]


def _degrees(value: float | None) -> float | None:
    """A coordinate to five decimals (about a metre), as the cards show it."""
    return None if value is None else round(value, 5)


_COLOURS = frozenset(c.value for c in Colour)
_LEVELS = frozenset(level.value for level in Level)
_STATUSES = frozenset(s.value for s in Status)
_FIX_STANDS = frozenset({Status.FIX_SUBMITTED.value, Status.CLOSED.value})


def _csv_cell(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return f"{value:%Y-%m-%d %H:%M:%S}"
    if isinstance(value, float):
        return f"{value:.5f}"  # a coordinate: its trailing zeros are its precision
    return str(value)


def write(ledger: Ledger, rows: Iterable[LedgerRow], csv_path: Path, xlsx_path: Path) -> int:
    """Write both files in one pass over ``rows``; return how many cases they hold.

    The XLSX is openpyxl's write-only workbook: rows go out as they come, so a year's ledger
    never sits in memory; times show to the second, coordinates to 5 decimals.
    """
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

    def styled(value: Cell) -> object:
        if isinstance(value, dt.datetime):
            cell = WriteOnlyCell(sheet, value=value)
            cell.number_format = "yyyy-mm-dd hh:mm:ss"
            return cell
        if isinstance(value, float):
            cell = WriteOnlyCell(sheet, value=value)
            cell.number_format = "0.00000"
            return cell
        return value

    count = 0
    # utf-8-sig: a byte-order mark, so that Excel reads the Chinese as UTF-8.
    with csv_path.open("w", encoding="utf-8-sig", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(headers)
        for row in rows:
            cells = ledger.cells(row)
            writer.writerow([_csv_cell(c) for c in cells])
            sheet.append([styled(c) for c in cells])
            count += 1
    book.save(xlsx_path)
    return count


def _sheet_title(title: str) -> str:
    """A worksheet title Excel accepts: no []:*?/\\, at most 31 characters."""
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
    """Write the ledger into a fresh folder under ``root`` (blocking: a worker process; every
    argument is pickled to it)."""
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
    reader = services.db.ledger_reader()
    book = Ledger(tr, cards(services), services.clock.now())
    return await services.offload.files.run(
        export_files, root, reader, book, asked.scope, asked.period
    )


async def discard(export: Export) -> None:
    await asyncio.to_thread(shutil.rmtree, export.csv.parent, ignore_errors=True)
