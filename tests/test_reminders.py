"""The deadline and triage ladders on a moving clock: reminders, quiet hours, escalation,
reminders under supervision, the daily summary of reports waiting to be accepted."""

from __future__ import annotations

import datetime as dt

import pytest

from bot import dates, rectification, triage, verification
from bot.invites import InviteSpec
from bot.vocabulary.grading import Colour
from bot.vocabulary.lifecycle import Level
from bot.vocabulary.roles import Role
from fakebotapi import FakeUser, SentMessage
from tests.support import tables
from tests.support.cases import LAOCHENG, assigned_case, report
from tests.support.chat import Bot, map_points
from tests.support.images import jpeg
from tests.support.moments import SHANGHAI
from tests.support.people import account, staff
from tests.support.running import local, run_until, when, with_city

NUMBER = "YH-20261122-0001"
SUPERVISED = f"Case {NUMBER} is now under supervision (挂牌督办)"
OVERDUE_FOR = f"Case {NUMBER} has been overdue for"
STILL = "days (its deadline was 2026-12-07) and is under supervision (挂牌督办)"


def one_card_with_its_map(message: SentMessage) -> None:
    """An officer's reminder is the case's card, its place a map link in it."""
    assert message.method == "sendMessage"
    assert map_points(message) == [LAOCHENG]


async def test_the_deadline_ladder_to_escalation_and_on(bot: Bot) -> None:
    officer, contact, supervisor, case_id = await assigned_case(bot)
    start, start_o = len(contact.transcript), len(officer.transcript)
    await run_until(bot, dt.datetime(2026, 12, 16, tzinfo=SHANGHAI), dt.timedelta(minutes=30))
    received = contact.transcript[start:]
    moments = [(when(m), m.plain.split(":")[0]) for m in received]
    assert moments == [
        ("12-04 09:00", "Reminder"),
        ("12-06 09:00", "Reminder"),
        ("12-07 09:00", f"Today is the deadline of case {NUMBER}"),
        # Overdue from midnight; quiet hours hold the notice until 08:00.
        ("12-08 08:00", f"Case {NUMBER} is overdue"),
        # One day overdue: under supervision from midnight, told when the window opens.
        (
            "12-09 08:00",
            f"{SUPERVISED} by the city. Please fix it without delay and submit the fix.",
        ),
        # Still overdue under supervision: again every 3 days (the city file), until it ends.
        ("12-12 09:00", f"{OVERDUE_FOR} 5 {STILL}"),
        ("12-15 09:00", f"{OVERDUE_FOR} 8 {STILL}"),
    ]
    assert "(3 days left)" in received[0].plain
    assert "(1 day left)" in received[1].plain
    assert received[-1].plain.endswith("(挂牌督办): submit the fix now.")
    assert all(m.has_button("Submit the fix") for m in received)
    # The officer: one message each time, the case's card with its map (and weekly digests).
    to_officer = [m for m in officer.transcript[start_o:] if NUMBER in m.plain]
    assert [(when(m), m.plain.split("\n")[0]) for m in to_officer] == [
        ("12-09 08:00", SUPERVISED),
        ("12-12 09:00", f"⏰ Reminder: case {NUMBER}"),
        ("12-15 09:00", f"⏰ Reminder: case {NUMBER}"),
    ]
    for message in to_officer:
        one_card_with_its_map(message)
    assert "Enterprise: Golden Dragon Restaurant" in to_officer[-1].plain
    assert (
        "Overdue for 8 days and under supervision (挂牌督办): the enterprise was reminded again."
        in to_officer[-1].plain
    )
    to_supervisor = [m for m in supervisor.transcript if "now under supervision" in m.plain]
    assert [when(m) for m in to_supervisor] == ["12-09 08:00"]
    assert "overdue" in to_supervisor[0].plain
    case = await bot.db.read.cases.get(case_id)
    assert case is not None
    assert case.escalated_at == dt.datetime(2026, 12, 9, tzinfo=SHANGHAI)  # when it was due
    await supervisor.send(f"/case {case.number}")
    assert "under supervision (挂牌督办)" in supervisor.last.plain
    assert "Put under supervision (挂牌督办)" in supervisor.last.plain


async def test_supervisors_get_escalations_at_once_when_the_city_says_so(bot: Bot) -> None:
    await with_city(bot, "reminders", supervisors_at_once=True)
    officer, contact, supervisor, _case_id = await assigned_case(bot)
    await run_until(bot, dt.datetime(2026, 12, 9, 9, tzinfo=SHANGHAI), dt.timedelta(hours=1))
    assert [when(m) for m in supervisor.transcript if "now under supervision" in m.plain] == [
        "12-09 00:00"
    ]
    # The enterprise and the officers still wait for the sending window.
    for user in (officer, contact):
        assert [when(m) for m in user.transcript if SUPERVISED in m.plain] == ["12-09 08:00"]


