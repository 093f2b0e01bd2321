"""Awareness days: every day of the sample calendar reaches subscribers the day before, once."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.awareness import due_days, sweep_awareness
from bot.city import AwarenessDay
from fakebotapi import FakeUser, SentMessage
from tests.support.chat import Bot
from tests.support.moments import SHANGHAI, at
from tests.support.people import subscriber

LANGUAGES = {"zh-hans": "zh_Hans", "zh-hant": "zh_Hant", "en": "en"}


async def sweep(bot: Bot) -> int:
    return await sweep_awareness(bot.services, bot.clock.now())


def day(bot: Bot, code: str) -> AwarenessDay:
    return next(d for d in bot.city.awareness_days if d.code == code)


def reminders(user: FakeUser) -> list[SentMessage]:
    """Awareness messages the user got: they carry the report button and a bold title."""
    return [
        m for m in user.transcript if m.text and m.text.startswith("<b>") and m.has_button("📣")
    ]


def check_message(sent: SentMessage, entry: AwarenessDay, language: str) -> None:
    assert sent.text is not None
    assert sent.text.startswith(f"<b>{entry.name.get(language)}</b>")
    assert entry.message.get(language) in sent.plain
    for tip in entry.tips.get(language):
        assert f"• {tip}" in sent.plain
    assert sent.buttons[-1][-1][1] == "rep:1:start"


async def test_every_calendar_day_reaches_subscribers_in_their_language(bot: Bot) -> None:
    readers = {language: await subscriber(bot, language) for language in LANGUAGES}
    quitter = await subscriber(bot, "en")
    await quitter.send("/unsubscribe")
    bystander = bot.user(language="en")
    await bystander.send("/start")
    await bystander.press("No, thanks")
    marks = {u.user_id: len(u.transcript) for u in (quitter, bystander)}

    entries = sorted(bot.city.awareness_days, key=lambda d: d.date_in(2027) or dt.date.max)
    assert len(entries) == len({d.code for d in bot.city.awareness_days}) > 10
    for entry in entries:
        date = entry.date_in(2027)
        assert date is not None
        bot.clock.set(at(date - dt.timedelta(days=1), 11))
        assert await sweep(bot) == len(readers), entry.code
        report = await bot.drain()
        assert report.sent == len(readers), entry.code
        for telegram_language, user in readers.items():
            check_message(user.last, entry, LANGUAGES[telegram_language])
    for user in readers.values():
        assert len(reminders(user)) == len(entries)
    # Neither the one who unsubscribed nor the one who said no got anything.
    for user in (quitter, bystander):
        assert len(user.transcript) == marks[user.user_id]


async def test_a_blocked_subscriber_is_found_out_once_then_skipped(bot: Bot) -> None:
    reader = await subscriber(bot)
    gone = await subscriber(bot)
    bot.api.block(gone.user_id)
    fire, traffic = day(bot, "fire_safety"), day(bot, "traffic_safety")

    bot.clock.set(at(dt.date(2026, 11, 8), 11))
    assert await sweep(bot) == 2  # nobody knew yet
    report = await bot.drain()
    assert (report.sent, report.dropped) == (1, 1)
    row = await bot.db.read.users.get(gone.user_id)
    assert row is not None
    assert row.blocked_at is not None

    bot.clock.set(at(dt.date(2026, 12, 1), 11))
    assert await sweep(bot) == 1
    await bot.drain()
    assert [m.plain.split("\n")[0] for m in reminders(reader)] == [
        fire.name.en,
        traffic.name.en,
    ]
    assert not gone.transcript or not reminders(gone)

    # They unblock the bot and write to it again: their subscription was never theirs to lose.
    bot.api.unblock(gone.user_id)
    await gone.send("/help")
    disaster = day(bot, "disaster_reduction")
    bot.clock.set(at(dt.date(2027, 5, 11), 11))
    await sweep(bot)
    await bot.drain()
    assert reminders(gone)[-1].plain.split("\n")[0] == disaster.name.en


async def test_sweeping_again_sends_nothing_twice(bot: Bot) -> None:
    reader = await subscriber(bot, "zh-hans")
    entry = day(bot, "disaster_reduction")
    bot.clock.set(at(dt.date(2027, 5, 11), 11))
    assert await sweep(bot) == 1
    assert await sweep(bot) == 0
    await bot.drain()
    bot.clock.advance(hours=5)
    assert await sweep(bot) == 0
    bot.clock.set(at(dt.date(2027, 5, 12), 9))  # the day itself: no catch-up for them
    assert await sweep(bot) == 0
    await bot.drain()
    got = reminders(reader)
    assert len(got) == 1
    check_message(got[0], entry, "zh_Hans")
    # Next year it comes again.
    bot.clock.set(at(dt.date(2028, 5, 11), 11))
    assert await sweep(bot) == 1


@pytest.mark.parametrize(
    ("year", "monday"), [(2026, dt.date(2026, 3, 30)), (2027, dt.date(2027, 3, 29))]
)
async def test_school_safety_day_is_the_last_monday_of_march(
    bot: Bot, year: int, monday: dt.date
) -> None:
    reader = await subscriber(bot, "zh-hant")
    entry = day(bot, "primary_school_safety")
    assert entry.date_in(year) == monday
    # A week earlier is a Monday too, but not the last one.
    bot.clock.set(at(monday - dt.timedelta(days=8), 11))
    assert entry.code not in [d.day.code for d in due_days(bot.services, bot.clock.now())]
    bot.clock.set(at(monday - dt.timedelta(days=1), 11))
    assert [d.day.code for d in due_days(bot.services, bot.clock.now())] == [entry.code]
    assert await sweep(bot) == 1
    await bot.drain()
    check_message(reader.last, entry, "zh_Hant")
    assert "全國中小學生安全教育日" in reader.last.plain


async def test_an_early_sweep_waits_until_ten_the_day_before(bot: Bot) -> None:
    reader = await subscriber(bot)
    entry = day(bot, "fire_safety")
    eve = dt.date(2026, 11, 8)
    bot.clock.set(at(eve, 7))
    assert await sweep(bot) == 1
    bot.clock.set(at(eve, 9, 59))
    assert (await bot.drain()).sent == 0
    assert not reminders(reader)
    bot.clock.set(at(eve, 10))
    assert (await bot.drain()).sent == 1
    check_message(reader.last, entry, "en")
    assert reader.last.date.astimezone(SHANGHAI) == at(eve, 10)


async def test_catch_up_on_the_day_itself_says_today(bot: Bot) -> None:
    reader = await subscriber(bot)
    entry = day(bot, "traffic_safety")
    # The bot was down all of 1 December; it is back at 07:00 on the day.
    bot.clock.set(at(dt.date(2026, 12, 2), 7))
    assert await sweep(bot) == 1
    assert (await bot.drain()).sent == 0  # quiet hours until 08:00
    bot.clock.set(at(dt.date(2026, 12, 2), 8))
    assert (await bot.drain()).sent == 1
    sent = reader.last
    assert sent.text is not None
    assert sent.text.startswith(f"<b>Today: {entry.name.en}</b>")
    assert "Tomorrow" not in sent.plain  # the day-before text would be wrong today
    for tip in entry.tips.en:
        assert f"• {tip}" in sent.plain
    assert sent.has_button("Report a hazard")
    # Once is enough, and the day after nothing is late-sent.
    assert await sweep(bot) == 0
    late = await subscriber(bot)
    bot.clock.set(at(dt.date(2026, 12, 3), 9))
    assert await sweep(bot) == 0
    assert not reminders(late)


async def test_queued_late_in_the_evening_it_arrives_on_the_day_as_today(bot: Bot) -> None:
    reader = await subscriber(bot, "zh-hans")
    entry = day(bot, "fire_safety")
    bot.clock.set(at(dt.date(2026, 11, 8), 22))  # too late to send before quiet hours
    assert await sweep(bot) == 1
    assert (await bot.drain()).sent == 0
    bot.clock.set(at(dt.date(2026, 11, 9), 8))
    await bot.drain()
    assert reader.last.text is not None
    assert entry.name.zh_Hans in reader.last.text
    assert entry.message.zh_Hans not in reader.last.plain  # "明天是…" would be wrong now
    # Late on the day itself nothing is queued any more: it would arrive the day after.
    other = await subscriber(bot)
    bot.clock.set(at(dt.date(2026, 11, 9), 21, 30))
    assert await sweep(bot) == 0
    assert not reminders(other)


async def test_the_sweep_runs_with_the_others(bot: Bot) -> None:
    await subscriber(bot)
    bot.clock.set(at(dt.date(2026, 12, 1), 11))
    queued = await bot.sweep()
    assert queued["sweep_awareness"] == 1


@pytest.mark.parametrize("language", list(LANGUAGES))
async def test_queued_the_day_before_but_sent_on_the_day_it_says_today(
    bot: Bot, language: str
) -> None:
    reader = await subscriber(bot, language)
    entry = day(bot, "fire_safety")
    lang = LANGUAGES[language]
    bot.clock.set(at(dt.date(2026, 11, 8), 9))
    assert await sweep(bot) == 1  # queued for 10:00 the day before …
    # … and the bot was down from 09:30 until the morning of the day itself.
    bot.clock.set(at(dt.date(2026, 11, 9), 8, 30))
    assert (await bot.drain()).sent == 1
    sent = reader.last
    assert sent.text is not None
    today = bot.services.catalogs.translator(lang).gettext("Today: {name}")
    assert sent.text.startswith("<b>" + today.format(name=entry.name.get(lang)) + "</b>")
    assert entry.message.get(lang) not in sent.plain  # "tomorrow is …" would be wrong now
    for tip in entry.tips.get(lang):
        assert f"• {tip}" in sent.plain
    assert sent.buttons[-1][-1][1] == "rep:1:start"
    assert await sweep(bot) == 0  # and once is enough


async def test_a_sending_held_by_quiet_hours_goes_on_the_day_saying_today(bot: Bot) -> None:
    readers = [await subscriber(bot) for _ in range(3)]
    entry = day(bot, "fire_safety")
    eve = dt.date(2026, 11, 8)
    bot.clock.set(at(eve, 11))
    assert await sweep(bot) == 3
    # Delivery stalled until after the sending window closed (a backlog, an outage of
    # Telegram): the rest waits for 08:00, which is the day itself.
    bot.clock.set(at(eve, 21, 30))
    assert (await bot.drain()).sent == 0
    bot.clock.set(at(dt.date(2026, 11, 9), 8))
    assert (await bot.drain()).sent == 3
    for reader in readers:
        assert reader.last.plain.startswith(f"Today: {entry.name.en}")
        assert reader.last.date.astimezone(SHANGHAI) == at(dt.date(2026, 11, 9), 8)
