"""/broadcast: an admin's warning — audience, preview, confirm, delivery report; nobody else."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from bot import broadcasts
from fakebotapi import FakeUser, SentMessage
from tests.support import postgres, tables
from tests.support.chat import NOT_ALLOWED, Bot
from tests.support.images import has_metadata, jpeg
from tests.support.moments import SHANGHAI
from tests.support.people import make_admin, subscriber

WARNING = "Heavy rain tonight: keep away from the riverbank & the <Xinhe> underpass."


async def sweep(bot: Bot) -> tuple[int, int]:
    """Run the broadcast sweeps as the periodic job would: (queued, reports)."""
    now = bot.clock.now()
    queued = await broadcasts.sweep_broadcast_queue(bot.services, now)
    reports = await broadcasts.sweep_broadcast_reports(bot.services, now)
    return queued, reports


async def write(bot: Bot, admin: FakeUser, text: str = WARNING) -> SentMessage:
    """Start a broadcast and send its text; return the audience question."""
    await admin.send("/broadcast")
    assert "Send the warning for subscribers" in admin.last.plain
    await admin.send(text)
    assert admin.last.plain == "Who should get it?"
    return admin.last


def warnings(user: FakeUser) -> list[SentMessage]:
    return [m for m in user.transcript if m.plain.startswith("📢")]


async def outbox_rows(bot: Bot, broadcast_id: int) -> int:
    value = tables.value(
        bot.db, "SELECT COUNT(*) FROM outbox WHERE broadcast_id = ?", (broadcast_id,)
    )
    return int(value)


async def test_admin_broadcasts_to_every_subscriber(bot: Bot) -> None:
    admin = await make_admin(bot)
    english = await subscriber(bot, "en")
    chinese = await subscriber(bot, "zh-hans", "sub:1:d:laocheng")
    other = await subscriber(bot, "en", "My area: Dongpo District")
    outsider = bot.user(language="en")
    await outsider.send("/start")

    question = await write(bot, admin)
    assert question.has_button("All subscribers (3)")
    assert question.has_button("Laocheng District (1)")
    assert question.has_button("Xihu District (0)")
    await admin.press("All subscribers", message=question)
    preview, summary = admin.transcript[-2:]
    assert preview.plain == f"📢 Safety notice from Sample City\n\n{WARNING}"
    assert preview.has_button("Report a hazard")
    assert "It goes to 3 subscribers (all subscribers)." in summary.plain
    assert not warnings(english)  # nothing before the confirmation
    assert tables.count(bot.db, "outbox") == 0

    await admin.press("Confirm and send", message=summary)
    assert summary.plain.startswith("✅ Confirmed: it is going out to 3 subscribers")
    assert not summary.buttons
    await bot.drain()
    # Exactly what the preview showed, the admin's words escaped, not taken as HTML.
    assert [m.plain for m in warnings(english)] == [preview.plain]
    assert warnings(english)[0].buttons == preview.buttons
    assert warnings(other)[0].plain == preview.plain
    said = warnings(chinese)
    assert len(said) == 1
    assert "示例市" in said[0].plain
    assert said[0].plain.endswith(WARNING)
    assert not warnings(outsider)
    assert not warnings(admin)[1:]  # the admin saw only the preview

    # When all of it has gone out, the author gets the delivery report.
    assert await sweep(bot) == (0, 1)
    await bot.drain()
    report = admin.last.plain
    assert report.startswith("Delivery report of your broadcast #1")
    assert "To: all subscribers" in report
    assert "Delivered: 3" in report
    assert "Failed: 0" in report
    assert "Blocked the bot: 0" in report
    assert await sweep(bot) == (0, 0)  # once


async def test_admin_broadcasts_to_one_district(bot: Bot) -> None:
    admin = await make_admin(bot)
    laocheng = await subscriber(bot, "en", "My area: Laocheng District")
    city_wide = await subscriber(bot, "en")
    dongpo = await subscriber(bot, "en", "My area: Dongpo District")
    question = await write(bot, admin, "Gas leak on Market Lane: the street is closed.")
    await admin.press("Laocheng District", message=question)
    summary = admin.last
    assert "It goes to 1 subscriber (subscribers in Laocheng District)." in summary.plain
    await admin.press("Confirm and send", message=summary)
    await bot.drain()
    assert len(warnings(laocheng)) == 1
    assert "Gas leak on Market Lane" in warnings(laocheng)[0].plain
    assert not warnings(city_wide)
    assert not warnings(dongpo)
    await sweep(bot)
    await bot.drain()
    assert "To: subscribers in Laocheng District" in admin.last.plain
    assert "Delivered: 1" in admin.last.plain
    row = await bot.db.read.broadcasts.get(1)
    assert row is not None
    assert (row.district, row.total) == ("laocheng", 1)


async def test_photo_broadcast_goes_out_without_metadata(bot: Bot) -> None:
    admin = await make_admin(bot)
    reader = await subscriber(bot, "en")
    await admin.send("/broadcast")
    await admin.send_photo(jpeg(seed=7))  # no caption: no text to send
    assert "with the warning text as its caption" in admin.last.plain
    await admin.send_photo(jpeg(seed=7), caption="This wall on Market Lane may collapse.")
    await admin.press("All subscribers")
    photo, preview, summary = admin.transcript[-3:]
    assert photo.method == "sendPhoto"
    assert photo.photo is not None
    assert not has_metadata(photo.photo)
    assert preview.plain.endswith("This wall on Market Lane may collapse.")
    await admin.press("Confirm and send", message=summary)
    mark = len(reader.transcript)
    await bot.drain()
    [got] = reader.transcript[mark:]  # one message: the photo, the warning as its caption
    assert got.method == "sendPhoto"
    assert got.photo is not None
    assert not has_metadata(got.photo)
    assert got.plain == preview.plain
    assert got.has_button("Report a hazard")


async def test_a_subscriber_who_blocked_the_bot_is_counted_as_blocked(bot: Bot) -> None:
    admin = await make_admin(bot)
    readers = [await subscriber(bot, "en") for _ in range(3)]
    bot.api.block(readers[1].user_id)
    question = await write(bot, admin)
    await admin.press("All subscribers (3)", message=question)
    await admin.press("Confirm and send")
    assert (await sweep(bot))[1] == 0  # pending: no report yet
    await bot.drain()
    await sweep(bot)
    await bot.drain()
    report = admin.last.plain
    assert "Delivered: 2" in report
    assert "Blocked the bot: 1" in report
    # The next broadcast knows: it is not even offered to them.
    question = await write(bot, admin, "Second warning.")
    assert question.has_button("All subscribers (2)")


async def test_confirming_twice_or_a_replay_sends_once(bot: Bot) -> None:
    admin = await make_admin(bot)
    readers = [await subscriber(bot, "en") for _ in range(2)]
    question = await write(bot, admin)
    await admin.press("All subscribers", message=question)
    summary = admin.last
    update = await admin.press("Confirm and send", message=summary)
    assert not summary.buttons  # the buttons are gone after the first press
    await bot.deliver(update)  # Telegram delivers the same press again after a crash
    assert await outbox_rows(bot, 1) == 2
    await admin.press_data("bc:1:ok:1:*", summary)  # and a third press, from a stale copy
    assert admin.callback_answers[-1]["text"] == "This broadcast has been sent already."
    await admin.press("All subscribers", message=question)  # an old audience button
    assert admin.callback_answers[-1]["text"] == "This broadcast has been sent already."
    await admin.press_data("bc:1:no:1", summary)  # cancel after sending: too late
    assert admin.callback_answers[-1]["text"] == "This broadcast has been sent already."
    assert tables.count(bot.db, "broadcasts") == 1
    assert await outbox_rows(bot, 1) == 2
    await bot.drain()
    for reader in readers:
        assert len(warnings(reader)) == 1


async def test_nobody_but_the_author_admin_may_broadcast(bot: Bot) -> None:
    admin = await make_admin(bot)
    second_admin = await make_admin(bot)
    reader = await subscriber(bot, "en")
    citizen = bot.user(language="en")

    await citizen.send("/broadcast")
    assert citizen.last.plain == NOT_ALLOWED
    await citizen.send("Everyone panic")  # not taken as a broadcast
    assert citizen.last.plain.startswith("I was not expecting that.")

    question = await write(bot, admin)
    await admin.press("All subscribers", message=question)
    summary = admin.last
    for data in ("bc:1:aud:1:*", "bc:1:ok:1:*", "bc:1:no:1", "bc:1:whatever"):
        await citizen.press_data(data, citizen.last)
        assert citizen.callback_answers[-1]["text"] == NOT_ALLOWED
        await reader.press_data(data, reader.last)
        assert reader.callback_answers[-1]["text"] == NOT_ALLOWED
    # Another admin cannot send or cancel someone else's draft.
    for data in ("bc:1:ok:1:*", "bc:1:no:1", "bc:1:aud:1:*"):
        await second_admin.press_data(data, second_admin.last)
        assert second_admin.callback_answers[-1]["text"] == NOT_ALLOWED
    # Forged buttons of the author: unknown broadcast, unknown district, bad shape.
    for data in ("bc:1:ok:99:*", "bc:1:ok:1:atlantis", "bc:1:aud:1", "bc:1:ok:1:'x'"):
        await admin.press_data(data, summary)
        assert admin.callback_answers[-1]["text"] == NOT_ALLOWED
    assert tables.count(bot.db, "outbox") == 0
    row = await bot.db.read.broadcasts.get(1)
    assert row is not None
    assert row.sent_at is None
    # The author still can.
    await admin.press("Confirm and send", message=summary)
    await bot.drain()
    assert len(warnings(reader)) == 1


async def test_cancel_sends_nothing(bot: Bot) -> None:
    admin = await make_admin(bot)
    reader = await subscriber(bot, "en")
    await admin.send("/broadcast")
    await admin.send("/cancel")
    assert admin.last.plain == "Cancelled. Nothing was changed."
    await admin.send("A warning after all?")
    assert admin.last.plain.startswith("I was not expecting that.")

    question = await write(bot, admin)
    await admin.press("All subscribers", message=question)
    summary = admin.last
    await admin.press("Cancel", message=summary)
    assert summary.plain == "Cancelled. Nothing was sent."
    await admin.press_data("bc:1:ok:1:*", summary)
    assert admin.callback_answers[-1]["text"] == NOT_ALLOWED  # the draft is gone
    assert tables.count(bot.db, "broadcasts") == 0
    await bot.drain()
    assert not warnings(reader)


async def test_too_long_a_warning_may_be_sent_again(bot: Bot) -> None:
    admin = await make_admin(bot)
    await admin.send("/broadcast")
    await admin.send("x" * (broadcasts.MAX_TEXT + 1))
    assert admin.last.plain.startswith(
        f"Please keep the warning under {broadcasts.MAX_TEXT} characters."
    )
    await admin.send("Short enough.")
    assert admin.last.plain == "Who should get it?"


async def test_quiet_hours_hold_a_broadcast_until_morning(bot: Bot) -> None:
    admin = await make_admin(bot)
    reader = await subscriber(bot, "en")
    evening = dt.datetime(2026, 11, 22, 22, 0, tzinfo=SHANGHAI)
    bot.clock.set(evening)
    question = await write(bot, admin)
    await admin.press("All subscribers", message=question)
    assert "It is quiet hours now: it goes out from 08:00." in admin.last.plain
    await admin.press("Confirm and send")
    assert (await bot.drain()).sent == 0
    assert await sweep(bot) == (0, 0)
    bot.clock.set(evening + dt.timedelta(hours=9, minutes=59))  # 07:59
    assert (await bot.drain()).sent == 0
    assert not warnings(reader)
    bot.clock.set(evening + dt.timedelta(hours=10))  # 08:00
    assert (await bot.drain()).sent == 1
    assert len(warnings(reader)) == 1
    await sweep(bot)
    await bot.drain()
    assert "Delivered: 1" in admin.last.plain


async def test_a_large_audience_is_queued_in_chunks_and_resumed_after_a_crash(
    bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(broadcasts, "CHUNK", 3)
    admin = await make_admin(bot)
    now = bot.clock.now()
    async with bot.db.transaction() as tx:
        for user_id in range(5001, 5009):
            await tx.users.touch(user_id, "en", now)
            await tx.users.set_subscribed(user_id, True)
    whole = broadcasts.queue_broadcast

    async def crash_after_one_chunk(*args: Any, **kwargs: Any) -> int:
        await whole(*args, **kwargs, max_chunks=1)
        raise RuntimeError("killed while queuing")

    monkeypatch.setattr(broadcasts, "queue_broadcast", crash_after_one_chunk)
    question = await write(bot, admin)
    await admin.press("All subscribers (8)", message=question)
    await admin.press("Confirm and send")
    assert await outbox_rows(bot, 1) == 3  # one chunk, then the crash
    monkeypatch.setattr(broadcasts, "queue_broadcast", whole)
    assert await sweep(bot) == (5, 0)  # the sweep queues the rest; the report waits
    assert await sweep(bot) == (0, 0)
    await bot.drain()
    assert await sweep(bot) == (0, 1)
    await bot.drain()
    assert "Delivered: 0" in admin.last.plain  # the fake API knows none of these chats
    assert "Blocked the bot: 8" in admin.last.plain


async def test_a_large_audience_is_queued_at_once(
    bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(broadcasts, "CHUNK", 3)
    admin = await make_admin(bot)
    readers = [await subscriber(bot, "en") for _ in range(7)]
    question = await write(bot, admin)
    await admin.press("All subscribers (7)", message=question)
    await admin.press("Confirm and send")
    assert await outbox_rows(bot, 1) == 7
    await bot.drain()
    assert all(len(warnings(reader)) == 1 for reader in readers)


@postgres.postgresql_only
async def test_a_large_audience_leaves_the_planner_knowing_the_outbox(
    bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Three workers claiming 100,000 rows with a plan made before PostgreSQL had figures for
    # the outbox sent half as fast as allowed (bench/README.md, "Broadcast across workers").
    monkeypatch.setattr(broadcasts, "CHUNK", 3)
    admin = await make_admin(bot)
    for _ in range(7):
        await subscriber(bot, "en")
    question = await write(bot, admin)
    await admin.press("All subscribers (7)", message=question)
    await admin.press("Confirm and send")
    assert await outbox_rows(bot, 1) == 7
    known = tables.value(bot.db, "SELECT reltuples FROM pg_class WHERE relname = 'outbox'")
    assert known >= 7


async def test_the_broadcast_sweeps_run_with_the_others(bot: Bot) -> None:
    admin = await make_admin(bot)
    await subscriber(bot, "en")
    question = await write(bot, admin)
    await admin.press("All subscribers", message=question)
    await admin.press("Confirm and send")
    await bot.drain()
    queued = await bot.sweep()
    assert queued["sweep_broadcast_queue"] == 0
    assert queued["sweep_broadcast_reports"] == 1


async def test_broadcast_is_in_the_admins_menu(bot: Bot) -> None:
    admin = await make_admin(bot)
    await admin.send("/help")
    assert "/broadcast — Send a warning to subscribers" in admin.last.plain