async def test_a_case_fixed_in_the_night_is_not_told_in_the_morning_to_hurry(bot: Bot) -> None:
    officer, contact, supervisor, case_id = await assigned_case(bot)
    await run_until(bot, dt.datetime(2026, 12, 9, 7, tzinfo=SHANGHAI), dt.timedelta(hours=1))
    case = await bot.db.read.cases.get(case_id)
    assert case is not None
    assert case.escalated_at is not None  # since midnight
    await rectification.submit_fix(
        bot.services, await account(bot, contact), case_id, [], "Fixed at dawn."
    )
    await run_until(bot, dt.datetime(2026, 12, 10, tzinfo=SHANGHAI), dt.timedelta(hours=1))
    for user in (officer, contact):
        assert not [m for m in user.transcript if SUPERVISED in m.plain]
    # The supervisors are told what happened, in the window.
    assert [when(m) for m in supervisor.transcript if SUPERVISED in m.plain] == ["12-09 08:00"]


async def test_a_red_case_ordered_at_night_is_escalated_to_everyone_at_once(bot: Bot) -> None:
    bot.clock.set(dt.datetime(2026, 11, 22, 23, tzinfo=SHANGHAI))
    officer, contact, supervisor, _case_id = await assigned_case(bot, Colour.RED, days=30)
    for user in (officer, contact, supervisor):
        assert [when(m) for m in user.transcript if SUPERVISED in m.plain] == ["11-22 23:00"]


async def test_an_extension_restarts_the_ladder_and_closing_stops_it(bot: Bot) -> None:
    officer, contact, _supervisor, case_id = await assigned_case(bot, Colour.BLUE, days=3)
    services = bot.services
    actor_contact = await account(bot, contact)
    actor_officer = await account(bot, officer)
    await rectification.request_extension(
        services, actor_contact, case_id, dates.end_of_day(services, 10), "Parts on order."
    )
    case = await bot.db.read.cases.get(case_id)
    assert case is not None
    await rectification.decide_extension(services, actor_officer, case_id, case.version, grant=True)
    await bot.drain()
    start = len(contact.transcript)
    await run_until(bot, dt.datetime(2026, 11, 30, 12, tzinfo=SHANGHAI), dt.timedelta(hours=1))
    reminders = [m for m in contact.transcript[start:] if "Reminder" in m.plain]
    # The old deadline (11-25) sends nothing; the new one (12-02) is 3 days away on 11-29.
    assert [local(m).strftime("%m-%d") for m in reminders] == ["11-29"]
    await close_now(bot, officer, contact, case_id)
    start = len(contact.transcript)
    await run_until(bot, dt.datetime(2026, 12, 6, tzinfo=SHANGHAI), dt.timedelta(hours=1))
    assert [m.plain for m in contact.transcript[start:]] == []


async def close_now(bot: Bot, officer: FakeUser, contact: FakeUser, case_id: int) -> None:
    await contact.send("/tasks")
    await contact.press("Submit the fix", message=contact.last)
    await contact.send_photo(jpeg(seed=123))
    await contact.send("Fixed it.")
    await bot.drain()
    card = officer.last
    await officer.press("Verified: close the case", message=card)
    # A citizen's report can earn a reward: the officer records the outcome when closing.
    await officer.press("Genuine", message=card)
    await officer.press("No fine", message=card)
    await officer.press("Yes, close it", message=card)
    case = await bot.db.read.cases.get(case_id)
    assert case is not None
    assert case.status == "closed"
    await bot.drain()


@pytest.mark.parametrize(
    ("language", "said", "never"),
    [
        ("zh-hans", "该案件已挂牌督办，请立即提交整改结果。", "逾期案件将被挂牌督办"),
        ("zh-hant", "該案件已掛牌督辦，請立即提交整改結果。", "逾期案件將被掛牌督辦"),
        ("en", "It is under supervision (挂牌督办): submit the fix now.", "is put under"),
    ],
)
async def test_a_case_under_supervision_is_never_said_to_be_put_under_it_later(
    bot: Bot, language: str, said: str, never: str
) -> None:
    """A red case is under supervision from its order: its overdue notice says so, in order."""
    _officer, contact, _supervisor, _case_id = await assigned_case(
        bot, Colour.RED, days=2, contact_language=language
    )
    start = len(contact.transcript)
    await run_until(bot, dt.datetime(2026, 11, 26, 12, tzinfo=SHANGHAI), dt.timedelta(hours=1))
    received = [m.plain for m in contact.transcript[start:]]
    overdue = [text for text in received if said in text]
    assert len(overdue) == 1
    assert not any(never in text for text in received)


