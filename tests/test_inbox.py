"""The durable inbox and the update processor, as the bot runs: long polling the fake Bot API.

Every update is in the database before the bot's next getUpdates tells Telegram it arrived; each
is handled once; what a crash left unhandled is handled on the next start, in order. One user's
updates are handled in order, one at a time; other users' meanwhile, up to the bound.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from telegram import Update

from bot.city import CityConfig
from bot.clock import ManualClock
from bot.schedule import INBOX_RETENTION, run_sweeps
from bot.settings import Settings
from bot.tg import inbox as inbox_module
from bot.tg.processing import conversation_of
from fakebotapi import FakeBotAPI, FakeUser
from storage.inbox import InboxRepo
from tests.support import tables
from tests.support.chat import SORRY, Bot
from tests.support.polling import Polling
from tests.support.process import free_port

WELCOME = "Welcome to Shaozi"
HELP = "Commands you can use:"


@pytest.fixture
async def polling(
    api: FakeBotAPI, settings: Settings, clock: ManualClock, city: CityConfig
) -> AsyncIterator[Polling]:
    running = Polling(api, settings, clock, city)
    yield running
    if running.app is not None:
        await running.stop()


def inbox(polling: Polling) -> list[tuple[int, bool, bool]]:
    """(update_id, handled, content kept) of every row, in arrival order."""
    return [
        (r["update_id"], r["handled_at"] is not None, r["payload"] is not None)
        for r in tables.rows(
            polling.settings.database,
            "SELECT update_id, handled_at, payload FROM inbox ORDER BY seq",
        )
    ]


def chat_of(update: Update) -> int | None:
    return update.effective_chat.id if update.effective_chat else None


async def answers(user: FakeUser, count: int) -> list[str]:
    """Wait until the user has ``count`` messages from the bot; return their texts."""
    while len(user.transcript) < count:
        await user.wait_for_message(timeout=10)
    return user.texts()


async def test_each_update_is_committed_before_the_next_offset_confirms_it(
    polling: Polling,
) -> None:
    hold = polling.hold()
    seen: list[tuple[int, set[int]]] = []

    def check(offset: int) -> None:
        stored = tables.rows(polling.settings.database, "SELECT update_id FROM inbox")
        seen.append((offset, {r[0] for r in stored}))

    polling.on_poll = check
    await polling.start()
    users = [polling.user(100 + n) for n in range(3)]
    for user in users:  # no await in between: one getUpdates batch of three
        await user.send("/help")
    await polling.confirmed(3)
    await hold.until_running(3)
    # Confirmed to Telegram while none of them has been handled yet: they are in the inbox.
    assert inbox(polling) == [(1, False, True), (2, False, True), (3, False, True)]
    for offset, stored in seen:
        assert set(range(1, offset)) <= stored, f"getUpdates offset {offset} before the commit"
    assert any(offset == 4 for offset, _ in seen)
    hold.released.set()
    for user in users:
        assert HELP in (await answers(user, 1))[0]
    await polling.idle()
    assert inbox(polling) == [(1, True, False), (2, True, False), (3, True, False)]


async def test_the_webhook_answers_telegram_after_the_commit(polling: Polling) -> None:
    hold = polling.hold()
    port = free_port()
    await polling.start(webhook=port)
    answered: list[tuple[int, list[tuple[int, bool, bool]]]] = []
    async with httpx.AsyncClient() as client:

        async def post(update: dict[str, Any]) -> None:
            response = await client.post(f"http://127.0.0.1:{port}/hook", json=update)
            answered.append((response.status_code, inbox(polling)))

        user = FakeUser(polling.api, 801, language_code="en", deliver=post)
        sent = await user.send("/help")
        await hold.until_running(1)
        # Telegram had its 200 with the update committed, not yet handled.
        assert answered == [(200, [(1, False, True)])]
        hold.released.set()
        assert HELP in (await answers(user, 1))[0]
        await polling.idle()
        await post(sent)  # Telegram retries a call whose answer it did not get
        await user.send("/start")  # one conversation: a queued replay would be answered first
        texts = await answers(user, 2)
        await polling.idle()
    assert answered[1] == (200, [(1, True, False)])
    assert len(texts) == 2
    assert WELCOME in texts[1]


async def test_a_database_that_refuses_for_a_while_delays_polling_and_loses_nothing(
    polling: Polling, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(inbox_module, "RETRY_FIRST", 0)
    refusals = 3
    add = InboxRepo.add

    async def refusing(repo: InboxRepo, *args: Any) -> bool:
        nonlocal refusals
        if refusals:
            refusals -= 1
            raise sqlite3.OperationalError("database is locked")
        return await add(repo, *args)

    monkeypatch.setattr(InboxRepo, "add", refusing)
    await polling.start()
    user = polling.user(251)
    await user.send("/help")
    assert HELP in (await answers(user, 1))[0]
    assert refusals == 0
    await user.send("/start")  # polling goes on
    assert WELCOME in (await answers(user, 2))[1]
    await polling.idle()
    assert inbox(polling) == [(1, True, False), (2, True, False)]


async def test_an_update_that_comes_again_is_not_handled_again(polling: Polling) -> None:
    app = await polling.start()
    user = polling.user(201)
    sent = await user.send("/start")
    await answers(user, 1)
    await polling.idle()
    # Telegram sends an update again when the bot died before confirming it (polling), or the
    # webhook's answer did not reach it: the updater or the webhook puts it in the queue again.
    await app.update_queue.put(Update.de_json(sent, app.bot))
    await user.send("/help")  # the same conversation: handled after the replay, were it queued
    texts = await answers(user, 2)
    await polling.idle()
    assert len(texts) == 2
    assert WELCOME in texts[0]
    assert HELP in texts[1]
    assert inbox(polling) == [(1, True, False), (2, True, False)]


async def test_what_a_crash_left_unhandled_is_handled_on_start_once_in_order(
    polling: Polling,
) -> None:
    app = await polling.start()
    user, other = polling.user(301), polling.user(302)
    await user.send("/help")
    await answers(user, 1)
    await app.stop()  # the Application stops handling; the updater still receives and commits
    second = await user.send("/start")
    await other.send("/start")
    await user.send("/help")
    await polling.confirmed(4)
    waiting = (False, True)
    assert inbox(polling) == [(1, True, False), (2, *waiting), (3, *waiting), (4, *waiting)]
    await polling.crash()
    assert len(user.transcript) == 1
    assert other.transcript == []

    app = await polling.start()
    # Telegram never sends a confirmed update again; were it to, it would not count twice.
    await app.update_queue.put(Update.de_json(second, app.bot))
    texts = await answers(user, 3)
    await answers(other, 1)
    await polling.idle()
    assert [WELCOME in t or HELP in t for t in texts] == [True, True, True]
    assert HELP in texts[0]
    assert WELCOME in texts[1]
    assert HELP in texts[2]
    assert len(other.texts()) == 1
    assert WELCOME in other.texts()[0]
    assert inbox(polling) == [(n, True, False) for n in (1, 2, 3, 4)]


async def test_an_update_whose_handler_failed_counts_as_handled(polling: Polling) -> None:
    polling.fail(lambda update: chat_of(update) == 351)
    await polling.start()
    unlucky, other = polling.user(351), polling.user(352)
    await unlucky.send("/help")
    assert SORRY in (await answers(unlucky, 1))[0]  # the error handler answered
    await other.send("/help")
    assert HELP in (await answers(other, 1))[0]
    await polling.idle()
    assert inbox(polling) == [(1, True, False), (2, True, False)]
    answered = len(unlucky.transcript)
    await polling.stop()
    await polling.start()  # nothing to handle again: the user was answered
    await other.send("/start")
    assert WELCOME in (await answers(other, 2))[1]
    await polling.idle()
    assert len(unlucky.transcript) == answered


async def test_one_users_updates_wait_for_each_other_and_no_one_else_does(
    polling: Polling,
) -> None:
    slow, quick = 401, 402
    hold = polling.hold(
        lambda update: (
            chat_of(update) == slow
            and update.effective_message is not None
            and update.effective_message.text == "/start"
        )
    )
    await polling.start()
    first, second = polling.user(slow), polling.user(quick)
    await first.send("/start")
    await first.send("/help")
    await hold.until_running(1)
    await second.send("/help")
    assert HELP in (await answers(second, 1))[0]
    assert first.transcript == []  # its /help waits for its /start
    hold.released.set()
    texts = await answers(first, 2)
    assert WELCOME in texts[0]
    assert HELP in texts[1]
    await polling.idle()
    assert polling.processor.conversations == 0  # a finished conversation leaves nothing behind


async def test_no_more_updates_at_once_than_the_bound(polling: Polling) -> None:
    polling.settings = polling.settings.model_copy(update={"concurrent_updates": 3})
    hold = polling.hold()
    await polling.start()
    users = [polling.user(500 + n) for n in range(5)]
    for user in users:
        await user.send("/help")
    await polling.confirmed(5)
    await hold.until_running(3)
    for _ in range(50):  # every other task gets its turns: none more comes in
        await asyncio.sleep(0)
    assert hold.running == 3
    assert polling.processor.current_concurrent_updates == 3
    assert sum(bool(user.transcript) for user in users) == 0
    hold.released.set()
    for user in users:
        assert HELP in (await answers(user, 1))[0]
    await polling.idle()
    assert hold.peak == 3


async def test_the_setting_of_one_handles_one_update_at_a_time(polling: Polling) -> None:
    polling.settings = polling.settings.model_copy(update={"concurrent_updates": 1})
    hold = polling.hold(lambda update: chat_of(update) == 601)
    await polling.start()
    held, waiting = polling.user(601), polling.user(602)
    await held.send("/help")
    await hold.until_running(1)
    await waiting.send("/help")
    await polling.confirmed(2)
    for _ in range(50):
        await asyncio.sleep(0)
    assert waiting.transcript == []  # another user waits: one update at a time
    hold.released.set()
    assert HELP in (await answers(waiting, 1))[0]
    assert HELP in (await answers(held, 1))[0]


async def test_handled_updates_are_pruned_and_waiting_ones_kept(
    polling: Polling, clock: ManualClock
) -> None:
    app = await polling.start()
    user = polling.user(701)
    await user.send("/help")
    await answers(user, 1)
    await polling.idle()
    clock.advance(days=1)
    await user.send("/start")
    await answers(user, 2)
    await polling.idle()
    await app.stop()
    await user.send("/help")  # received, not handled (the bot stops before it)
    await polling.confirmed(3)
    clock.advance(INBOX_RETENTION - dt.timedelta(days=1) + dt.timedelta(minutes=1))
    await run_sweeps(app.bot_data.services)
    # The first is older than Telegram's window for sending anything again: it goes.
    assert inbox(polling) == [(2, True, False), (3, False, True)]
    clock.advance(days=30)
    await run_sweeps(app.bot_data.services)
    assert inbox(polling) == [(3, False, True)]
    await polling.crash()


async def test_a_report_started_again_by_a_replay_asks_its_step_again(bot: Bot) -> None:
    # Killed after its answer and before it was marked handled, an update is handled again.
    user = bot.user(language="en")
    started = await user.send("/report")
    await bot.deliver(started)
    texts = user.texts()
    assert len(texts) == 2
    assert texts[0] == texts[1]  # the category question again, not "continue or start over?"
    await user.press("Fire safety")
    assert "Step 2 of 6" in user.last.plain


def test_a_conversation_is_a_user_in_a_chat(bot: Bot) -> None:
    assert bot.app is not None

    def update(data: dict[str, Any]) -> Update:
        return Update.de_json({"update_id": 1, **data}, bot.app.bot)  # type: ignore[union-attr]

    person = {"id": 9, "is_bot": False, "first_name": "A"}
    private = {"id": 9, "type": "private", "first_name": "A"}
    group = {"id": -100, "type": "supergroup", "title": "G"}
    text = {"message_id": 1, "date": 0, "from": person, "text": "hi"}
    assert conversation_of(update({"message": {**text, "chat": private}})) == (9, 9)
    assert conversation_of(update({"message": {**text, "chat": group}})) == (-100, 9)
    presser = {"id": 10, "is_bot": False, "first_name": "B"}
    press = {
        "id": "q",
        "from": presser,
        "chat_instance": "i",
        "data": "x",
        "message": {**text, "chat": group},
    }
    assert conversation_of(update({"callback_query": press})) == (-100, 10)
    itself = {"id": 1, "is_bot": True, "first_name": "Shaozi"}
    blocked = {
        "chat": private,
        "from": person,
        "date": 0,
        "old_chat_member": {"status": "member", "user": itself},
        "new_chat_member": {"status": "kicked", "until_date": 0, "user": itself},
    }
    assert conversation_of(update({"my_chat_member": blocked})) == (9, 9)
    assert conversation_of(object()) is None
