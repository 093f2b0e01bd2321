"""The outbox under faults and limits: what is reachable arrives once, within the limits."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import itertools
import random
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Callable

import pytest

from bot.cards import Outgoing, visible_len
from bot.invites import InviteSpec
from bot.notify import Notifier
from bot.reports import store_photo
from bot.tg.app import outbox_worker
from bot.tg.delivery import Limits, OutboxWorker
from bot.vocabulary.roles import Role
from fakebotapi.api import FakeNetworkError
from storage._sql import POSTGRESQL
from storage.db import Session
from tests.support import tables
from tests.support.cases import DESCRIPTION, LAOCHENG, report
from tests.support.chat import Bot, map_points, since
from tests.support.images import has_metadata, jpeg
from tests.support.moments import SHANGHAI
from tests.support.people import staff


def saying(text: str) -> Callable[[object], Outgoing]:
    """A notification that reads ``text`` in every language."""
    return lambda _tr: Outgoing(text)


async def queue(bot: Bot, users: list[int], per_user: int) -> list[str]:
    """Queue ``per_user`` numbered messages to each user; return their texts."""
    services = bot.services
    texts = []
    async with bot.db.transaction() as tx:
        for user_id in users:
            await tx.users.touch(user_id, "en", bot.clock.now())
        notifier = Notifier(tx, services, bot.clock.now())
        for n in range(per_user):
            for user_id in users:
                text = f"note {n} for {user_id}"
                texts.append(text)
                await notifier.user(user_id, f"t:{n}", saying(text))
    return texts


def worker(bot: Bot, limits: Limits) -> OutboxWorker:
    assert bot.app is not None
    services = bot.services
    return OutboxWorker(
        bot.app.bot, services.db, services.clock, services.settings.photos_dir, limits
    )


async def test_faults_delay_but_never_lose_or_repeat(bot: Bot) -> None:
    users = list(range(5000, 5040))
    blocked = set(users[:4])
    for user_id in users:
        bot.user(user_id, language="en")  # the fake API knows their chats
    texts = await queue(bot, users, per_user=5)
    for user_id in blocked:
        bot.api.block(user_id)
    rng = random.Random(7)

    def chaos(method: str, params: dict[str, object]) -> dict[str, object] | None:
        roll = rng.random()
        if roll < 0.08:
            return {"retry_after": rng.randint(1, 3)}
        if roll < 0.16:
            return {"network": True}
        if roll < 0.22:
            return {"error_code": 500, "description": "Internal Server Error"}
        if roll < 0.25:
            return {"error_code": 502, "description": "Bad Gateway"}
        return None

    bot.api.chaos = chaos
    sender = worker(bot, Limits())  # Telegram's real limits, on the test's clock
    for _ in range(2000):
        await sender.run_once()
        if await bot.db.read.outbox.pending_count() == 0:
            break
        bot.clock.advance(seconds=1)
    assert await bot.db.read.outbox.pending_count() == 0

    attempts = len(bot.api.calls_of("sendMessage"))
    delivered = Counter(m.plain for m in bot.api.sent if m.chat_id in users)
    reachable = [t for t in texts if int(t.rsplit(" ", 1)[1]) not in blocked]
    assert set(delivered) == set(reachable)
    assert all(count == 1 for count in delivered.values())
    assert attempts > len(reachable) * 1.2  # the faults really happened, and were retried
    statuses = {
        row[0]: row[1]
        for row in tables.rows(bot.db, "SELECT status, COUNT(*) FROM outbox GROUP BY status")
    }
    assert statuses == {"sent": len(reachable), "dropped": len(blocked) * 5}
    for user_id in blocked:
        row = await bot.db.read.users.get(user_id)
        assert row is not None
        assert row.blocked_at is not None
        assert not row.subscribed

    # Within the limits all along: one message a second to a chat, 30 a second overall.
    by_chat: dict[int, list[dt.datetime]] = defaultdict(list)
    for message in bot.api.sent:
        if message.chat_id in users:
            by_chat[message.chat_id].append(message.date)
    for moments in by_chat.values():
        gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(moments)]
        assert min(gaps, default=1) >= 1
    per_second = Counter(m.date for m in bot.api.sent if m.chat_id in users)
    assert max(per_second.values()) <= 30


async def test_group_chats_get_at_most_20_a_minute(bot: Bot) -> None:
    group = -100123
    bot.api.add_chat({"id": group, "type": "supergroup", "title": "Fire department"})
    services = bot.services
    async with bot.db.transaction() as tx:
        notifier = Notifier(tx, services, bot.clock.now())
        for n in range(45):
            await notifier.group(group, f"g:{n}", saying(f"group note {n}"))
    sender = worker(bot, Limits())
    sent_by_minute = []
    for _minute in range(3):
        before = len([m for m in bot.api.sent if m.chat_id == group])
        for _ in range(60):
            await sender.run_once()
            bot.clock.advance(seconds=1)
        after = len([m for m in bot.api.sent if m.chat_id == group])
        sent_by_minute.append(after - before)
    assert sent_by_minute == [20, 20, 5]
    order = [int(m.plain.rsplit(" ", 1)[1]) for m in bot.api.sent if m.chat_id == group]
    assert order == list(range(45))  # in the order queued


async def test_the_overall_limit_holds_back_the_rest(bot: Bot) -> None:
    users = list(range(7000, 7100))
    for user_id in users:
        bot.user(user_id, language="en")
    await queue(bot, users, per_user=1)
    sender = worker(bot, Limits(overall_per_second=30))
    first = await sender.run_once()
    assert first.sent == 30
    assert first.waiting == 70
    again = await sender.run_once()  # same instant: nothing more
    assert again.sent == 0
    bot.clock.advance(seconds=1)
    assert (await sender.run_once()).sent == 30


async def test_a_long_sending_stops_at_the_start_of_quiet_hours(bot: Bot) -> None:
    bot.clock.set(dt.datetime(2026, 11, 23, 20, 59, 50, tzinfo=SHANGHAI))
    users = list(range(8000, 9000))
    bot.api.any_private_chat = True
    services = bot.services
    async with bot.db.transaction() as tx:
        for user_id in users:
            await tx.users.touch(user_id, "en", bot.clock.now())
        notifier = Notifier(tx, services, bot.clock.now())
        for user_id in users:
            await notifier.user(user_id, "warn", lambda _tr: Outgoing("Typhoon"), quiet=True)
    # The bot's own worker (with the city's sending window) at Telegram's 30 a second.
    assert bot.app is not None
    sender = dataclasses.replace(outbox_worker(bot.app), limits=Limits())
    for _ in range(20):
        await sender.run_once()
        bot.clock.advance(seconds=1)
    evening = [m for m in bot.api.sent if m.chat_id in users]
    assert 0 < len(evening) < len(users)  # 30 a second for 10 seconds, then quiet hours
    assert all(m.date.astimezone(SHANGHAI).hour < 21 for m in evening)
    assert await bot.db.read.outbox.pending_count() == len(users) - len(evening)
    bot.clock.set(dt.datetime(2026, 11, 24, 8, 0, tzinfo=SHANGHAI))
    while await bot.db.read.outbox.pending_count():
        await sender.run_once()
        bot.clock.advance(seconds=1)
    assert len([m for m in bot.api.sent if m.chat_id in users]) == len(users)


async def test_sent_texts_are_forgotten_after_a_month_but_keys_stay(bot: Bot) -> None:
    bot.user(9100, language="en")
    await queue(bot, [9100], per_user=1)
    await bot.drain()
    bot.clock.advance(days=31)
    services = bot.services
    async with bot.db.transaction() as tx:  # a newer row, still pending: kept
        await Notifier(tx, services, bot.clock.now()).user(9100, "later", lambda _tr: Outgoing("x"))
    await bot.sweep()
    rows = tables.rows(bot.db, "SELECT dedupe_key, payload, status FROM outbox ORDER BY id")
    assert [(r[0], r[1] == "{}", r[2]) for r in rows] == [
        ("t:0:9100", True, "sent"),
        ("later:9100", False, "pending"),
    ]
    # The key still stops the same notification from going out twice.
    async with bot.db.transaction() as tx:
        again = await Notifier(tx, services, bot.clock.now()).user(
            9100, "t:0", lambda _tr: Outgoing("note 0 for 9100")
        )
    assert again is False


async def test_a_photo_goes_up_once_then_by_its_file_id(bot: Bot) -> None:
    services = bot.services
    root = services.settings.photos_dir
    stored = await store_photo(bot.db, root, jpeg(seed=30), bot.clock.now())
    sha = stored.sha256

    async def send_to(users: list[int]) -> list[str]:
        for user_id in users:
            bot.user(user_id, language="en")  # the fake API knows their chats
        async with bot.db.transaction() as tx:
            for user_id in users:
                await tx.users.touch(user_id, "en", bot.clock.now())
            notifier = Notifier(tx, services, bot.clock.now())
            for user_id in users:
                await notifier.user(user_id, "wall", lambda _tr: Outgoing("A wall", photos=[sha]))
        await bot.drain()
        sent = [m for user_id in users for m in bot.api.messages_to(user_id) if m.photo]
        assert len(sent) == len(users)
        return [str(m.file_id) for m in sent]

    first = await send_to([6001, 6002, 6003])
    assert len(set(first)) == 1  # uploaded for the first, named by its file id after
    assert await bot.db.lookup.photos.file_ids([sha]) == {sha: first[0]}

    # A file id Telegram no longer takes (the bot's token changed, say): the bytes go up again.
    async with bot.db.autocommit() as session:
        await session.photos.set_file_ids({sha: "a-file-id-from-another-bot"})
    [again] = await send_to([6004])
    assert again != first[0]
    assert await bot.db.lookup.photos.file_ids([sha]) == {sha: again}


# A notification in parts: photos, a map point, the text and its buttons -----------------------

BUTTON = [[("Look", "x:1")]]


async def photos(bot: Bot, count: int, seed: int = 40) -> list[str]:
    root = bot.services.settings.photos_dir
    now = bot.clock.now()
    stored = [await store_photo(bot.db, root, jpeg(seed=seed + n), now) for n in range(count)]
    return [photo.sha256 for photo in stored]


async def queue_to(bot: Bot, users: list[int], message: Outgoing) -> None:
    for user_id in users:
        bot.user(user_id, language="en")  # the fake API knows their chats
    async with bot.db.transaction() as tx:
        for user_id in users:
            await tx.users.touch(user_id, "en", bot.clock.now())
        notifier = Notifier(tx, bot.services, bot.clock.now())
        for user_id in users:
            await notifier.user(user_id, "parts", lambda _tr: message)


async def deliver_all(bot: Bot, sender: OutboxWorker) -> None:
    for _ in range(2000):
        await sender.run_once()
        if await bot.db.read.outbox.pending_count() == 0:
            return
        bot.clock.advance(seconds=1)
    raise AssertionError("the outbox never emptied")


async def test_a_retry_goes_on_from_the_first_part_not_yet_sent(bot: Bot) -> None:
    users = list(range(5100, 5130))
    album = await photos(bot, 2)
    await queue_to(bot, users, Outgoing("A wall", BUTTON, album, LAOCHENG))
    rng = random.Random(11)

    def chaos(method: str, params: dict[str, object]) -> dict[str, object] | None:
        roll = rng.random()
        if roll < 0.1:
            return {"retry_after": 1}
        if roll < 0.2:
            return {"network": True}
        if roll < 0.3:
            return {"error_code": 502, "description": "Bad Gateway"}
        return None

    bot.api.chaos = chaos
    await deliver_all(bot, worker(bot, Limits()))

    sent = [m for m in bot.api.sent if m.chat_id in users]
    # Each part arrived once: the album (two photo messages), the map point, the text.
    assert len([m for m in sent if m.photo]) == 2 * len(users)
    assert len([m for m in sent if m.location]) == len(users)
    cards = [m for m in sent if m.plain == "A wall"]
    assert sorted(m.chat_id for m in cards) == users
    assert all(m.has_button("Look") for m in cards)
    # Faults hit the parts after the album too, so rows were retried with their album sent.
    later = len(bot.api.calls_of("sendLocation")) + len(bot.api.calls_of("sendMessage"))
    assert later > 2 * len(users)


async def test_only_the_part_in_flight_at_a_failure_goes_twice(bot: Bot) -> None:
    album = await photos(bot, 2)
    await queue_to(bot, [5200], Outgoing("A wall", BUTTON, album, LAOCHENG))
    lost_answers = ["sendLocation"]

    def answer_lost(method: str, params: dict[str, object]) -> None:
        if method in lost_answers:  # Telegram has the map point; the bot never hears so
            lost_answers.remove(method)
            raise FakeNetworkError("timed out")

    bot.api.after_call = answer_lost
    await deliver_all(bot, worker(bot, Limits()))
    assert [m.method for m in bot.api.messages_to(5200)] == [
        "sendMediaGroup",
        "sendMediaGroup",
        "sendLocation",
        "sendLocation",  # the part in flight, again
        "sendMessage",
    ]


async def test_a_refused_map_point_or_photo_still_delivers_the_card(bot: Bot) -> None:
    [photo] = await photos(bot, 1)
    await queue_to(bot, [5300], Outgoing("Map refused", BUTTON, [photo], LAOCHENG))
    bot.api.fail_next("sendLocation", error_code=400, description="Bad Request: wrong location")
    await bot.drain()
    got = bot.api.messages_to(5300)
    assert [m.method for m in got] == ["sendPhoto", "sendMessage"]
    assert got[1].plain == "Map refused"
    assert got[1].has_button("Look")

    # The card as the caption of a photo Telegram refuses: the card goes alone.
    await queue_to(bot, [5301], Outgoing("Photo refused", BUTTON, [photo]))
    bot.api.fail_next("sendPhoto", error_code=400, description="Bad Request: IMAGE_PROCESS_FAILED")
    await bot.drain()
    [alone] = bot.api.messages_to(5301)
    assert (alone.method, alone.plain) == ("sendMessage", "Photo refused")
    assert alone.has_button("Look")

    # Both rows count as sent, the part left out on record for the operator.
    rows = tables.rows(bot.db, "SELECT chat_id, status, last_error FROM outbox ORDER BY id")
    assert [(r[0], r[1]) for r in rows] == [(5300, "sent"), (5301, "sent")]
    assert rows[0][2] == "map point: Wrong location"
    assert rows[1][2] == "photo with the text: Image_process_failed"

    # A text Telegram refuses is what the row was for: it failed.
    await queue_to(bot, [5302], Outgoing("<b>broken", BUTTON))
    report = await bot.drain()
    assert report.failed == 1
    assert bot.api.messages_to(5302) == []


# A new case reaches an officer as one message ----------------------------------------------


async def test_a_new_case_is_one_message_to_the_officer(bot: Bot) -> None:
    officer = await staff(bot, InviteSpec(Role.OFFICER, "fire"))
    number = await report(bot.user(language="en"))
    mark = len(officer.transcript)
    await bot.drain()
    [card] = since(officer, mark)
    assert card.method == "sendPhoto"
    assert not has_metadata(card.photo or b"")
    assert f"New report {number}" in card.plain
    assert "Reporter: real name (👤 shows who; every look is logged)" in card.plain
    assert map_points(card) == [LAOCHENG]  # the place: a tap opens the map
    for label in ("Accept", "Reject", "Transfer", "Duplicate", "Ask the reporter"):
        assert card.has_button(label)
    assert not card.has_button("Photos")  # its only photo is this one

    # The officer acts on it in place: the caption becomes the card as it is now.
    await officer.press("Accept", message=card)
    await officer.press("orange", message=card)
    await officer.press("general hazard", message=card)
    assert "Status: accepted" in card.plain
    assert card.has_button("Order an enterprise to fix it")
    assert len(since(officer, mark)) == 1


async def test_the_other_photos_of_a_new_case_come_on_request(bot: Bot) -> None:
    officer = await staff(bot, InviteSpec(Role.OFFICER, "fire"))
    number = await report(bot.user(language="en"), photo_seed=20, photos=3)
    mark = len(officer.transcript)
    await bot.drain()
    [card] = since(officer, mark)
    assert (card.method, card.photo is not None) == ("sendPhoto", True)
    assert f"New report {number}" in card.plain
    await officer.press("Photos", message=card)
    shown = [m for m in since(officer, mark + 1) if m.photo]
    assert len(shown) == 3
    assert shown[0].file_id == card.file_id  # the first again, by the file id it went up with


async def test_a_card_too_long_for_a_caption_follows_its_photo(bot: Bot) -> None:
    officer = await staff(bot, InviteSpec(Role.OFFICER, "fire"))
    description = "The emergency exit is locked and the corridor is full of boxes. " * 14
    number = await report(bot.user(language="en"), description=description)
    mark = len(officer.transcript)
    await bot.drain()
    photo, card = since(officer, mark)
    assert (photo.method, card.method) == ("sendPhoto", "sendMessage")
    assert f"New report {number}" in card.plain
    assert map_points(card) == [LAOCHENG]
    assert card.has_button("Accept")


async def test_a_question_too_long_for_its_photos_caption_comes_under_it(bot: Bot) -> None:
    # A card that just fits as its photo's caption: the question asked before an action that
    # ends the case makes it too long, so the photo loses its buttons and the card with the
    # question comes as a new message, where the answer is pressed.
    officer = await staff(bot, InviteSpec(Role.OFFICER, "fire"))
    await report(bot.user(language="en"))
    mark = len(officer.transcript)
    await bot.drain()
    [short] = since(officer, mark)
    room = 1024 - visible_len(short.caption or "") - 10
    description = ("The exit is locked and the corridor is full of boxes. " * 30)[:room]
    number = await report(bot.user(language="en"), description=DESCRIPTION + description)
    mark = len(officer.transcript)
    await bot.drain()
    [card] = since(officer, mark)
    assert card.method == "sendPhoto"
    assert f"New report {number}" in card.plain  # the card is the caption, near its limit
    caption = card.plain
    await officer.press("Reject", message=card)
    await officer.press("not a safety hazard", message=card)
    photo, sure = officer.transcript[mark:]
    assert (photo.message_id, photo.buttons, photo.plain) == (card.message_id, [], caption)
    assert sure.method == "sendMessage"
    assert f"Are you sure? Case {number} will not be accepted" in sure.plain
    assert "Status: submitted" in sure.plain
    await officer.press("Yes, do not accept it", message=sure)
    assert "Status: not accepted" in sure.plain
    assert officer.transcript[mark:] == [photo, sure]


async def test_rows_sent_at_once_are_recorded_together_and_a_lost_record_resends_them(
    bot: Bot,
) -> None:
    users = list(range(7200, 7240))
    for user_id in users:
        bot.user(user_id, language="en")
    texts = await queue(bot, users, per_user=1)
    sender = worker(bot, Limits.unlimited())
    writes: list[str] = []
    autocommit = bot.db.autocommit
    failing = [True]

    @contextlib.asynccontextmanager
    async def recording() -> AsyncIterator[Session]:
        async with autocommit() as session:
            writes.append("write")
            if failing:  # the first record is lost (the database went away)
                failing.clear()
                raise ConnectionError("server closed the connection")
            yield session

    bot.db.autocommit = recording  # type: ignore[method-assign]  # counts the writes
    with pytest.raises(ConnectionError):
        await sender.run_once()
    sent_before = len(bot.api.sent)
    unrecorded = sent_before - (len(users) - await bot.db.read.outbox.pending_count())
    assert unrecorded >= 1
    writes.clear()
    report = await sender.run_once()
    assert await bot.db.read.outbox.pending_count() == 0
    delivered = Counter(m.plain for m in bot.api.sent if m.chat_id in users)
    assert set(delivered) == set(texts)
    # Only the rows sent whose record was lost went twice; every recorded one went once.
    assert sum(delivered.values()) - len(texts) == unrecorded
    if bot.db.dialect == POSTGRESQL:  # each statement a round trip: the rows in flight share one
        assert len(writes) < report.sent / 2
