"""/stats and /overdue on 10,000 generated cases, checked against answers counted here.

The cases are written straight into the database with chosen statuses, times, deadlines,
departments, categories, districts, colours and self-reported flags (tests/support/generated.py).
The expected figures are counted in plain Python from the same list, by the definitions
(DESIGN.md, DOMAIN.md), without bot/stats.py (tests/support/figures.py); then the bot's figures,
the text a reader gets and the chart are compared.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
from fontTools.ttLib import TTFont
from PIL import Image

from bot import charts, stats, stats_report
from bot.cards import Cards
from bot.city import CityConfig
from bot.i18n import Catalogs, Language
from bot.invites import InviteSpec
from bot.vocabulary.roles import Role
from storage.stats import Figures, figures_query
from tests.support import postgres, tables
from tests.support.cases import enterprise_named, report
from tests.support.chat import Bot
from tests.support.figures import Expected, ask_stats, assert_text, expect
from tests.support.generated import (
    DAY,
    FOUND,
    OPEN,
    REPORTER_NAME,
    Made,
    chosen,
    insert_cases,
    make_cases,
)
from tests.support.moments import SHANGHAI
from tests.support.people import member, staff

PNG = b"\x89PNG\r\n\x1a\n"


def assert_figures(got: Figures, want: Expected) -> None:
    assert got.reported == want.reported
    assert got.found == want.found
    assert got.rectified == want.rectified
    assert stats.rectification_rate(got) == pytest.approx(want.rate)
    assert got.on_time == want.on_time
    assert got.closed_with_deadline == want.closed_with_deadline
    assert got.overdue == want.overdue
    assert got.escalated == want.escalated
    assert (got.waiting, got.rejected, got.merged) == (want.waiting, want.rejected, want.merged)
    accept, fix = stats.average_accept(got), stats.average_fix(got)
    if want.accept_hours is None:
        assert accept is None
    else:
        assert accept is not None
        assert accept.total_seconds() / 3600 == pytest.approx(want.accept_hours, rel=1e-6)
    if want.fix_hours is None:
        assert fix is None
    else:
        assert fix is not None
        assert fix.total_seconds() / 3600 == pytest.approx(want.fix_hours, rel=1e-6)


def assert_stats(got: stats.Stats, made: list[Made], now: dt.datetime) -> None:
    """Totals, the self-reported line and every breakdown line."""
    citizens = [c for c in made if not c.self_reported]
    assert_figures(got.total, expect(citizens, now))
    assert_figures(got.self_reported, expect([c for c in made if c.self_reported], now))
    for dimension in ("department", "category", "district", "colour"):
        lines: list[stats.Line] = getattr(got, f"by_{dimension}")
        keys = Counter(getattr(c, dimension) for c in citizens)
        assert {line.key for line in lines} == set(keys), dimension
        for line in lines:
            group = [c for c in citizens if getattr(c, dimension) == line.key]
            assert_figures(line.figures, expect(group, now))


# Fixtures ------------------------------------------------------------------------------------


@dataclass
class World:
    made: list[Made]
    enterprises: list[int]


@pytest.fixture
async def world(bot: Bot) -> World:
    enterprises = [
        await enterprise_named(bot, "Golden Dragon Restaurant", "91330100MA27XL0T4C"),
        await enterprise_named(bot, "Other Ltd", "91350100M000100Y43"),
    ]
    made = make_cases(bot, 10_000, enterprises)
    await insert_cases(bot, made)
    return World(made, enterprises)


def period(bot: Bot, text: str | None) -> stats.Period:
    return stats.parse_period(text, bot.clock.now(), SHANGHAI)


# Figures ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "first", "last"),
    [
        (None, dt.date(2026, 11, 1), dt.date(2026, 11, 22)),  # this month, the default
        ("month", dt.date(2026, 11, 1), dt.date(2026, 11, 22)),
        ("2026-03-01..2026-05-31", dt.date(2026, 3, 1), dt.date(2026, 5, 31)),
        ("year", dt.date(2026, 1, 1), dt.date(2026, 11, 22)),
        ("2025-12-31", dt.date(2025, 12, 31), dt.date(2025, 12, 31)),
        ("today", dt.date(2026, 11, 22), dt.date(2026, 11, 22)),
        ("week", dt.date(2026, 11, 16), dt.date(2026, 11, 22)),
    ],
)
def test_periods_are_whole_city_days(text: str | None, first: dt.date, last: dt.date) -> None:
    now = dt.datetime(2026, 11, 22, 2, 0, tzinfo=dt.UTC)  # 10:00 in Shanghai
    got = stats.parse_period(text, now, SHANGHAI)
    assert (got.first, got.last) == (first, last)
    assert got.start == dt.datetime.combine(first, dt.time(), tzinfo=SHANGHAI)
    assert got.end == dt.datetime.combine(last + DAY, dt.time(), tzinfo=SHANGHAI)
    assert got.start.utcoffset() == dt.timedelta(0)  # compared with UTC text in SQL


@pytest.mark.parametrize("text", ["lastmonth", "2026-13-01", "2026-05-01..", "1..2"])
def test_a_period_that_is_not_one_is_refused(text: str) -> None:
    now = dt.datetime(2026, 11, 22, 2, 0, tzinfo=dt.UTC)
    with pytest.raises(stats.PeriodInvalid):
        stats.parse_period(text, now, SHANGHAI)
    with pytest.raises(stats.PeriodReversed):
        stats.parse_period("2026-05-01..2026-04-01", now, SHANGHAI)


@pytest.mark.parametrize("text", ["month", "2026-03-01..2026-05-31", "year"])
@pytest.mark.parametrize("departments", [None, {"fire"}, {"housing", "laocheng_office"}])
async def test_figures_match_the_cases(
    bot: Bot, world: World, text: str, departments: set[str] | None
) -> None:
    assert bot.app is not None
    services = bot.app.bot_data.services
    wanted = period(bot, text)
    scope = stats.Scope(None if departments is None else frozenset(departments))
    got = await stats.compute(services, scope, wanted)
    cases = chosen(world.made, wanted.first, wanted.last, departments)
    assert len(cases) > 30  # the period holds enough cases to mean something
    assert any(c.self_reported for c in cases)
    assert_stats(got, cases, bot.clock.now())


async def test_midnight_belongs_to_the_city_day(bot: Bot, world: World) -> None:
    """A case reported at 00:00:36 city time (16:00:36 UTC the day before) is the new day's."""
    assert bot.app is not None
    services = bot.app.bot_data.services
    edges = [c for c in world.made if c.created_at.astimezone(SHANGHAI).hour in (0, 23)]
    day = next(c.local_day for c in edges if c.created_at.astimezone(SHANGHAI).hour == 0)
    got = await stats.compute(services, stats.Scope(None), period(bot, f"{day:%Y-%m-%d}"))
    on_day = [c for c in world.made if c.local_day == day]
    assert got.total.reported + got.self_reported.reported == len(on_day)
    utc_day = [c for c in world.made if c.created_at.date() == day]
    assert {c.id for c in on_day} != {c.id for c in utc_day}  # the zone mattered


