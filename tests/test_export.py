"""/export: the hazard ledger (隐患台账) as XLSX and CSV, in the reader's language, in scope,
and without the reporter's identity."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence

import pytest

from bot import dates, rectification, verification
from bot.city import CityConfig
from bot.clock import ManualClock
from bot.invites import InviteSpec
from bot.photos import photo_path
from bot.settings import Settings
from bot.vocabulary.grading import Colour
from bot.vocabulary.roles import Role
from fakebotapi import FakeBotAPI
from storage.db import to_db
from tests.support import tables
from tests.support.cases import (
    DESCRIPTION,
    accepted_and_ordered,
    credit_code,
    enterprise_named,
    report,
)
from tests.support.chat import Bot
from tests.support.exports import by_number, csv_rows, export, seeded, sheet_rows
from tests.support.figures import ask_stats
from tests.support.generated import REPORTER, REPORTER_NAME, REPORTER_PHONE, chosen
from tests.support.moments import SHANGHAI
from tests.support.people import account, member, staff
from tests.support.scenarios import an_enterprise_self_report

HEADERS = [
    "Case number",
    "Reported at",
    "Source",
    "Channel",
    "Enterprise",
    "Unified social credit code",
    "Address",
    "District",
    "Latitude",
    "Longitude",
    "Category",
    "Hazard description",
    "Risk colour",
    "Hazard level",
    "Department",
    "Status",
    "Deadline",
    "Measures",
    "Accepted at",
    "Rectified at (fix submitted)",
    "Verified at",
    "Closed at",
    "Under supervision (挂牌督办) since",
    "Days overdue",
    "Reward",
]
HEADERS_ZH_HANS = [
    "案件编号",
    "提交时间",
    "隐患来源",
    "渠道",
    "责任企业",
    "统一社会信用代码",
    "地址",
    "辖区",
    "纬度",
    "经度",
    "隐患类别",
    "隐患描述",
    "风险等级",
    "隐患等级",
    "责任部门",
    "状态",
    "整改期限",
    "整改措施",
    "受理时间",
    "整改完成时间（提交复核）",
    "复核时间",
    "销号时间",
    "挂牌督办时间",
    "逾期天数",
    "举报奖励",
]
HEADERS_ZH_HANT = [
    "案件編號",
    "提交時間",
    "隱患來源",
    "渠道",
    "責任企業",
    "統一社會信用代碼",
    "地址",
    "轄區",
    "緯度",
    "經度",
    "隱患類別",
    "隱患描述",
    "風險等級",
    "隱患等級",
    "權責部門",
    "狀態",
    "整改期限",
    "整改措施",
    "受理時間",
    "整改完成時間（提交複核）",
    "複核時間",
    "銷號時間",
    "掛牌督辦時間",
    "逾期天數",
    "檢舉獎勵",
]
TIME = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")  # to the second, no fraction
TIMES = (
    "Reported at",
    "Deadline",
    "Accepted at",
    "Rectified at (fix submitted)",
    "Verified at",
    "Closed at",
    "Under supervision (挂牌督办) since",
)
SELF_REPORT = "Self-reported by the enterprise (隐患自查自报)"


def city_time(moment: dt.datetime | None) -> tuple[str, dt.datetime | None]:
    """A time as the ledger must show it: CSV text and spreadsheet value, in city time, to the
    second."""
    if moment is None:
        return "", None
    local = moment.astimezone(SHANGHAI).replace(tzinfo=None, microsecond=0)
    return f"{local:%Y-%m-%d %H:%M:%S}", local


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
    lines, cells_of = by_number(rows, ""), by_number(sheet, None)
    assert set(lines) == set(cells_of) == {c.number for c in cases}
    now = bot.clock.now()
    for case in cases:
        line, cells = lines[case.number], cells_of[case.number]
        # The generated times have fractions of a second; the ledger's have none.
        for header, moment in (
            ("Reported at", case.created_at),
            ("Deadline", case.deadline),
            ("Accepted at", case.accepted_at),
            ("Closed at", case.closed_at),
            ("Under supervision (挂牌督办) since", case.escalated_at),
        ):
            assert (line[header], cells[header]) == city_time(moment), header
        category = bot.city.category(case.category)
        assert category is not None
        assert line["Category"] == category.name.en
        department = bot.city.department(case.department)
        assert department is not None
        assert line["Department"] == department.name.en
        assert line["Source"] == (SELF_REPORT if case.self_reported else "Public report")
        assert line["Hazard description"] == cells["Hazard description"] == "A hazard."
        assert line["Address"] == f"{case.id} Jiefang Road"  # typed: the address alone
        overdue = (
            case.status in ("accepted", "assigned", "fix_submitted")
            and case.deadline is not None
            and case.deadline < now
        )
        assert (line["Days overdue"] != "") == overdue
        if case.enterprise_id == 1:
            assert line["Enterprise"] == "'=HYPERLINK(1)"  # text, not a formula
            assert cells["Enterprise"] == "'=HYPERLINK(1)"
            assert line["Unified social credit code"] == "91330100MA27XL0T4C"
        # No reward row: none once the case has ended, not decided yet while it is open.
        ended = case.status in ("closed", "rejected", "merged")
        assert line["Reward"] == ("no reward" if ended else "")
    # The status is in the reader's words.
    statuses = {line["Status"] for line in lines.values()}
    assert "closed" in statuses
    assert "being rectified" in statuses


def assert_no_reporter(rows: Sequence[Sequence[object]], texts: list[str], ids: list[int]) -> None:
    """No cell holds a reporter's name or phone, nor a reporter's Telegram id as a number of its
    own (the digits may well occur inside a coordinate or a time)."""
    for row in rows:
        for cell in row:
            text = "" if cell is None else str(cell)
            words = set(re.findall(r"\w+", text))
            for secret in texts:
                assert secret not in text, (secret, text)
            for user_id in ids:
                assert str(user_id) not in words, (user_id, text)


async def test_offload_processes_make_the_ledger_the_chart_and_the_photo(
    api: FakeBotAPI, settings: Settings, clock: ManualClock, city: CityConfig
) -> None:
    """The bot's own setup (the other tests use a thread): the ledger, the chart and a report's
    photo are made in worker processes, which get the reader's language and the database path
    (the photo's bytes), and send the same files."""
    bot = Bot(api, settings.model_copy(update={"offload_processes": 1}), clock, city)
    await bot.start()
    try:
        made = await seeded(bot, 120)
        stored = "SELECT sha256 FROM photos"
        before = {r[0] for r in tables.rows(bot.db, stored)}
        number = await report(bot.user(language="en"))
        added = {r[0] for r in tables.rows(bot.db, stored)} - before
        assert len(added) == 1
        (newest,) = added
        assert photo_path(bot.settings.photos_dir, newest).is_file()
        supervisor = await staff(bot, InviteSpec(Role.SUPERVISOR))
        xlsx, table = await export(supervisor, "/export year")
        cases = {c.number for c in chosen(made, dt.date(2026, 1, 1), dt.date(2026, 11, 22), None)}
        assert f"{len(cases) + 1} cases" in xlsx.plain
        sheet, rows = sheet_rows(xlsx), csv_rows(table)
        assert sheet[0] == rows[0] == HEADERS
        assert set(by_number(rows, "")) == set(by_number(sheet, None)) == cases | {number}
        _text, png = await ask_stats(supervisor, "/stats year")
        assert png.startswith(b"\x89PNG\r\n\x1a\n")
    finally:
        await bot.stop()


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
    assert_no_reporter(csv_rows(table), [REPORTER_NAME, REPORTER_PHONE], [REPORTER])
    assert_no_reporter(sheet_rows(xlsx), [REPORTER_NAME, REPORTER_PHONE], [REPORTER])


async def test_department_supervisor_gets_their_department_only(bot: Bot) -> None:
    made = await seeded(bot)
    supervisor = await staff(bot, InviteSpec(Role.SUPERVISOR, "housing"))
    xlsx, table = await export(supervisor, "/export 2025-06-01..2026-11-22")
    cases = chosen(made, dt.date(2025, 6, 1), dt.date(2026, 11, 22), {"housing"})
    lines = by_number(csv_rows(table), "")
    assert len(lines) == len(cases) > 10
    housing = {"Housing and Urban-Rural Development Bureau"}
    assert {line["Department"] for line in lines.values()} == housing
    assert set(lines) == {c.number for c in cases}
    assert {line["Department"] for line in by_number(sheet_rows(xlsx), None).values()} == housing


@pytest.mark.parametrize(
    ("language", "headers"),
    [("zh-hans", HEADERS_ZH_HANS), ("zh-hant", HEADERS_ZH_HANT), ("en", HEADERS)],
)
async def test_the_header_row_is_in_the_readers_language(
    bot: Bot, language: str, headers: list[str]
) -> None:
    await seeded(bot, 20)
    supervisor = await member(bot, Role.SUPERVISOR, None, language=language)
    xlsx, table = await export(supervisor, "/export 2025-06-01..2026-11-22")
    assert csv_rows(table)[0] == headers
    assert sheet_rows(xlsx)[0] == headers


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
    lines = by_number(csv_rows(table), "")
    line = lines[rewarded.number]
    category = bot.city.category(rewarded.category)
    assert category is not None
    assert line["隐患类别"] == category.name.zh_Hans
    assert line["状态"] == "已销号"
    assert line["举报奖励"] != "no reward"  # the rewards table's status, not "none"
    others = {r["举报奖励"] for number, r in lines.items() if number != rewarded.number}
    assert others == {"无奖励", ""}  # every other case: none, or not decided while open
    assert line["举报奖励"] not in others
    colours = {r["风险等级"] for r in lines.values()} - {""}
    assert colours == {"红色（重大风险）", "橙色（较大风险）", "黄色（一般风险）", "蓝色（低风险）"}
    sources = {r["隐患来源"] for r in lines.values()}
    assert sources == {"群众举报", "企业隐患自查自报"}


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


async def test_the_ledger_of_what_happened_in_the_chat(bot: Bot) -> None:
    """A department's ledger of cases made in the chat: citizens' reports with only a map pin,
    one fixed and closed (销号), one closed and reopened by its reporter, one whose fix was
    returned; an enterprise's self-report with its plan. Every moment has a fraction of a
    second; the ledger has none, in either file."""
    bot.clock.set(dt.datetime(2026, 11, 22, 2, 0, 0, 654_321, tzinfo=dt.UTC))  # 10:00 in the city
    await an_enterprise_self_report(bot)  # Riverside Chemicals, acknowledged at once
    enterprise_id = await enterprise_named(bot, "Golden Dragon Restaurant", credit_code(7))
    officer = await staff(bot, InviteSpec(Role.OFFICER, "fire"))
    contact = await staff(bot, InviteSpec(Role.ENTERPRISE, enterprise_id=enterprise_id))
    supervisor = await staff(bot, InviteSpec(Role.SUPERVISOR))
    citizens = [bot.user(language="en") for _ in range(3)]
    closed = await report(citizens[0])  # in the name of Chen Jing, 13912345678
    reopened = await report(citizens[1], photo_seed=5, anonymous=True)
    returned = await report(citizens[2], photo_seed=9, anonymous=True)
    await bot.drain()

    bot.clock.advance(hours=1, minutes=23, seconds=45.5)  # 11:23:46.15
    cases = {}
    for number in (closed, reopened, returned):
        cases[number] = await accepted_and_ordered(
            bot, officer, number, enterprise_id, colour=Colour.ORANGE, days=15
        )
    bot.clock.advance(days=2, hours=4, minutes=5, seconds=6.7)  # 2026-11-24 15:28:52.85
    by_contact, by_officer = await account(bot, contact), await account(bot, officer)
    for number, note in (
        (closed, "Replaced the lock with a panic bar."),
        (reopened, "Cleared the sacks from the exit."),
        (returned, "Put up a sign."),
    ):
        case = cases[number]
        cases[number] = await rectification.submit_fix(bot.services, by_contact, case.id, [], note)
    bot.clock.advance(hours=3, seconds=0.4)  # 18:28:53.25
    for number in (closed, reopened):
        case = cases[number]
        cases[number] = await verification.close(bot.services, by_officer, case.id, case.version)
    case = cases[returned]
    again = dates.end_of_day(bot.services, 7)
    await verification.return_fix(
        bot.services, by_officer, case.id, case.version, "A sign is no fix.", again
    )
    bot.clock.advance(days=1, seconds=0.9)  # 2026-11-25 18:28:54.15
    reporter = await account(bot, citizens[1])
    await verification.reopen(bot.services, reporter, cases[reopened].id, "Blocked again.", None)
    await bot.drain()

    xlsx, table = await export(supervisor, "/export month")
    rows, sheet = csv_rows(table), sheet_rows(xlsx)
    lines, cells_of = by_number(rows, ""), by_number(sheet, None)
    assert len(lines) == len(cells_of) == 4
    laocheng = "Laocheng District"
    pin = {
        # No address was typed: the place is the pin's district and coordinates, not a blank.
        "Address": f"30.28000, 120.19000 · {laocheng}",
        "District": laocheng,
        "Latitude": "30.28000",
        "Longitude": "120.19000",
    }
    ordered = {
        **pin,
        "Reported at": "2026-11-22 10:00:00",
        "Source": "Public report",
        "Channel": "Telegram chat",
        "Enterprise": "Golden Dragon Restaurant",
        "Unified social credit code": credit_code(7),
        "Category": "Fire safety",
        "Hazard description": DESCRIPTION,
        "Risk colour": "orange (high risk)",
        "Hazard level": "general hazard",
        "Department": "Fire and Rescue Detachment",
        "Deadline": "2026-12-07 23:59:59",
        "Accepted at": "2026-11-22 11:23:46",
        "Under supervision (挂牌督办) since": "",
        "Days overdue": "",
    }
    expected = {
        closed: {
            **ordered,
            "Status": "closed",
            "Measures": "Fix note: Replaced the lock with a panic bar.",
            "Rectified at (fix submitted)": "2026-11-24 15:28:52",
            "Verified at": "2026-11-24 18:28:53",
            "Closed at": "2026-11-24 18:28:53",
            "Reward": "no reward",
        },
        # The reporter said it is not fixed: no longer closed (销号), but it was verified.
        reopened: {
            **ordered,
            "Status": "fix awaiting review",
            "Measures": "Fix note: Cleared the sacks from the exit.",
            "Rectified at (fix submitted)": "2026-11-24 15:28:52",
            "Verified at": "2026-11-24 18:28:53",
            "Closed at": "",
            "Reward": "",
        },
        # A returned fix is no rectification: neither its time nor its note are the case's.
        returned: {
            **ordered,
            "Status": "being rectified",
            "Deadline": "2026-12-01 23:59:59",
            "Measures": "",
            "Rectified at (fix submitted)": "",
            "Verified at": "",
            "Closed at": "",
            "Reward": "",
        },
    }
    for number, fields in expected.items():
        assert {h: lines[number][h] for h in fields} == fields, number
    (own,) = (line for number, line in lines.items() if number not in expected)
    assert {h: own[h] for h in (*pin, "Reported at", "Accepted at")} == {
        **pin,
        "Reported at": "2026-11-22 10:00:00",
        "Accepted at": "2026-11-22 10:00:00",  # acknowledged at once
    }
    assert own["Source"] == SELF_REPORT
    assert (own["Enterprise"], own["Unified social credit code"]) == (
        "Riverside Chemicals",
        "91330100MA27XL0T4C",
    )
    assert own["Hazard description"] == (
        "Solvent drums stored next to the boiler room, no partition wall."
    )
    assert own["Hazard level"] == "major hazard"
    assert own["Measures"].startswith("Rectification plan: Move the drums to the licensed store")
    assert (own["Status"], own["Rectified at (fix submitted)"]) == ("being rectified", "")

    # The spreadsheet holds the same, as real times (to the second) and numbers.
    for number, line in lines.items():
        cells = cells_of[number]
        for header in TIMES:
            if line[header]:
                assert TIME.fullmatch(line[header]), line[header]
                moment = cells[header]
                assert isinstance(moment, dt.datetime)
                assert moment.microsecond == 0
                assert f"{moment:%Y-%m-%d %H:%M:%S}" == line[header]
            else:
                assert cells[header] is None
        assert (cells["Latitude"], cells["Longitude"]) == (30.28, 120.19)
        texts = set(HEADERS) - set(TIMES) - {"Latitude", "Longitude", "Days overdue"}
        for header in texts:
            assert (cells[header] or "") == line[header], header

    # Nobody who reported is in it: not the named reporter, nor anyone's account.
    contacts = tables.rows(bot.db, "SELECT user_id FROM memberships WHERE role = 'enterprise'")
    ids = [c.user_id for c in citizens] + [row[0] for row in contacts]
    for found in (rows, sheet):
        assert_no_reporter(found, ["Chen Jing", "13912345678"], ids)
