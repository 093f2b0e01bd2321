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
        category="fire",
        district=None,
        address=typed,
        colour=None,
        level=None,
        department="fire",
        enterprise=typed,
        deadline=None,
        status="submitted",
        closed_at=None,
        escalated_at=None,
        self_reported=False,
        reward_status=None,
    )


def test_the_hazard_ledger_guards_the_address_and_the_enterprise(
    city: CityConfig, tmp_path: Path
) -> None:
    book = ledger.Ledger(Catalogs().translator(Language.EN), Cards(city, ZONE), NOW)
    rows = [hazard_row(typed) for typed, _cell in TYPED]
    csv_path, xlsx_path = tmp_path / "ledger.csv", tmp_path / "ledger.xlsx"
    assert ledger.write(book, rows, csv_path, xlsx_path) == len(TYPED)

    with csv_path.open(encoding="utf-8-sig", newline="") as file:
        written = list(csv.reader(file))[1:]
    sheet = load_workbook(xlsx_path).worksheets[0]
    cells = list(sheet.iter_rows(min_row=2, values_only=True))
    for (_typed, cell), line, row in zip(TYPED, written, cells, strict=True):
        assert (line[4], line[8]) == (cell, cell)  # address, enterprise
        assert (row[4], row[8]) == (cell, cell)


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
            reporter_name=typed,
            reporter_phone=typed,
        )
        for index, (typed, _cell) in enumerate(TYPED, start=1)
    ]
    tr = Catalogs().translator(Language.EN)
    data = rewards.to_csv(reward_notices.ledger_rows(services, tr, lines))
    header, *written = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    for (_typed, cell), line in zip(TYPED, written, strict=True):
        row = dict(zip(header, line, strict=True))
        assert (row["Supervisor's note"], row["Reporter"], row["Phone"]) == (cell, cell, cell)