def test_nothing_found_has_no_rate() -> None:
    """No 整改率 when no hazard was found (DOMAIN.md: shown as "—", not as 100%)."""
    assert stats.rectification_rate(Figures()) is None
    assert stats.on_time_rate(Figures()) is None
    assert stats.rectification_rate(Figures(found=8, rectified=6)) == 0.75


# What the reader gets ------------------------------------------------------------------------


def assert_png(data: bytes) -> Image.Image:
    assert data.startswith(PNG)
    image = Image.open(io.BytesIO(data))
    image.verify()
    image = Image.open(io.BytesIO(data))
    assert image.format == "PNG"
    assert image.width >= 600
    assert image.height >= 300
    return image


async def test_city_supervisor_gets_text_and_chart(bot: Bot, world: World) -> None:
    supervisor = await staff(bot, InviteSpec(Role.SUPERVISOR))
    text, png = await ask_stats(supervisor, "/stats year")
    wanted = period(bot, "year")
    cases = chosen(world.made, wanted.first, wanted.last, None)
    assert "Hazards reported 2026-01-01 – 2026-11-22" in text
    assert "Scope: Sample City" in text
    assert_text(text, cases, bot.clock.now())
    # The breakdowns' top lines, in the reader's language, the most found first.
    citizens = [c for c in cases if not c.self_reported]
    by_department = Counter(c.department for c in citizens if c.status in FOUND)
    top, found = by_department.most_common(1)[0]
    name = bot.city.department(top)
    assert name is not None
    rectified = sum(1 for c in citizens if c.department == top and c.status == "closed")
    assert f"• {name.name.en}: {found:,} / {rectified:,}" in text
    for title in ("By department", "By category", "By district", "By risk colour"):
        assert title in text
    assert text.count("• ") <= 4 * stats_report.TOP
    assert_png(png)


async def test_custom_range_for_department_supervisor(bot: Bot, world: World) -> None:
    supervisor = await staff(bot, InviteSpec(Role.SUPERVISOR, "fire"))
    text, png = await ask_stats(supervisor, "/stats 2026-03-01..2026-05-31")
    cases = chosen(world.made, dt.date(2026, 3, 1), dt.date(2026, 5, 31), {"fire"})
    assert "Scope: Fire and Rescue Detachment" in text
    assert_text(text, cases, bot.clock.now())
    assert "By department" not in text  # one department: its figures are the totals
    assert_png(png)


