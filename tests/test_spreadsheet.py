"""One formula guard for the spreadsheets staff download: a typed text never becomes a formula
nor breaks the file, in the hazard ledger (隐患台账) and in the reward ledger alike."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from bot import ledger, reward_notices, rewards
from bot.cards import Cards
from bot.city import CityConfig
from bot.clock import ManualClock
from bot.i18n import Catalogs, Language
from bot.services import Services
from bot.settings import Settings
from bot.spreadsheet import safe_text
from bot.vocabulary.models import ReporterContact
from storage.db import Database
from storage.rewards import LedgerLine, Reward, RewardStatus
from storage.stats import LedgerRow

ZONE = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 11, 22, 9, 0, tzinfo=dt.UTC)

# What a person may type, and the cell it must become.
TYPED = [
    ("=HYPERLINK(1)", "'=HYPERLINK(1)"),
    ("+86 139", "'+86 139"),
    ("-1", "'-1"),
    ("@SUM(A1)", "'@SUM(A1)"),
    ("\t=1", "'\t=1"),
    ("\r=1", "'\r=1"),
    # A control character is dropped first: what it hid is then guarded too.
    ("\x07=1+1", "'=1+1"),
    ("Zhang\x00 San\x1b", "Zhang San"),
    ("No. 5 Harbour Road", "No. 5 Harbour Road"),
]


@pytest.mark.parametrize(("typed", "cell"), TYPED)
def test_a_typed_text_becomes_a_plain_cell(typed: str, cell: str) -> None:
    assert safe_text(typed) == cell


def test_nothing_typed_is_an_empty_cell() -> None:
    assert safe_text(None) == ""
    assert safe_text("") == ""


def hazard_row(typed: str) -> LedgerRow:
    return LedgerRow(
        number="YH-20261122-0001",
        created_at=NOW,
        self_reported=False,
        enterprise=typed,
        credit_code=typed,
        address=typed,
        district=None,
        latitude=None,
        longitude=None,
        category="fire",
        description=typed,
        colour=None,
        level=None,
        department="fire",
        status="closed",
        deadline=None,
        plan=typed,
        fix_note=typed,
        accepted_at=None,
        fix_submitted_at=None,
        verified_at=None,
        closed_at=None,
        escalated_at=None,
        reward_status=None,
    )


GUARDED = ("Enterprise", "Unified social credit code", "Address", "Hazard description")


def test_the_hazard_ledger_guards_every_typed_text(city: CityConfig, tmp_path: Path) -> None:
    book = ledger.Ledger(Catalogs().translator(Language.EN), Cards(city, ZONE), NOW)
    rows = [hazard_row(typed) for typed, _cell in TYPED]
    csv_path, xlsx_path = tmp_path / "ledger.csv", tmp_path / "ledger.xlsx"
    assert ledger.write(book, rows, csv_path, xlsx_path) == len(TYPED)

    with csv_path.open(encoding="utf-8-sig", newline="") as file:
        header, *written = list(csv.reader(file))
    sheet = load_workbook(xlsx_path).worksheets[0]
    cells = list(sheet.iter_rows(min_row=2, values_only=True))
    for (typed, cell), line, row in zip(TYPED, written, cells, strict=True):
        by_header = dict(zip(header, line, strict=True))
        in_sheet = dict(zip(header, row, strict=False))
        for name in GUARDED:
            assert (by_header[name], in_sheet[name]) == (cell, cell), (name, typed)
        # The plan and the fix note follow a label: no formula, and control characters go.
        plain = safe_text(typed).removeprefix("'")
        assert by_header["Measures"] == f"Rectification plan: {plain}\nFix note: {plain}"
        assert in_sheet["Measures"] == by_header["Measures"]


def test_the_hazard_ledger_opens_as_a_spreadsheet(city: CityConfig, tmp_path: Path) -> None:
    """Headers bold and kept in view, columns as wide as set, times shown to the second,
    coordinates to five decimals."""
    book = ledger.Ledger(Catalogs().translator(Language.EN), Cards(city, ZONE), NOW)
    row = hazard_row("No. 5 Harbour Road")._replace(
        created_at=NOW + dt.timedelta(microseconds=999_999), latitude=30.28, longitude=-120.1
    )
    csv_path, xlsx_path = tmp_path / "ledger.csv", tmp_path / "ledger.xlsx"
    ledger.write(book, [row], csv_path, xlsx_path)
    workbook = load_workbook(xlsx_path)
    sheet = workbook.worksheets[0]
    assert sheet.title == "Hazard ledger"
    assert sheet.freeze_panes == "A2"
    assert all(cell.font.b for cell in sheet[1])
    assert [sheet.column_dimensions[c].width for c in "ABL"] == [20, 19, 40]
    reported, latitude, longitude = sheet["B2"], sheet["I2"], sheet["J2"]
    # City time without a zone (a spreadsheet has none), and without the fraction.
    assert reported.value == dt.datetime(2026, 11, 22, 17, 0, tzinfo=ZONE).replace(tzinfo=None)
    assert reported.number_format == "yyyy-mm-dd hh:mm:ss"
    assert (latitude.value, longitude.value) == (30.28, -120.1)
    assert latitude.number_format == "0.00000"
    with csv_path.open(encoding="utf-8-sig", newline="") as file:
        line = list(csv.reader(file))[1]
    assert (line[1], line[8], line[9]) == ("2026-11-22 17:00:00", "30.28000", "-120.10000")


async def test_the_reward_ledger_guards_the_note_and_the_reporter(
    settings: Settings, city: CityConfig, db: Database, clock: ManualClock
) -> None:
    services = Services(settings, city, db, clock, Catalogs())
    lines = [
        LedgerLine(
            reward=Reward(
                id=index,
                case_id=index,
                reporter_id=1,
                level=None,
                genuine=True,
                fine=None,
                amount_proposed=300,
                amount_approved=None,
                status=RewardStatus.PROPOSED,
                basis="ordinary",
                decision_note=typed,
                proposed_by=2,
                proposed_at=NOW,
                approved_by=None,
                approved_at=None,
                refused_by=None,
                refused_at=None,
                claim_code_hash=None,
                code_issued_at=None,
                expires_at=None,
                reminded_at=None,
                paid_by=None,
                paid_at=None,
                expired_at=None,
                updated_at=NOW,
            ),
            number=f"YH-20261122-{index:04d}",
            department="fire",
            category="fire",
            anonymous=False,
        )
        for index, (typed, _cell) in enumerate(TYPED, start=1)
    ]
    reporters = {
        index: ReporterContact(
            case_id=index, channel="telegram", name=typed, phone=typed, email=None
        )
        for index, (typed, _cell) in enumerate(TYPED, start=1)
    }
    tr = Catalogs().translator(Language.EN)
    data = rewards.to_csv(reward_notices.ledger_rows(services, tr, lines, reporters))
    header, *written = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    for (_typed, cell), line in zip(TYPED, written, strict=True):
        row = dict(zip(header, line, strict=True))
        assert (row["Supervisor's note"], row["Reporter"], row["Phone"]) == (cell, cell, cell)
