"""The period of /stats and /export: what a supervisor types, in English or Chinese, and what they
get when they type nothing on the first days of a month (it was a day or two of nothing).

The parser is tested on a moved clock; the chat tests set the clock to a December morning and
ask, as a supervisor would before the monthly meeting, for November.
"""

from __future__ import annotations

import datetime as dt

import pytest

from bot import stats
from bot.clock import ManualClock
from bot.i18n import Catalogs, Language
from bot.invites import InviteSpec
from bot.vocabulary.roles import Role
from storage.db import to_db
from tests.support import tables
from tests.support.chat import Bot
from tests.support.exports import csv_rows, export, seeded
from tests.support.figures import ask_stats, assert_text
from tests.support.generated import DAY, Made, chosen, insert_cases
from tests.support.moments import SHANGHAI, local
from tests.support.people import member, staff

NOVEMBER = (dt.date(2026, 11, 1), dt.date(2026, 11, 30))


def city_time(day: dt.date, hour: float = 10) -> dt.datetime:
    return local(day, hour)


def period(clock: ManualClock, text: str | None) -> tuple[dt.date, dt.date]:
    got = stats.parse_period(text, clock.now(), SHANGHAI)
    assert got.start == dt.datetime.combine(got.first, dt.time(), tzinfo=SHANGHAI)
    assert got.end == dt.datetime.combine(got.last + DAY, dt.time(), tzinfo=SHANGHAI)
    return got.first, got.last


# The parser ------------------------------------------------------------------------------------


def test_default_takes_in_last_month_during_the_first_week(clock: ManualClock) -> None:
    """Nothing typed: this month so far, from the 1st of last month while it is under a week
    old; the day is the city's (00:30 on 1 December is still 30 November in UTC)."""
    clock.set(city_time(dt.date(2026, 12, 1), 0.5))
    assert period(clock, None) == (dt.date(2026, 11, 1), dt.date(2026, 12, 1))
    assert period(clock, "  ") == (dt.date(2026, 11, 1), dt.date(2026, 12, 1))
    clock.set(city_time(dt.date(2026, 12, 7), 23.9))
    assert period(clock, None) == (dt.date(2026, 11, 1), dt.date(2026, 12, 7))
    clock.set(city_time(dt.date(2026, 12, 8)))
    assert period(clock, None) == (dt.date(2026, 12, 1), dt.date(2026, 12, 8))
    clock.set(city_time(dt.date(2027, 1, 2)))
    assert period(clock, None) == (dt.date(2026, 12, 1), dt.date(2027, 1, 2))
    clock.set(city_time(dt.date(2026, 11, 22)))
    assert period(clock, None) == (dt.date(2026, 11, 1), dt.date(2026, 11, 22))


@pytest.mark.parametrize(
    "text",
    [
        "last-month",
        "last month",
        "Last_Month",
        "上月",
        "上个月",
        "上個月",
        "2026-11",
        "2026/11",
        "2026.11",
        "2026年11月",
        " 2026 年 11 月 ",
        "２０２６年１１月",
        "２０２６－１１",
        "2026年11月1日至2026年11月30日",
        "2026-11-01 到 2026-11-30",
        "2026-11..2026-11",
    ],
)
def test_last_month_in_every_spelling(clock: ManualClock, text: str) -> None:
    clock.set(city_time(dt.date(2026, 12, 1)))
    assert period(clock, text) == NOVEMBER


def test_last_month_of_january_is_last_years_december(clock: ManualClock) -> None:
    clock.set(city_time(dt.date(2027, 1, 5)))
    december = (dt.date(2026, 12, 1), dt.date(2026, 12, 31))
    assert period(clock, "上月") == december
    assert period(clock, "2026-12") == december
    assert period(clock, "2024年2月") == (dt.date(2024, 2, 1), dt.date(2024, 2, 29))


@pytest.mark.parametrize(
    ("english", "chinese"),
    [
        ("today", ["今天", "今日"]),
        ("week", ["本周", "这周", "本週", "這週", "this week"]),
        ("month", ["本月", "这个月", "這個月", "this-month"]),
        ("year", ["今年", "本年", "This Year"]),
    ],
)
def test_each_word_is_understood_in_chinese_too(
    clock: ManualClock, english: str, chinese: list[str]
) -> None:
    clock.set(city_time(dt.date(2026, 12, 3)))  # a Thursday
    first = {
        "today": dt.date(2026, 12, 3),
        "week": dt.date(2026, 11, 30),
        "month": dt.date(2026, 12, 1),
        "year": dt.date(2026, 1, 1),
    }[english]
    assert period(clock, english) == (first, dt.date(2026, 12, 3))
    for text in chinese:
        assert period(clock, text) == (first, dt.date(2026, 12, 3)), text