async def test_officer_sees_the_month_of_their_department(bot: Bot, world: World) -> None:
    officer = await staff(bot, InviteSpec(Role.OFFICER, "housing"))
    text, png = await ask_stats(officer, "/stats")
    cases = chosen(world.made, dt.date(2026, 11, 1), dt.date(2026, 11, 22), {"housing"})
    assert "Hazards reported 2026-11-01 – 2026-11-22" in text
    assert "Scope: Housing and Urban-Rural Development Bureau" in text
    assert_text(text, cases, bot.clock.now())
    assert_png(png)


async def test_chart_labels_are_chinese_and_every_glyph_is_in_the_font(
    bot: Bot, world: World
) -> None:
    """The chart a zh_Hans reader gets has the city's Chinese names, drawn with the CJK font,
    and that font has a glyph for every character on it."""
    assert bot.app is not None
    supervisor = await member(bot, Role.SUPERVISOR, None, language="zh-hans")
    _text, sent = await ask_stats(supervisor, "/stats year")
    services = bot.app.bot_data.services
    got = await stats.compute(services, stats.Scope(None), period(bot, "year"))
    cards = Cards(bot.city, SHANGHAI)
    with TTFont(charts.font_path(), lazy=True) as font:
        cmap = font.getBestCmap()
    for language in Language:
        tr = Catalogs().translator(language)
        chart = stats_report.chart(tr, cards, got)
        assert chart is not None
        png, texts = charts.draw(chart)
        assert_png(png)
        if language is Language.ZH_HANS:
            assert png == sent  # what was checked is what the supervisor got
        drawn = "".join(t for t, _path in texts)
        for department in bot.city.departments:
            if any(c.department == department.code for c in world.made):
                assert charts.short(department.name.get(language)) in drawn
        for value, path in texts:
            assert Path(path) == charts.font_path(), value
            missing = {ch for ch in value if not ch.isspace() and ord(ch) not in cmap}
            assert not missing, f"no glyph for {sorted(missing)} in {value!r}"
        if language is not Language.EN:
            assert re.search(r"[\u4e00-\u9fff]", drawn)


@pytest.mark.parametrize(
    ("language", "line"),
    [
        ("zh-hans", "企业自查自报（单独统计）：发现 0 · 已整改 0 · 整改率 — · 逾期 0"),
        ("zh-hant", "企業自查自報（另行統計）：發現 0 · 已整改 0 · 整改率 — · 逾期 0"),
        (
            "en",
            "Self-reported by enterprises (counted apart): found 0 · rectified 0 · — · overdue 0",
        ),
    ],
)
async def test_no_rate_of_nothing_found(bot: Bot, language: str, line: str) -> None:
    """With no self-report, their 整改率 is "—", not 100% (0 of 0)."""
    await report(bot.user(language="en"))
    supervisor = await member(bot, Role.SUPERVISOR, None, language=language)
    await supervisor.send("/stats today")
    text = supervisor.last.plain
    assert line in text
    assert "100" not in text


async def test_nothing_reported_gives_text_and_no_chart(bot: Bot) -> None:
    supervisor = await staff(bot, InviteSpec(Role.SUPERVISOR))
    await supervisor.send("/stats today")
    assert supervisor.last.method == "sendMessage"
    assert "No hazard was reported in this period." in supervisor.last.plain


async def test_a_bad_period_is_explained(bot: Bot) -> None:
    supervisor = await staff(bot, InviteSpec(Role.SUPERVISOR))
    await supervisor.send("/stats fortnight")
    assert "Please give the period as today, week, month or year" in supervisor.last.plain
    await supervisor.send("/stats 2026-05-01..2026-04-01")
    assert "The period ends before it starts" in supervisor.last.plain


async def test_citizens_and_enterprise_contacts_are_refused(bot: Bot, world: World) -> None:
    contact = await staff(bot, InviteSpec(Role.ENTERPRISE, enterprise_id=world.enterprises[0]))
    admin = await staff(bot, InviteSpec(Role.ADMIN))
    for user in (bot.user(language="en"), contact, admin):
        mark = len(user.transcript)
        for command in ("/stats", "/stats year", "/overdue", "/export"):
            await user.send(command)
        sent = user.transcript[mark:]
        assert [m.plain for m in sent] == ["You are not allowed to do that."] * 4
    # A forged page of the overdue list shows nothing either.
    citizen = bot.user(language="en")
    await citizen.send("/start")
    answers = len(citizen.callback_answers)
    await citizen.press_data("ov:1:1", citizen.last)
    assert citizen.callback_answers[answers]["text"] == "You are not allowed to do that."


