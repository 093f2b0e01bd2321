"""/export: the hazard ledger (隐患台账) as XLSX and CSV, in the reader's language, in scope,
and without the reporter's identity."""

from __future__ import annotations

import datetime as dt

from bot.invites import InviteSpec
from bot.vocabulary.roles import Role
from storage.db import to_db
from tests.support import tables
from tests.support.chat import Bot
from tests.support.exports import csv_rows, export, seeded, sheet_rows
from tests.support.generated import REPORTER, REPORTER_NAME, REPORTER_PHONE, chosen
from tests.support.moments import SHANGHAI
from tests.support.people import member, staff

HEADERS = [
    "Case number",
    "Reported at",
    "Category",
    "District",
    "Address",
    "Risk colour",
    "Hazard level",
    "Department",
    "Enterprise",
    "Deadline",
    "Status",
    "Closed at",
    "Days overdue",
    "Under supervision (挂牌督办) since",
    "Reward",
]


async def test_city_ledger_has_every_column_and_case(bot: Bot) -> None:
    made = await seeded(bot)
    supervisor = await staff(bot, InviteSpec(Role.SUPERVISOR))
    xlsx, table = await export(supervisor, "/export year")
    cases = chosen(made, dt.date(2026, 1, 1), dt.date(2026, 11, 22), None)
    assert f"{len(cases)} cases" in xlsx.plain
    sheet, rows = sheet_rows(xlsx), csv_rows(table)
    assert sheet[0] == HEADERS
    assert rows[0] == HEADERS
    assert len(sheet) == len(rows) == len(cases) + 1
    by_number = {c.number: c for c in cases}
    assert {r[0] for r in rows[1:]} == set(by_number)
    now = bot.clock.now()
    for line, cells in zip(rows[1:], sheet[1:], strict=True):
        case = by_number[line[0]]
        assert cells[0] == line[0]
        reported = case.created_at.astimezone(SHANGHAI)
        assert line[1] == f"{reported:%Y-%m-%d %H:%M}"
        assert isinstance(cells[1], dt.datetime)  # a real date in the spreadsheet
        assert abs(cells[1] - reported.replace(tzinfo=None)) < dt.timedelta(seconds=1)
        category = bot.city.category(case.category)
        assert category is not None
        assert line[2] == category.name.en
        department = bot.city.department(case.department)
        assert department is not None
        assert line[7] == department.name.en
        overdue = (
            case.status in ("accepted", "assigned", "fix_submitted")
            and case.deadline is not None
            and case.deadline < now
        )
        assert (line[12] != "") == overdue
        assert (line[13] != "") == (case.escalated_at is not None)
        if case.enterprise_id == 1:
            assert line[8] == "'=HYPERLINK(1)"  # text, not a formula
        # No reward row: none once the case has ended, not decided yet while it is open.
        ended = case.status in ("closed", "rejected", "merged")
        assert line[14] == ("no reward" if ended else "")
    # The status is in the reader's words.
    statuses = {line[10] for line in rows[1:]}
    assert "closed" in statuses
    assert "being rectified" in statuses


async def test_ledger_has_no_reporter_identity(bot: Bot) -> None:
    await seeded(bot, 200)
    supervisor = await staff(bot, InviteSpec(Role.SUPERVISOR))
    xlsx, table = await export(supervisor, "/export 2025-06-01..2026-11-22")
    assert table.document is not None
    text = table.document.decode("utf-8-sig")
    cells = " ".join(str(v) for row in sheet_rows(xlsx) for v in row if v is not None)
    for secret in (REPORTER_NAME, REPORTER_PHONE, str(REPORTER)):
        assert secret not in text
        assert secret not in cells


async def test_department_supervisor_gets_their_department_only(bot: Bot) -> None:
    made = await seeded(bot)
    supervisor = await staff(bot, InviteSpec(Role.SUPERVISOR, "housing"))
    xlsx, table = await export(supervisor, "/export 2025-06-01..2026-11-22")
    cases = chosen(made, dt.date(2025, 6, 1), dt.date(2026, 11, 22), {"housing"})
    rows = csv_rows(table)[1:]
    assert len(rows) == len(cases) > 10
    assert {r[7] for r in rows} == {"Housing and Urban-Rural Development Bureau"}
    assert {r[0] for r in rows} == {c.number for c in cases}
    assert {r[7] for r in sheet_rows(xlsx)[1:]} == {"Housing and Urban-Rural Development Bureau"}


async def test_ledger_speaks_the_readers_language_and_shows_rewards(bot: Bot) -> None:
    made = await seeded(bot, 300)
    rewarded = next(c for c in made if c.status == "closed" and not c.self_reported)
    stamp = to_db(bot.clock.now())
    tables.execute(
        bot.db,
        "INSERT INTO rewards (case_id, reporter_id, genuine, status, basis, proposed_at,"
        " updated_at) VALUES (?, ?, 1, 'approved', 'ordinary', ?, ?)",
        (rewarded.id, REPORTER, stamp, stamp),
    )
    supervisor = await member(bot, Role.SUPERVISOR, None, language="zh-hans")
    _xlsx, table = await export(supervisor, "/export 2025-06-01..2026-11-22")
    rows = {r[0]: r for r in csv_rows(table)[1:]}
    line = rows[rewarded.number]
    category = bot.city.category(rewarded.category)
    assert category is not None
    assert line[2] == category.name.zh_Hans
    assert line[10] == "已销号"
    assert line[14] != "no reward"  # the rewards table's status, not "none"
    others = {r[14] for number, r in rows.items() if number != rewarded.number}
    assert others == {"无奖励", ""}  # every other case: none, or not decided while open
    assert line[14] not in others
    colours = {r[5] for r in rows.values()} - {""}
    assert colours == {"红色（重大风险）", "橙色（较大风险）", "黄色（一般风险）", "蓝色（低风险）"}


async def test_officers_and_citizens_get_no_ledger(bot: Bot) -> None:
    await seeded(bot, 50)
    for user in (await staff(bot, InviteSpec(Role.OFFICER, "fire")), bot.user(language="en")):
        await user.send("/export")
        assert user.last.plain == "You are not allowed to do that."
        assert all(m.method != "sendDocument" for m in user.transcript)


async def test_an_empty_period_says_so(bot: Bot) -> None:
    supervisor = await staff(bot, InviteSpec(Role.SUPERVISOR))
    await supervisor.send("/export today")
    assert "the ledger is empty" in supervisor.last.plain
    assert all(m.method != "sendDocument" for m in supervisor.transcript)
    await supervisor.send("/export someday")
    assert "Please give the period as" in supervisor.last.plain