def test_months_and_chinese_dates_make_ranges(clock: ManualClock) -> None:
    clock.set(city_time(dt.date(2026, 12, 10)))
    # This month ends today: the days to come have no report.
    assert period(clock, "2026-12") == (dt.date(2026, 12, 1), dt.date(2026, 12, 10))
    assert period(clock, "2026-09..2026-11") == (dt.date(2026, 9, 1), dt.date(2026, 11, 30))
    assert period(clock, "2026年9月～2026年12月") == (dt.date(2026, 9, 1), dt.date(2026, 12, 10))
    assert period(clock, "2026年11月3日") == (dt.date(2026, 11, 3), dt.date(2026, 11, 3))
    assert period(clock, "2026年11月3号至2026年11月5號") == (
        dt.date(2026, 11, 3),
        dt.date(2026, 11, 5),
    )
    assert period(clock, "２０２６／１１／０３") == (dt.date(2026, 11, 3), dt.date(2026, 11, 3))
    assert period(clock, "2026.11.03..2026.11.05") == (dt.date(2026, 11, 3), dt.date(2026, 11, 5))
    with pytest.raises(stats.PeriodReversed) as reversed_months:
        stats.parse_period("2026-11..2026-09", clock.now(), SHANGHAI)
    assert reversed_months.value.params["text"] == "2026-11-01..2026-09-30"


@pytest.mark.parametrize(
    "text",
    [
        "last",
        "lastmonth",
        "fortnight",
        "上上月",
        "2026-13",
        "2026年13月",
        "2026-11-31",
        "2026-02-30..2026-03-01",
        "2026-05-01..",
        "1..2",
    ],
)
def test_a_refusal_lists_the_forms_with_last_month_as_the_example(
    clock: ManualClock, text: str
) -> None:
    clock.set(city_time(dt.date(2026, 12, 1)))
    with pytest.raises(stats.PeriodInvalid) as refused:
        stats.parse_period(text, clock.now(), SHANGHAI)
    assert refused.value.params["example"] == "2026-11-01..2026-11-30"
    said = refused.value.render(Catalogs().translator(Language.EN).gettext)
    assert "Please give the period as today, week, month or year" in said
    for form in ("last-month", "2026-11", "2026-11-01..2026-11-30", "first 7 days"):
        assert form in said, said


# In the chat ---------------------------------------------------------------------------------


def made(
    n: int,
    created: dt.datetime,
    status: str,
    *,
    category: str = "fire",
    deadline: dt.datetime | None = None,
    closed: dt.datetime | None = None,
    escalated: dt.datetime | None = None,
) -> Made:
    accepted = None if status == "submitted" else created + dt.timedelta(hours=2)
    assigned = None if status == "submitted" else created + dt.timedelta(hours=4)
    day = created.astimezone(SHANGHAI).date()
    return Made(
        n,
        f"YH-{day:%Y%m%d}-{n:05d}",
        "fire" if category == "fire" else "housing",
        category,
        "laocheng",
        None if status == "submitted" else "yellow",
        status,
        False,
        created,
        accepted,
        assigned,
        deadline,
        closed,
        escalated,
        None,
    )


async def late_autumn(bot: Bot) -> list[Made]:
    """1 December, 10:00: November's cases, one older case still open and under supervision,
    and nothing reported yet on the 1st."""
    bot.clock.set(city_time(dt.date(2026, 12, 1)))
    cases = [
        made(
            1,
            city_time(dt.date(2026, 10, 20)),
            "assigned",
            deadline=city_time(dt.date(2026, 11, 1), 23.99),
            escalated=city_time(dt.date(2026, 11, 3)),
        ),
        made(
            2,
            city_time(dt.date(2026, 11, 5)),
            "assigned",
            deadline=city_time(dt.date(2026, 11, 20), 23.99),
            escalated=city_time(dt.date(2026, 11, 22)),
        ),
        made(
            3,
            city_time(dt.date(2026, 11, 10)),
            "assigned",
            deadline=city_time(dt.date(2026, 11, 25), 23.99),
        ),
        made(
            4,
            city_time(dt.date(2026, 11, 12)),
            "closed",
            deadline=city_time(dt.date(2026, 11, 20), 23.99),
            closed=city_time(dt.date(2026, 11, 18)),
        ),
        made(5, city_time(dt.date(2026, 11, 30), 23.9), "submitted"),
        made(
            6,
            city_time(dt.date(2026, 11, 15)),
            "assigned",
            category="housing",
            deadline=city_time(dt.date(2026, 12, 20), 23.99),
        ),
    ]
    await insert_cases(bot, cases)
    return cases