# /overdue ------------------------------------------------------------------------------------


async def test_overdue_list_pages_longest_first_and_opens_a_case(bot: Bot, world: World) -> None:
    supervisor = await staff(bot, InviteSpec(Role.SUPERVISOR, "fire"))
    now = bot.clock.now()
    late = sorted(
        (
            c
            for c in world.made
            if c.department == "fire"
            and c.status in OPEN
            and c.deadline is not None
            and c.deadline < now
        ),
        key=lambda c: (c.deadline, c.id),
    )
    assert len(late) > 16
    await supervisor.send("/overdue")
    page = supervisor.last
    assert f"{len(late):,} cases are overdue" in page.plain
    numbers = re.findall(r"YH-\d{8}-\d{5}", page.plain)
    assert numbers == [c.number for c in late[:8]]
    first = late[0]
    assert first.deadline is not None
    days = -(-(now - first.deadline) // DAY)
    assert f"{first.number} · Fire and Rescue Detachment" in page.plain
    assert f"{days} days overdue" in page.plain
    # Each line names who must fix it: the enterprise, or the department itself.
    names = {world.enterprises[0]: "Golden Dragon Restaurant", world.enterprises[1]: "Other Ltd"}
    for case, line in zip(late[:8], page.plain.splitlines()[1:], strict=True):
        who = names[case.enterprise_id] if case.enterprise_id else "Handled by the department"
        assert who in line, line
    # Every case of the list is the department's, and a button opens it.
    assert all(c.department == "fire" for c in late)
    await supervisor.press("Next ›", message=page)
    assert re.findall(r"YH-\d{8}-\d{5}", page.plain) == [c.number for c in late[8:16]]
    assert "page 2 of" in page.plain
    await supervisor.press("‹ Previous", message=page)
    assert re.findall(r"YH-\d{8}-\d{5}", page.plain) == [c.number for c in late[:8]]
    await supervisor.press(first.number, message=page)
    assert f"Case {first.number}" in page.plain
    assert "overdue" in page.plain
    assert REPORTER_NAME not in page.plain  # a supervisor's card names no reporter


async def test_officer_overdue_is_their_department_only(bot: Bot, world: World) -> None:
    officer = await staff(bot, InviteSpec(Role.OFFICER, "market"))
    now = bot.clock.now()
    late = [
        c
        for c in world.made
        if c.department == "market"
        and c.status in OPEN
        and c.deadline is not None
        and c.deadline < now
    ]
    await officer.send("/overdue")
    listing = officer.last
    assert f"{len(late):,} cases are overdue" in listing.plain
    shown = re.findall(r"YH-\d{8}-\d{5}", listing.plain)
    assert set(shown) <= {c.number for c in late}
    # An officer opens the full card, with the actions the case has for them (a fix to verify).
    status = {c.number: c.status for c in late}
    waiting = next(number for number in shown if status[number] == "fix_submitted")
    await officer.press(waiting, message=listing)
    assert f"Case {waiting}" in listing.plain
    assert listing.has_button("Verified: close the case")
    assert listing.has_button("Back to the overdue list")


@postgres.sqlite_only  # SQLite's query plan (EXPLAIN QUERY PLAN)
async def test_figures_are_read_from_the_index_without_a_sort(bot: Bot) -> None:
    """The cube is read from the covering index cases_stats in GROUP BY order: no table row
    is visited and nothing is sorted, which is what keeps a year of a million cases fast."""
    now = bot.clock.now()
    for departments in (None, {"fire"}):
        sql, params = figures_query(now - 365 * DAY, now, now, departments)
        plan = [row[3] for row in tables.rows(bot.db, "EXPLAIN QUERY PLAN " + sql, params)]
        cube = [p for p in plan if "cases" in p and "cube" not in p]
        assert len(cube) == 1, plan
        assert "COVERING INDEX cases_stats" in cube[0], plan
        # The only sorts are the roll-ups of the small cube.
        sorts = [i for i, p in enumerate(plan) if "TEMP B-TREE" in p]
        assert all("SCAN cube" in plan[i - 1] for i in sorts), plan


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        (Language.EN, "Fire and Rescue Detachment and Housing and Urban-Rural Development Bureau"),
        (Language.ZH_HANS, "、"),
    ],
)
def test_a_scope_of_two_departments_is_named_in_the_readers_language(
    city: CityConfig, language: Language, expected: str
) -> None:
    tr = Catalogs().translator(language)
    scope = stats.Scope(frozenset({"fire", "housing"}))
    named = stats_report.scope_name(tr, Cards(city, SHANGHAI), scope)
    assert expected in named
    assert language is not Language.EN or "、" not in named