async def test_red_cases_are_escalated_at_assignment(bot: Bot) -> None:
    _officer, contact, supervisor, case_id = await assigned_case(bot, Colour.RED, days=30)
    case = await bot.db.read.cases.get(case_id)
    assert case is not None
    assert case.escalated_at == bot.clock.now()
    assert any("now under supervision" in m.plain for m in supervisor.transcript)
    assert "red (major) risk" in supervisor.transcript[-1].plain
    # The enterprise gets its order first; the supervision notice refers to it.
    said = [m.plain for m in contact.transcript if m.plain]
    order = next(i for i, text in enumerate(said) if "Rectification order" in text)
    supervision = next(i for i, text in enumerate(said) if "under supervision" in text)
    assert order < supervision


async def test_an_unaccepted_case_reminds_then_escalates(bot: Bot) -> None:
    officer = await staff(bot, InviteSpec(Role.OFFICER, "fire"))
    supervisor = await staff(bot, InviteSpec(Role.SUPERVISOR, "fire"))
    elsewhere = await staff(bot, InviteSpec(Role.SUPERVISOR, "housing"))
    bot.clock.set(dt.datetime(2026, 11, 22, 22, 30, tzinfo=SHANGHAI))  # reported late at night
    await report(bot.user(language="en"))
    await bot.drain()
    start_o, start_s = len(officer.transcript), len(supervisor.transcript)
    await run_until(bot, dt.datetime(2026, 11, 25, 9, tzinfo=SHANGHAI), dt.timedelta(minutes=30))
    to_officer = [m for m in officer.transcript[start_o:] if NUMBER in m.plain]
    # Due 11-23 22:30, inside quiet hours: held until 08:00; under supervision from 11-24
    # 22:30, which the officer hears when the window opens. One message each, with the map.
    assert [(when(m), m.plain.split("\n")[0]) for m in to_officer] == [
        ("11-24 08:00", f"Reminder: case {NUMBER} is waiting to be accepted"),
        ("11-25 08:00", SUPERVISED),
    ]
    for message in to_officer:
        one_card_with_its_map(message)
    assert to_officer[0].has_button("Accept")
    escalated = [m for m in supervisor.transcript[start_s:] if "now under supervision" in m.plain]
    assert [when(m) for m in escalated] == ["11-25 08:00"]
    assert "not accepted in time" in escalated[0].plain
    assert not any("now under supervision" in m.plain for m in elsewhere.transcript)
    case = await bot.db.read.cases.by_number(NUMBER)
    assert case is not None
    assert case.escalated_at == dt.datetime(2026, 11, 24, 22, 30, tzinfo=SHANGHAI)


async def test_after_downtime_only_the_latest_reminder_goes(bot: Bot) -> None:
    _officer, contact, _supervisor, case_id = await assigned_case(bot)
    start = len(contact.transcript)
    # The bot was down from 11-22 to the morning of the deadline day.
    bot.clock.set(dt.datetime(2026, 12, 7, 10, tzinfo=SHANGHAI))
    await bot.sweep()
    await bot.drain()
    await bot.sweep()
    await bot.drain()
    received = contact.transcript[start:]
    assert [m.plain.split(":")[0] for m in received] == [
        "Today is the deadline of case YH-20261122-0001"
    ]
    rows = tables.rows(
        bot.db,
        "SELECT rung, superseded FROM case_reminders WHERE case_id = ? ORDER BY due_at",
        (case_id,),
    )
    assert [(r[0].rsplit(":", 1)[-1], r[1]) for r in rows] == [("-3", 1), ("-1", 1), ("0", 0)]


async def test_after_downtime_past_the_deadline_only_the_overdue_notice_goes(bot: Bot) -> None:
    _officer, contact, _supervisor, case_id = await assigned_case(bot)
    start = len(contact.transcript)
    # Down from 11-22 until the night after the deadline (12-07): nothing goes at night …
    bot.clock.set(dt.datetime(2026, 12, 8, 0, 30, tzinfo=SHANGHAI))
    await bot.sweep()
    await bot.drain()
    assert contact.transcript[start:] == []
    # … and in the morning only the overdue notice, not a stale "today is the deadline".
    bot.clock.set(dt.datetime(2026, 12, 8, 8, 0, tzinfo=SHANGHAI))
    await bot.sweep()
    await bot.drain()
    received = [m.plain.split(":")[0] for m in contact.transcript[start:]]
    assert received == ["Case YH-20261122-0001 is overdue"]
    rows = tables.rows(
        bot.db,
        "SELECT rung, superseded FROM case_reminders WHERE case_id = ? ORDER BY due_at",
        (case_id,),
    )
    assert [r[1] for r in rows] == [1, 1, 1, 0]