async def test_default_stats_on_the_first_of_a_month_show_last_month(bot: Bot) -> None:
    await late_autumn(bot)
    supervisor = await staff(bot, InviteSpec(Role.SUPERVISOR, "fire"))
    text, _png = await ask_stats(supervisor, "/stats")
    assert "Hazards reported 2026-11-01 – 2026-12-01" in text
    assert "Found: 3 · rectified: 1 · rectification rate (整改率): 33.3%" in text
    assert "Rectified on time: 100.0% (1 of 1 with a deadline)" in text
    assert "Overdue now: 2 · under supervision (挂牌督办): 1" in text
    assert "Reports: 4 (awaiting acceptance 1, not accepted 0, merged 0)" in text
    assert "No hazard was reported in this period." not in text


async def test_an_empty_period_still_tells_what_is_overdue_now(bot: Bot) -> None:
    await late_autumn(bot)
    supervisor = await staff(bot, InviteSpec(Role.SUPERVISOR))
    await supervisor.send("/stats today")
    assert supervisor.last.method == "sendMessage"  # nothing to draw
    said = supervisor.last.plain
    assert "Hazards reported 2026-12-01" in said
    assert "No hazard was reported in this period." in said
    assert (
        "Overdue now, whatever the period: 3 · of them under supervision (挂牌督办): 2"
        " · the list: /overdue"
    ) in said
    # The housing bureau has nothing late: its supervisor is told so.
    housing = await staff(bot, InviteSpec(Role.SUPERVISOR, "housing"))
    await housing.send("/stats 今天")
    assert "No hazard was reported in this period." in housing.last.plain
    assert "No case is overdue. Well done!" in housing.last.plain


@pytest.mark.parametrize(
    ("language", "line"),
    [
        ("zh-hans", "超时未受理，挂牌督办：1"),
        ("zh-hant", "逾時未受理，掛牌督辦：1"),
        ("en", "Not accepted in time, under supervision (挂牌督办): 1"),
    ],
)
async def test_an_empty_period_counts_escalations_for_late_acceptance(
    bot: Bot, language: str, line: str
) -> None:
    cases = await late_autumn(bot)
    waiting = next(c for c in cases if c.status == "submitted")
    tables.execute(
        bot.db,
        "UPDATE cases SET escalated_at = ? WHERE id = ?",
        (to_db(waiting.created_at + dt.timedelta(days=1)), waiting.id),
    )
    supervisor = await member(bot, Role.SUPERVISOR, None, language=language)
    await supervisor.send("/stats today")
    assert line in supervisor.last.plain
    # A department with nothing late and nothing escalated is still told so.
    housing = await staff(bot, InviteSpec(Role.SUPERVISOR, "housing"))
    await housing.send("/stats today")
    assert "No case is overdue. Well done!" in housing.last.plain


async def test_default_export_on_the_first_of_a_month_holds_last_month(bot: Bot) -> None:
    cases = await late_autumn(bot)
    supervisor = await staff(bot, InviteSpec(Role.SUPERVISOR))
    xlsx, table = await export(supervisor, "/export")
    assert xlsx.document_name == "hazard-ledger-20261101-20261201.xlsx"
    november = {c.number for c in cases if c.local_day >= dt.date(2026, 11, 1)}
    assert {row[0] for row in csv_rows(table)[1:]} == november
    assert "2026-11-01 – 2026-12-01: 5 cases" in xlsx.plain


@pytest.mark.parametrize("text", ["/stats 上月", "/stats 2026-11", "/stats last-month"])
async def test_stats_of_last_month_match_the_cases_reported_in_it(bot: Bot, text: str) -> None:
    bot.clock.set(city_time(dt.date(2026, 12, 3)))
    world = await seeded(bot, 3000)
    supervisor = await staff(bot, InviteSpec(Role.SUPERVISOR))
    said, _png = await ask_stats(supervisor, text)
    assert "Hazards reported 2026-11-01 – 2026-11-30" in said
    november = chosen(world, *NOVEMBER, None)
    assert len(november) > 100
    assert_text(said, november, bot.clock.now())


@pytest.mark.parametrize("text", ["/export 2026-11", "/export 上个月"])
async def test_export_of_a_month_holds_its_cases(bot: Bot, text: str) -> None:
    bot.clock.set(city_time(dt.date(2026, 12, 3)))
    world = await seeded(bot, 1500)
    supervisor = await staff(bot, InviteSpec(Role.SUPERVISOR))
    xlsx, table = await export(supervisor, text)
    assert xlsx.document_name == "hazard-ledger-20261101-20261130.xlsx"
    assert table.document_name == "hazard-ledger-20261101-20261130.csv"
    november = chosen(world, *NOVEMBER, None)
    assert len(november) > 50
    assert {row[0] for row in csv_rows(table)[1:]} == {c.number for c in november}
    assert f"2026-11-01 – 2026-11-30: {len(november)} cases" in xlsx.plain
