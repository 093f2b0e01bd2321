"""The officer finds a case (#16 item 6): /case by a part of its number or words from its place
or description, within their departments (a supervisor's scope); /queue lines that say where,
how old and what needs attention, with filters typed or chosen by button, paged as before."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.invites import InviteSpec
from bot.vocabulary.roles import Role
from fakebotapi import FakeUser, SentMessage
from tests.support import tables
from tests.support.cases import enterprise_named
from tests.support.chat import NOT_ALLOWED, Bot, case_buttons, listed, pages
from tests.support.generated import DAY, REPORTER_NAME, REPORTER_PHONE, Made, insert_cases
from tests.support.people import staff


def made(
    bot: Bot,
    ident: int,
    *,
    department: str = "fire",
    district: str | None = "laocheng",
    status: str = "submitted",
    age_days: float = 1,
    colour: str | None = None,
    deadline_days: float | None = None,
    escalated: bool = False,
    enterprise_id: int | None = None,
) -> Made:
    """A case of ``department`` reported ``age_days`` ago; its deadline relative to now."""
    now = bot.clock.now()
    created = now - DAY * age_days
    return Made(
        id=ident,
        number=f"YH-20261122-{ident:04d}",
        department=department,
        category="fire" if department == "fire" else "housing",
        district=district,
        colour=colour,
        status=status,
        self_reported=False,
        created_at=created,
        accepted_at=None if status == "submitted" else created + dt.timedelta(hours=1),
        assigned_at=created + dt.timedelta(hours=2) if status == "assigned" else None,
        deadline=None if deadline_days is None else now + DAY * deadline_days,
        closed_at=None,
        escalated_at=now - DAY if escalated else None,
        enterprise_id=enterprise_id,
    )


def described(bot: Bot, ident: int, description: str, address: str | None) -> None:
    tables.execute(
        bot.db,
        "UPDATE cases SET description = ?, address = ? WHERE id = ?",
        (description, address, ident),
    )


def number(ident: int) -> str:
    return f"YH-20261122-{ident:04d}"


# /case -------------------------------------------------------------------------------------------


async def some_reports(bot: Bot) -> None:
    """Three reports to the fire service in Laocheng, one to housing, one in Dongpo."""
    await insert_cases(
        bot,
        [
            made(bot, 1, age_days=5),
            made(bot, 2, age_days=4),
            made(bot, 3, age_days=2),
            made(bot, 4, department="housing", age_days=1),
            made(bot, 5, district="dongpo", age_days=3),
        ],
    )
    described(bot, 1, "The emergency exit of the cinema is chained.", "3 Market Lane")
    described(bot, 2, "Fire extinguishers are missing in the stairwell.", "12 Market Lane")
    described(bot, 3, "The emergency exit of the school is blocked by bikes.", "7 River Road")
    described(bot, 4, "The emergency exit of the old flats is bricked up.", "9 River Road")
    described(bot, 5, "Gas bottles stored in the basement.", None)


async def test_case_finds_by_a_part_of_the_number_or_by_words_never_by_the_reporter(
    bot: Bot,
) -> None:
    officer = await staff(bot, InviteSpec(Role.OFFICER, "fire"))
    await some_reports(bot)
    # A part of the number that one case has: that case, with its history.
    await officer.send("/case 0003")
    assert f"Case {number(3)}" in officer.last.plain
    assert "History:" in officer.last.plain
    assert officer.last.has_button("Accept")
    # Words of the description: the department's cases, newest first, to choose from.
    await officer.send("/case Emergency EXIT")
    found = officer.last
    assert found.plain.startswith("2 cases match “Emergency EXIT”:")
    assert listed(found) == [number(3), number(1)]  # not housing's case 4
    lines = found.plain.splitlines()
    assert lines[1] == (
        f"• {number(3)} · Fire safety · Laocheng District · 7 River Road · submitted · 2 days ago"
    )
    await officer.press(number(1), message=found)
    assert f"Case {number(1)}" in officer.last.plain
    assert "The emergency exit of the cinema is chained." in officer.last.plain
    assert "History:" in officer.last.plain
    assert listed(found) == [number(3), number(1)]  # the list stays to choose another
    # Words of the place: the address, or the district by a part of its name.
    await officer.send("/case market lane")
    assert listed(officer.last) == [number(2), number(1)]
    await officer.send("/case dongpo")
    assert f"Case {number(5)}" in officer.last.plain
    await officer.send("/case 老城")
    assert listed(officer.last) == [number(3), number(2), number(1)]
    # Every word must match, each anywhere.
    await officer.send("/case exit river")
    assert f"Case {number(3)}" in officer.last.plain
    # Who reported is never searched, nor shown in a list.
    for words in ("Wang", REPORTER_NAME, REPORTER_PHONE, "138001"):
        await officer.send(f"/case {words}")
        assert officer.last.plain == f"No case you can see matches “{words}”."
    await officer.send("/case laocheng")
    assert REPORTER_NAME not in officer.last.plain
    assert REPORTER_PHONE not in officer.last.plain
    # A whole number the officer may not see is not there, as before.
    await officer.send(f"/case {number(4)}")
    assert officer.last.plain == f"There is no case {number(4)} that you can see."
    # LIKE's wildcards are only themselves.
    await officer.send("/case %")
    assert officer.last.plain == "No case you can see matches “%”."


async def test_case_finds_in_a_supervisors_scope_and_not_for_enterprises(bot: Bot) -> None:
    city = await staff(bot, InviteSpec(Role.SUPERVISOR))
    housing = await staff(bot, InviteSpec(Role.SUPERVISOR, "housing"))
    enterprise_id = await enterprise_named(bot, "Golden Dragon Restaurant", "91330100MA27XL0T4C")
    contact = await staff(bot, InviteSpec(Role.ENTERPRISE, enterprise_id=enterprise_id))
    await some_reports(bot)
    await city.send("/case emergency exit")
    assert listed(city.last) == [number(4), number(3), number(1)]
    await housing.send("/case emergency exit")
    assert f"Case {number(4)}" in housing.last.plain
    assert "Reporter" not in housing.last.plain  # a supervisor's card names no reporter
    await contact.send("/case emergency exit")
    assert contact.last.plain == "There is no case EMERGENCY EXIT that you can see."
    await contact.send(f"/case {number(4)}")
    assert contact.last.plain == f"There is no case {number(4)} that you can see."
    # A forged "file" button shows nothing outside the scope.
    answers = len(housing.callback_answers)
    await housing.press_data("cs:1:file:1:0", housing.last)
    assert housing.callback_answers[answers]["text"] == NOT_ALLOWED


async def test_many_matches_show_the_first_ten_open_ones_first(bot: Bot) -> None:
    officer = await staff(bot, InviteSpec(Role.OFFICER, "fire"))
    cases = [made(bot, n, age_days=20 - n) for n in range(1, 13)]
    cases[11] = made(bot, 12, status="rejected", age_days=0.5)  # the newest, but ended
    await insert_cases(bot, cases)
    await officer.send("/case jiefang road")  # every generated case's address
    found = officer.last
    assert found.plain.startswith("12 cases match “jiefang road”:")
    assert listed(found)[:10] == [number(n) for n in range(11, 1, -1)]
    assert "These are the first 10, open cases first, then the newest." in found.plain
    assert len(case_buttons(found)) == 10
    assert number(12) not in listed(found)  # the newest, but ended: after the open ones


@pytest.mark.parametrize(
    ("language", "header", "line", "nothing", "hint"),
    [
        (
            "zh-hans",
            "共有 2 件案件与「exit」匹配：",
            "消防安全 · 老城区 · 7 River Road · 已提交 · 2 天前",
            "在您可查看的案件中，没有与「Wang」匹配的案件。",
            "请发送 /case 加上案件编号（或编号的一部分），或地点、隐患描述中的字词。",
        ),
        (
            "zh-hant",
            "共有 2 件案件與「exit」相符：",
            "消防安全 · 老城區 · 7 River Road · 已提交 · 2 天前",
            "在您可查看的案件中，沒有與「Wang」相符的案件。",
            "請傳送 /case 加上案件編號（或編號的一部分），或地點、隱患描述中的字詞。",
        ),
        (
            "en",
            "2 cases match “exit”:",
            "Fire safety · Laocheng District · 7 River Road · submitted · 2 days ago",
            "No case you can see matches “Wang”.",
            "Send /case followed by a case number (or a part of it), or by words from the place "
            "or the description.",
        ),
    ],
)
async def test_case_search_speaks_the_officers_language(
    bot: Bot, language: str, header: str, line: str, nothing: str, hint: str
) -> None:
    officer = await staff(bot, InviteSpec(Role.OFFICER, "fire"), language=language)
    await some_reports(bot)
    await officer.send("/case exit")
    assert officer.last.plain.splitlines()[0] == header
    assert line in officer.last.plain.splitlines()[1]
    await officer.send("/case Wang")
    assert officer.last.plain == nothing
    await officer.send("/case")
    assert officer.last.plain == hint


# /queue ------------------------------------------------------------------------------------------


async def a_day_of_cases(bot: Bot) -> tuple[FakeUser, int]:
    """An officer's department with: two new reports (one in Dongpo), an accepted case, a red
    case of an enterprise past its deadline and under supervision, an orange one of the
    enterprise on time, and one of another department."""
    officer = await staff(bot, InviteSpec(Role.OFFICER, "fire"))
    enterprise = await enterprise_named(bot, "Golden Dragon Restaurant", "91330100MA27XL0T4C")
    await insert_cases(
        bot,
        [
            made(bot, 1, age_days=3),
            made(bot, 2, age_days=0.25, district="dongpo"),
            made(bot, 3, status="accepted", colour="yellow", age_days=2),
            made(
                bot,
                4,
                status="assigned",
                colour="red",
                age_days=40,
                deadline_days=-2,
                escalated=True,
                enterprise_id=enterprise,
            ),
            made(
                bot,
                5,
                status="assigned",
                colour="orange",
                age_days=4,
                deadline_days=10,
                enterprise_id=enterprise,
            ),
            made(bot, 6, department="housing"),
        ],
    )
    described(bot, 4, "Chained exit.", "a very long address of a building, far along the road")
    return officer, enterprise


async def test_queue_lines_show_where_how_old_and_what_needs_attention(bot: Bot) -> None:
    officer, _enterprise = await a_day_of_cases(bot)
    await officer.send("/queue")
    page = officer.last
    # What waits on the department, and what is overdue whoever must fix it; not case 5,
    # which its enterprise is fixing in time.
    assert listed(page) == [number(4), number(1), number(3), number(2)]
    lines = page.plain.splitlines()
    assert lines[0] == "Fire and Rescue Detachment · 4 cases waiting"
    assert lines[1] == (
        f"• {number(4)} · Fire safety · Laocheng District · a very long address of a buildi… · "
        "being rectified · 40 days ago 🔴📌⏰"
    )
    assert lines[2].endswith("· 3 days ago")
    assert lines[4] == f"• {number(2)} · Fire safety · Dongpo District · 2 Jiefang Road · " + (
        "submitted · 6 hours ago"
    )
    assert lines[-1] == "🔴 red (major risk) · 📌 under supervision (挂牌督办) · ⏰ overdue"
    assert page.has_button("Filter")
    assert not page.has_button("No filter")


async def test_queue_filters_typed_after_the_command(bot: Bot) -> None:
    officer, _enterprise = await a_day_of_cases(bot)
    expected = {
        "overdue": [4],
        "red": [4],
        "supervised": [4],
        "laocheng": [4, 5, 1, 3],  # every open case of the district
        "老城区": [4, 5, 1, 3],
        "Dongpo District": [2],
        "action": [1, 3, 2],  # what waits on the department only
        "待办": [1, 3, 2],
        "orange": [5],
        "橙色": [5],
        "laocheng action": [1, 3],
        "overdue orange": [],
    }
    for words, cases in expected.items():
        await officer.send(f"/queue {words}")
        assert listed(officer.last) == [number(n) for n in cases], words
        assert officer.last.plain.startswith("🔎 Filter: "), words
    await officer.send("/queue overdue red")
    assert officer.last.plain.splitlines()[0] == ("🔎 Filter: overdue · 🔴 red (major risk)")
    await officer.send("/queue overdue orange")
    assert "No case matches this filter." in officer.last.plain
    await officer.send("/queue purple")
    assert officer.last.plain.startswith("I do not know “purple”. Filter the queue with:")


async def test_queue_filter_buttons_keep_the_filter_through_pages_and_cards(bot: Bot) -> None:
    officer = await staff(bot, InviteSpec(Role.OFFICER, "fire"))
    late = [
        made(bot, n, status="accepted", age_days=30, deadline_days=-30 + n) for n in range(1, 13)
    ]
    new = [made(bot, n, age_days=1) for n in range(13, 16)]
    await insert_cases(bot, late + new)
    await officer.send("/queue")
    page = officer.last
    assert "(page 1 of 2)" in page.plain
    await officer.press("Filter", message=page)
    assert officer.callback_answers[-1]["text"] == "Which cases?"
    assert page.has_button("Laocheng District")
    await officer.press("⏰ overdue", message=page)
    assert page.plain.startswith("🔎 Filter: overdue")
    assert "(page 1 of 2)" in page.plain
    shown = await pages(officer, page)
    assert [n for p in shown for n in p] == [c.number for c in late]
    # A case opened from the filtered page leads back to it, filter and all.
    before = page.plain
    await officer.press(shown[1][0], message=page)
    assert f"Case {shown[1][0]}" in page.plain
    await officer.press("« Back to the queue", message=page)
    assert page.plain == before
    # The filter menu shows what is on; another choice adds to it.
    await officer.press("Filter", message=page)
    assert page.has_button("✓ ⏰ overdue")
    await officer.press("needs my action", message=page)
    assert page.plain.startswith("🔎 Filter: needs my action · overdue")
    await officer.press("No filter", message=page)
    assert not page.plain.startswith("🔎")
    assert "Fire and Rescue Detachment · 15 cases waiting" in page.plain
    # Forged filters are refused, not a crash.
    for data in ("qu:1:0:zz", "qu:1:0:d99", "qu:1:0:oa", "qu:1:f:x", "qu:1:f:0:q", "qu:1:0:"):
        answers = len(officer.callback_answers)
        await officer.press_data(data, page)
        assert officer.callback_answers[answers]["text"] == NOT_ALLOWED, data
    answers = len(officer.callback_answers)
    await officer.press_data("cs:1:open:1:0:q:0:zz", page)
    assert officer.callback_answers[answers]["text"] == NOT_ALLOWED


def first_case_line(message: SentMessage) -> str:
    return next(line for line in message.plain.splitlines() if line.startswith("• "))


@pytest.mark.parametrize(
    ("language", "words", "heading", "line", "legend", "unknown"),
    [
        (
            "zh-hans",
            "逾期",
            "🔎 筛选：已逾期",
            "· 消防安全 · 老城区 · a very long address of a buildi… · 整改中 · 40 天前 🔴📌⏰",
            "🔴 红色（重大风险） · 📌 挂牌督办 · ⏰ 已逾期",
            "无法识别「紫」。",
        ),
        (
            "zh-hant",
            "逾期",
            "🔎 篩選：已逾期",
            "· 消防安全 · 老城區 · a very long address of a buildi… · 整改中 · 40 天前 🔴📌⏰",
            "🔴 紅色（重大風險） · 📌 掛牌督辦 · ⏰ 已逾期",
            "無法識別「紫」。",
        ),
        (
            "en",
            "overdue",
            "🔎 Filter: overdue",
            "· Fire safety · Laocheng District · a very long address of a buildi… · being "
            "rectified · 40 days ago 🔴📌⏰",
            "🔴 red (major risk) · 📌 under supervision (挂牌督办) · ⏰ overdue",
            "I do not know “紫”.",
        ),
    ],
)
async def test_queue_speaks_the_officers_language(
    bot: Bot, language: str, words: str, heading: str, line: str, legend: str, unknown: str
) -> None:
    officer, _enterprise = await a_day_of_cases(bot)
    await officer.send("/language")
    await officer.press({"zh-hans": "简体中文", "zh-hant": "繁體中文", "en": "English"}[language])
    await officer.send(f"/queue {words}")
    page = officer.last
    assert page.plain.splitlines()[0] == heading
    assert first_case_line(page).endswith(line)
    assert page.plain.splitlines()[-1] == legend
    await officer.send("/queue 紫")
    assert officer.last.plain.startswith(unknown)