@pytest.mark.parametrize(
    ("language", "late"),
    [
        ("zh-hans", "⏰ 申请时整改期限（2026-11-25）已过。"),
        ("zh-hant", "⏰ 申請時整改期限（2026-11-25）已過。"),
        ("en", "⏰ Asked for after the deadline (2026-11-25) had passed."),
    ],
)
async def test_officers_cards_of_a_fix_and_a_late_request_name_the_enterprise(
    bot: Bot, language: str, late: str
) -> None:
    officer, contact, _supervisor, case_id = await assigned_case(bot, Colour.BLUE, days=3)
    await officer.send("/language")
    await officer.press({"zh-hans": "简体中文", "zh-hant": "繁體中文", "en": "English"}[language])
    services = bot.services
    on_time = dates.end_of_day(services, 10)
    await rectification.request_extension(
        services, await account(bot, contact), case_id, on_time, "Parts on order."
    )
    await bot.drain()
    assert "Golden Dragon Restaurant" in officer.last.plain
    assert late not in officer.last.plain  # asked in time
    case = await bot.db.read.cases.get(case_id)
    assert case is not None
    await rectification.decide_extension(
        services, await account(bot, officer), case_id, case.version, grant=False
    )
    bot.clock.advance(days=4)  # past the deadline of 2026-11-25
    await rectification.request_extension(
        services, await account(bot, contact), case_id, dates.end_of_day(services, 5), "Sorry."
    )
    await bot.drain()
    assert late in officer.last.plain
    await rectification.submit_fix(services, await account(bot, contact), case_id, [], "Done.")
    await bot.drain()
    assert "Golden Dragon Restaurant" in officer.last.plain


LANGUAGE_NAMES = {"zh-hans": "简体中文", "zh-hant": "繁體中文", "en": "English"}


@pytest.mark.parametrize(
    ("language", "to_enterprise", "to_officer"),
    [
        (
            "zh-hans",
            f"案件 {NUMBER} 已逾期 5 天（整改期限为 2026-12-07），已挂牌督办，请立即提交整改结果。",
            "已逾期 5 天，已挂牌督办：已再次提醒责任企业。",
        ),
        (
            "zh-hant",
            f"案件 {NUMBER} 已逾期 5 天（整改期限為 2026-12-07），已掛牌督辦，請立即提交整改結果。",
            "已逾期 5 天，已掛牌督辦：已再次提醒責任企業。",
        ),
        (
            "en",
            f"{OVERDUE_FOR} 5 {STILL}: submit the fix now.",
            "Overdue for 5 days and under supervision (挂牌督办): the enterprise was reminded "
            "again.",
        ),
    ],
)
async def test_an_overdue_case_under_supervision_reminds_again_and_stays_in_the_queue(
    bot: Bot, language: str, to_enterprise: str, to_officer: str
) -> None:
    officer, contact, _supervisor, case_id = await assigned_case(bot, contact_language=language)
    await officer.send("/language")
    await officer.press(LANGUAGE_NAMES[language])
    await officer.send("/queue")
    assert NUMBER not in officer.last.plain  # the enterprise is on it
    await run_until(bot, dt.datetime(2026, 12, 13, tzinfo=SHANGHAI), dt.timedelta(hours=1))
    assert [when(m) for m in contact.transcript if to_enterprise in m.plain] == ["12-12 09:00"]
    again = [m for m in officer.transcript if to_officer in m.plain]
    assert [when(m) for m in again] == ["12-12 09:00"]
    one_card_with_its_map(again[0])
    await officer.send("/queue")
    assert NUMBER in officer.last.plain
    # It ends: fixed and closed, it leaves the queue and the reminders stop.
    services = bot.services
    case = await rectification.submit_fix(
        services, await account(bot, contact), case_id, [], "Fixed at last."
    )
    await verification.close(services, await account(bot, officer), case_id, case.version)
    await officer.send("/queue")
    assert NUMBER not in officer.last.plain
    await bot.drain()  # "closed (销号)"
    marks = len(contact.transcript), len(officer.transcript)
    await run_until(bot, dt.datetime(2026, 12, 20, tzinfo=SHANGHAI), dt.timedelta(hours=2))
    assert not [m for m in contact.transcript[marks[0] :] if NUMBER in m.plain]
    assert not [m for m in officer.transcript[marks[1] :] if NUMBER in m.plain]


