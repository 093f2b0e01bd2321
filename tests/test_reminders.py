"""The deadline and triage ladders on a moving clock: reminders, quiet hours, escalation."""

from __future__ import annotations

import datetime as dt

import pytest

from bot import dates, rectification
from bot.invites import InviteSpec
from bot.vocabulary.grading import Colour
from bot.vocabulary.roles import Role
from fakebotapi import FakeUser, SentMessage
from tests.support import tables
from tests.support.cases import assigned_case, report
from tests.support.chat import Bot
from tests.support.images import jpeg
from tests.support.moments import SHANGHAI
from tests.support.people import account, staff


def local(message: SentMessage) -> dt.datetime:
    return message.date.astimezone(SHANGHAI)


async def run_until(bot: Bot, until: dt.datetime, step: dt.timedelta) -> None:
    """Move the clock in steps, sweeping and sending at each, as the running bot would."""
    while bot.clock.now() < until:
        bot.clock.advance(step)
        await bot.sweep()
        await bot.drain()


async def test_the_deadline_ladder_to_escalation(bot: Bot) -> None:
    officer, contact, supervisor, case_id = await assigned_case(bot)
    start = len(contact.transcript)
    await run_until(bot, dt.datetime(2026, 12, 10, tzinfo=SHANGHAI), dt.timedelta(minutes=30))
    received = contact.transcript[start:]
    moments = [(local(m).strftime("%m-%d %H:%M"), m.plain.split(":")[0]) for m in received]
    assert moments == [
        ("12-04 09:00", "Reminder"),
        ("12-06 09:00", "Reminder"),
        ("12-07 09:00", "Today is the deadline of case YH-20261122-0001"),
        # Overdue from midnight; quiet hours hold the notice until 08:00.
        ("12-08 08:00", "Case YH-20261122-0001 is overdue"),
        # One day overdue: escalated at once, quiet hours or not.
        (
            "12-09 00:00",
            "Case YH-20261122-0001 is now under supervision (挂牌督办) by the city. "
            "Please fix it without delay and submit the fix.",
        ),
    ]
    assert "(3 days left)" in received[0].plain
    assert "(1 day left)" in received[1].plain
    assert received[0].has_button("Submit the fix")
    escalation = [m for m in officer.transcript if "now under supervision" in m.plain]
    assert len(escalation) == 1
    assert local(escalation[0]).strftime("%m-%d %H:%M") == "12-09 00:00"
    to_supervisor = [m for m in supervisor.transcript if "now under supervision" in m.plain]
    assert len(to_supervisor) == 1
    assert "overdue" in to_supervisor[0].plain
    case = await bot.db.read.cases.get(case_id)
    assert case is not None
    assert case.escalated_at is not None
    await supervisor.send(f"/case {case.number}")
    assert "under supervision (挂牌督办)" in supervisor.last.plain
    assert "Put under supervision (挂牌督办)" in supervisor.last.plain


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
    await run_until(bot, dt.datetime(2026, 11, 25, tzinfo=SHANGHAI), dt.timedelta(minutes=30))
    reminders = [m for m in officer.transcript[start_o:] if "waiting to be accepted" in m.plain]
    # Due 11-23 22:30, inside quiet hours: held until 08:00.
    assert [local(m).strftime("%m-%d %H:%M") for m in reminders] == ["11-24 08:00"]
    assert reminders[0].has_button("Accept")
    escalated = [m for m in supervisor.transcript[start_s:] if "now under supervision" in m.plain]
    assert [local(m).strftime("%m-%d %H:%M") for m in escalated] == ["11-24 22:30"]
    assert "not accepted in time" in escalated[0].plain
    assert not any("now under supervision" in m.plain for m in elsewhere.transcript)


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