async def test_the_department_doing_the_fix_itself_gets_one_card_per_reminder(bot: Bot) -> None:
    officer = await staff(bot, InviteSpec(Role.OFFICER, "fire"))
    number = await report(bot.user(language="en"))
    case = await bot.db.read.cases.by_number(number)
    assert case is not None
    actor = await account(bot, officer)
    case = await triage.accept(
        bot.services, actor, case.id, case.version, Colour.BLUE, Level.GENERAL
    )
    deadline = dates.end_of_day(bot.services, 3)
    await triage.assign(bot.services, actor, case.id, case.version, None, deadline)
    await bot.drain()
    mark = len(officer.transcript)
    await run_until(bot, dt.datetime(2026, 11, 26, 9, tzinfo=SHANGHAI), dt.timedelta(hours=1))
    got = [m for m in officer.transcript[mark:] if number in m.plain]
    assert [(when(m), m.plain.split("\n")[0]) for m in got] == [
        ("11-24 09:00", f"⏰ Reminder: case {number}"),
        ("11-25 09:00", f"⏰ Reminder: case {number}"),
        ("11-26 08:00", f"⏰ Reminder: case {number}"),
    ]
    for message in got:
        one_card_with_its_map(message)
        assert message.has_button("Record the fix")
    assert f"Today is the deadline of case {number}" in got[1].plain
    assert f"Case {number} is overdue" in got[2].plain


@pytest.mark.parametrize(
    ("language", "title", "waiting"),
    [
        ("zh-hans", "📋 消防救援支队：5 件举报待受理", "已等待 24 小时"),
        ("zh-hant", "📋 消防救援支隊：5 件檢舉待受理", "已等待 24 小時"),
        (
            "en",
            "📋 Fire and Rescue Detachment: 5 reports waiting to be accepted",
            "waiting 24 hours",
        ),
    ],
)
async def test_more_than_a_few_waiting_reports_make_one_summary_a_day(
    bot: Bot, language: str, title: str, waiting: str
) -> None:
    officer = await staff(bot, InviteSpec(Role.OFFICER, "fire"), language=language)
    supervisor = await staff(bot, InviteSpec(Role.SUPERVISOR, "fire"))
    numbers = [await report(bot.user(language="en"), photo_seed=10 * n) for n in range(5)]
    await bot.drain()
    mark, mark_s = len(officer.transcript), len(supervisor.transcript)
    await run_until(bot, dt.datetime(2026, 11, 24, 12, tzinfo=SHANGHAI), dt.timedelta(minutes=30))
    # More than three (the city file's "a few"): one summary a day, not five reminders, and the
    # escalations of 11-24 10:00 reach the officers only through the next summary.
    got = [m for m in officer.transcript[mark:] if any(n in m.plain for n in numbers)]
    assert [when(m) for m in got] == ["11-23 10:00", "11-24 09:00"]
    first = got[0]
    assert first.plain.startswith(title)
    assert all(n in first.plain for n in numbers)
    assert waiting in first.plain
    assert [label for row in first.buttons for label, _data in row] == numbers
    escalated = [m for m in supervisor.transcript[mark_s:] if "now under supervision" in m.plain]
    assert [when(m) for m in escalated] == ["11-24 10:00"] * 5
    # A button of the summary opens the report's card there, with its actions.
    await officer.press(numbers[2], message=first)
    assert numbers[2] in first.plain
    assert not any(n in first.plain for n in numbers if n != numbers[2])
    assert first.has_button("✅")  # accept


async def test_escalated_on_the_deadline_the_enterprise_hears_it_once_in_order(bot: Bot) -> None:
    """Escalated at midnight (0 days after the deadline): in the morning the enterprise is told
    it is under supervision, not also that it will be."""
    await with_city(bot, "reminders", escalate_after_days=0)
    _officer, contact, _supervisor, _case_id = await assigned_case(bot)
    start = len(contact.transcript)
    await run_until(bot, dt.datetime(2026, 12, 8, 12, tzinfo=SHANGHAI), dt.timedelta(minutes=30))
    late = [(when(m), m.plain) for m in contact.transcript[start:] if when(m) > "12-07 09:00"]
    assert late == [
        (
            "12-08 08:00",
            f"{SUPERVISED} by the city. Please fix it without delay and submit the fix.",
        )
    ]
