"""Several workers on one database (issue 18): each update handled once and in order, whoever
receives it; a dead worker's conversations and outbox rows taken over once its claims run out;
one leader sweeps and another takes over within a minute; Telegram's limits for the bot as a
whole. The workers are whole Applications in this process, each with its own connections."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import Counter, defaultdict
from collections.abc import AsyncIterator
from typing import Any

import pytest
from telegram import Update

from bot.city import CityConfig
from bot.clock import ManualClock
from bot.schedule import LEASE, RENEW, run_sweeps
from bot.settings import Settings
from bot.tg import delivery, inbox
from bot.tg.delivery import Limits
from bot.tg.inbox import conversation_key
from fakebotapi import FakeBotAPI, FakeUser
from storage.db import Database
from storage.inbox import InboxRepo
from tests.support import tables
from tests.support.cases import assigned_case
from tests.support.chat import Bot
from tests.support.moments import SHANGHAI
from tests.support.running import when
from tests.support.workers import Worker, Workers


@pytest.fixture
async def workers(
    api: FakeBotAPI, settings: Settings, clock: ManualClock, city: CityConfig
) -> AsyncIterator[Workers]:
    running = Workers(api, settings, clock, city)
    yield running
    await running.close()


class Log:
    """What every worker's first handler saw: who handled which update, and whether two
    workers were ever inside one conversation at once."""

    def __init__(self) -> None:
        self.handled: list[tuple[str, int, str]] = []  # (worker, update_id, conversation)
        self.inside: set[str] = set()
        self.overlaps: list[str] = []

    async def __call__(self, update: Update, context: object) -> None:
        key = conversation_key(update)
        if key in self.inside:
            self.overlaps.append(key)
        self.inside.add(key)
        worker = context.bot_data.services.settings.worker  # type: ignore[attr-defined]
        for _ in range(3):  # let the other workers run meanwhile
            await asyncio.sleep(0)
        self.inside.discard(key)
        self.handled.append((worker, update.update_id, key))

    def by_conversation(self) -> dict[str, list[int]]:
        order: dict[str, list[int]] = defaultdict(list)
        for _worker, update_id, key in self.handled:
            order[key].append(update_id)
        return order


async def test_each_update_is_handled_once_and_in_order_whichever_worker_receives_it(
    workers: Workers,
) -> None:
    log = Log()
    workers.watch(log)
    for name in ("1", "2", "3"):
        await workers.start(name)
    users = [workers.user() for _ in range(6)]
    sent: dict[str, list[int]] = {}

    async def chat(user_index: int) -> None:
        user = users[user_index]
        ids = sent.setdefault(f"{user.user_id}:{user.user_id}", [])
        for n in range(8):
            update = await user.send("/help" if n % 2 else "/start")
            ids.append(update["update_id"])

    # Every user at once, each update to the next worker in turn (a proxy's round robin).
    await asyncio.gather(*(chat(n) for n in range(len(users))))
    # Handed over between the workers as each lets a conversation go: no pump needed; and
    # every conversation is let go once idle (settled fails after 10 s otherwise).
    await workers.settled(let_go=True)
    assert log.overlaps == []
    assert Counter(update_id for _, update_id, _ in log.handled) == Counter(
        update_id for ids in sent.values() for update_id in ids
    )
    assert max(Counter(update_id for _, update_id, _ in log.handled).values()) == 1
    assert log.by_conversation() == sent
    assert {worker for worker, _, _ in log.handled} == {"1", "2", "3"}
    # And what the users noticed: an answer to every message, in order.
    for user in users:
        answers = [m.plain.split("\n")[0] for m in user.transcript]
        assert len(answers) == 8
        assert answers[0] != answers[1]
        assert answers[0::2] == [answers[0]] * 4
        assert answers[1::2] == [answers[1]] * 4


async def test_two_workers_receiving_one_conversations_updates_at_once_handle_each_once(
    workers: Workers,
) -> None:
    log = Log()
    workers.watch(log)
    one, two = await workers.start("1"), await workers.start("2")
    user = workers.user(to=lambda: one)
    updates = [dict(user_update) for user_update in [await _update(user, n) for n in range(10)]]
    # The same conversation's updates reach both workers at once, half each: more than
    # Telegram does (it sends a chat's next update once the webhook call of the one before is
    # answered, which ``put`` does after the commit; that order is the round-robin test's).
    # Arriving at once, they have no order between them to keep: 10 may be committed and
    # handled while 9 is still on its way to the database. Each is handled once, one at a time.
    await asyncio.gather(
        *((one if n % 2 else two).receive(update) for n, update in enumerate(updates))
    )
    await workers.settled()
    assert log.overlaps == []
    assert sorted(update_id for _, update_id, _ in log.handled) == [u["update_id"] for u in updates]


async def test_an_update_recorded_while_its_conversation_is_read_again_goes_once(
    workers: Workers, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The next update of a conversation arrives while its first is being handled: the
    worker reads what waits (the first is not yet recorded handled), and the first is
    recorded before that read is back. The first is handled once, not queued again."""
    reading, recorded = asyncio.Event(), asyncio.Event()
    handled: list[int] = []
    slow: list[int] = []

    async def slow_first(update: Update, context: object) -> None:
        if update.update_id in slow:
            await reading.wait()  # until the worker has read what waits
        handled.append(update.update_id)

    workers.watch(slow_first)
    one = await workers.start("1")
    user = workers.user(to=lambda: one)
    first, second = await _update(user, 1), await _update(user, 2)
    slow.append(first["update_id"])
    waiting_in, mark_handled = InboxRepo.waiting_in, InboxRepo.mark_handled

    async def read_then_wait(repo: InboxRepo, conversation: str) -> Any:
        rows = await waiting_in(repo, conversation)
        if len(rows) == 2:  # the second update's read, the first still waiting in it
            reading.set()
            await recorded.wait()
        return rows

    async def mark_then_tell(repo: InboxRepo, update_ids: Any, now: dt.datetime) -> None:
        await mark_handled(repo, update_ids, now)
        recorded.set()

    monkeypatch.setattr(InboxRepo, "waiting_in", read_then_wait)
    monkeypatch.setattr(InboxRepo, "mark_handled", mark_then_tell)
    await one.receive(first)
    await one.receive(second)
    await workers.settled(let_go=True)
    assert handled == [first["update_id"], second["update_id"]]
    assert len(user.transcript) == 2  # an answer to each message, none twice


async def _update(user: FakeUser, n: int) -> dict[str, Any]:
    """An update the user sends, not yet given to any worker."""
    api = user.api
    message = {
        "message_id": api.next_message_id(user.user_id),
        "from": user.user,
        "chat": api.chat(user.user_id),
        "date": api.timestamp(),
        "text": f"word {n}",
    }
    return api.push_update({"message": message})


async def test_a_dead_workers_conversations_are_taken_over_when_its_claims_run_out(
    workers: Workers, clock: ManualClock
) -> None:
    log = Log()
    workers.watch(log)
    # Worker 1 takes updates and dies before handling any of them.
    doomed = await workers.start("1", fetch=False)
    survivor = await workers.start("2")
    target = [doomed]
    user = workers.user(to=lambda: target[0])
    first = [(await user.send(f"note {n}"))["update_id"] for n in range(3)]
    other = workers.user(to=lambda: survivor)
    others = [(await other.send(f"note {n}"))["update_id"] for n in range(2)]
    # The other user's conversation was nobody's: handled at once.
    await workers.settled(leaving=len(first))
    assert [u for _, u, _ in log.handled] == others
    # The first user again, now through the survivor, while worker 1 holds the conversation.
    target[0] = survivor
    late = [(await user.send(f"more {n}"))["update_id"] for n in range(2)]
    await doomed.die()
    assert await survivor.inbox.pump() == 0  # worker 1's claim has not run out yet
    assert workers.waiting() == 5
    clock.advance(inbox.CLAIM)
    await workers.settled(pump=True)
    taken = [u for _, u, _ in log.handled if u not in others]
    assert taken == [*first, *late]  # in order, each once
    assert {w for w, _, _ in log.handled} == {"2"}
    assert len(user.transcript) == 5  # an answer to each, none twice


async def notes(worker: Worker, users: list[FakeUser], per_user: int) -> None:
    """Queue ``per_user`` numbered notes to each user, as the core queues notifications."""
    services = worker.app.bot_data.services
    now = services.clock.now()
    async with services.db.transaction() as tx:
        for n in range(per_user):
            for user in users:
                await tx.outbox.add(user.user_id, {"text": f"note {n}"}, f"{user.user_id}:{n}", now)


def texts(user: FakeUser) -> list[str]:
    return [m.plain for m in user.transcript]


def sender(worker: Worker, limits: Limits, batch: int = 500) -> delivery.OutboxWorker:
    services = worker.app.bot_data.services
    return delivery.OutboxWorker(
        worker.app.bot,
        services.db,
        services.clock,
        services.settings.photos_dir,
        limits,
        batch=batch,
        holder=worker.name,
    )


async def test_a_dead_workers_outbox_rows_go_once_when_its_claim_runs_out(
    workers: Workers, clock: ManualClock
) -> None:
    doomed = await workers.start("1", fetch=False)
    survivor = await workers.start("2")
    users = [workers.user() for _ in range(5)]
    await notes(survivor, users, per_user=2)
    # Worker 1 claims every row and dies before sending any.
    now = clock.now()
    async with doomed.app.bot_data.services.db.autocommit() as session:
        assert len(await session.outbox.claim("1", now, now + delivery.CLAIM, 500)) == 10
    await doomed.die()
    assert (await survivor.outbox().run_once()).sent == 0  # its claim has not run out
    clock.advance(delivery.CLAIM)
    assert (await survivor.outbox().drain()).sent == 10
    for user in users:
        assert texts(user) == ["note 0", "note 1"]


async def test_workers_share_the_outbox_and_each_chat_gets_its_rows_in_order(
    workers: Workers,
) -> None:
    one, two = await workers.start("1"), await workers.start("2")
    users = [workers.user() for _ in range(4)]
    await notes(one, users, per_user=3)
    unlimited = Limits.unlimited()
    sent: Counter[str] = Counter()
    while True:
        reports = await asyncio.gather(
            sender(one, unlimited, batch=2).run_once(), sender(two, unlimited, batch=2).run_once()
        )
        if not any(r.sent for r in reports):
            break
        sent.update({"1": reports[0].sent, "2": reports[1].sent})
    assert sent["1"] > 0
    assert sent["2"] > 0
    assert sent.total() == 12
    for user in users:
        assert texts(user) == ["note 0", "note 1", "note 2"]


async def test_telegrams_limits_hold_for_the_bot_not_for_each_worker(
    workers: Workers, clock: ManualClock
) -> None:
    one, two, three = [await workers.start(name) for name in "123"]
    crowd = [workers.user() for _ in range(70)]
    chatty = workers.user()
    await notes(one, [chatty], per_user=3)
    await notes(one, crowd, per_user=1)
    limits = Limits()  # 30 a second overall, one a second to a private chat
    senders = [sender(w, limits, batch=20) for w in (one, two, three)]
    for expected in (30, 30, 13, 0):  # each second: the first note of the chatty one goes
        reports = await asyncio.gather(*(s.run_once() for s in senders))
        assert sum(r.sent for r in reports) == expected
        assert expected < 30 or sum(1 for r in reports if r.sent) > 1  # shared by workers
        assert sum(r.sent for r in await asyncio.gather(*(s.run_once() for s in senders))) == 0
        clock.advance(seconds=1)
    per_second = Counter(m.date for user in [*crowd, chatty] for m in user.transcript)
    assert max(per_second.values()) == 30
    assert texts(chatty) == ["note 0", "note 1", "note 2"]
    assert len({m.date for m in chatty.transcript}) == 3  # one a second


async def test_a_pass_takes_a_share_of_the_second_and_the_last_of_it_goes_whole(
    workers: Workers, clock: ManualClock
) -> None:
    """At 400 a second each pass of a worker takes 40 (what it can send within the second),
    in one statement a pass; the second's last 40 go to one worker, none beyond them."""
    one, two, three = [await workers.start(name) for name in "123"]
    crowd = [workers.user() for _ in range(450)]
    await notes(one, crowd, per_user=1)
    senders = [sender(w, Limits(overall_per_second=400)) for w in (one, two, three)]
    rounds = []
    for _ in range(5):
        reports = await asyncio.gather(*(s.run_once() for s in senders))
        assert max(r.sent for r in reports) <= 40
        rounds.append(sum(r.sent for r in reports))
    assert rounds == [120, 120, 120, 40, 0]
    clock.advance(seconds=1)
    # The last 50: a pass claims no more than it may send, so two workers share them.
    assert sum(r.sent for r in await asyncio.gather(*(s.run_once() for s in senders))) == 50
    assert sorted(len(user.transcript) for user in crowd) == [1] * 450


async def test_what_a_pass_cannot_start_within_its_second_waits_for_the_next(
    workers: Workers, clock: ManualClock, api: FakeBotAPI
) -> None:
    """A pass that took a second's budget late in the second sends only what it can start
    within it: the rest would reach Telegram in the next second, on top of that one's."""
    one, two = await workers.start("1"), await workers.start("2")
    crowd = [workers.user() for _ in range(60)]
    await notes(one, crowd, per_user=1)
    clock.set(clock.now().replace(microsecond=0) + dt.timedelta(seconds=0.8))

    def taking(method: str, params: object) -> None:  # Telegram takes 10 ms a message
        if method == "sendMessage":
            clock.advance(seconds=0.01)

    api.chaos = taking
    senders = [sender(w, Limits()) for w in (one, two)]  # 30 a second
    first = sum(r.sent for r in await asyncio.gather(*(s.run_once() for s in senders)))
    assert 0 < first < 30  # the second ran out before its 30 could start
    for _ in range(10):
        clock.set(clock.now().replace(microsecond=0) + dt.timedelta(seconds=1))
        await asyncio.gather(*(s.run_once() for s in senders))
    per_second = Counter(m.date.replace(microsecond=0) for user in crowd for m in user.transcript)
    assert sum(per_second.values()) == 60
    assert max(per_second.values()) == 30


NUMBER = "YH-20261122-0001"
SUPERVISED = f"Case {NUMBER} is now under supervision (挂牌督办)"
OVERDUE_FOR = f"Case {NUMBER} has been overdue for"
STILL = "days (its deadline was 2026-12-07) and is under supervision (挂牌督办)"


async def test_one_leader_sweeps_and_another_takes_over_within_a_minute(
    bot: Bot, workers: Workers, clock: ManualClock
) -> None:
    _officer, contact, _supervisor, _case_id = await assigned_case(bot)
    await bot.stop()
    one, two = await workers.start("1"), await workers.start("2")
    # Both try at once: one leads.
    assert sorted(await asyncio.gather(one.leader.hold(), two.leader.hold())) == [False, True]
    leader, other = (one, two) if one.leader.leading else (two, one)
    start = len(contact.transcript)

    async def run(until: dt.datetime, alive: list[Worker]) -> None:
        while clock.now() < until:
            clock.advance(minutes=30)
            swept = await asyncio.gather(*(w.leader.tick() for w in alive))
            assert sum(s is not None for s in swept) == 1  # one sweep a step, never two
            await asyncio.gather(*(w.outbox().drain() for w in alive))

    await run(dt.datetime(2026, 12, 6, 12, tzinfo=SHANGHAI), [one, two])
    await leader.die()
    died = clock.now()
    while not await other.leader.hold():  # the other tries every RENEW
        clock.advance(RENEW)
    assert clock.now() - died <= LEASE + RENEW <= dt.timedelta(minutes=1)
    await run(dt.datetime(2026, 12, 16, tzinfo=SHANGHAI), [other])
    received = contact.transcript[start:]
    # The ladder the one-process bot keeps (tests/test_reminders.py), nothing missed or twice.
    assert [(when(m), m.plain.split(":")[0]) for m in received] == [
        ("12-04 09:00", "Reminder"),
        ("12-06 09:00", "Reminder"),
        ("12-07 09:00", f"Today is the deadline of case {NUMBER}"),
        ("12-08 08:00", f"Case {NUMBER} is overdue"),
        (
            "12-09 08:00",
            f"{SUPERVISED} by the city. Please fix it without delay and submit the fix.",
        ),
        ("12-12 09:00", f"{OVERDUE_FOR} 5 {STILL}"),
        ("12-15 09:00", f"{OVERDUE_FOR} 8 {STILL}"),
    ]


async def test_sweeps_run_by_two_workers_at_once_queue_each_message_once(
    bot: Bot, workers: Workers, clock: ManualClock
) -> None:
    _officer, contact, _supervisor, _case_id = await assigned_case(bot)
    await bot.stop()
    one, two = await workers.start("1"), await workers.start("2")
    start = len(contact.transcript)
    clock.set(dt.datetime(2026, 12, 4, 9, 30, tzinfo=SHANGHAI))
    # A stalled old leader (past its lease) and the new one sweep at the same moment.
    await asyncio.gather(*(run_sweeps(w.app.bot_data.services) for w in (one, two)))
    await asyncio.gather(one.outbox().drain(), two.outbox().drain())
    assert [m.plain.split(":")[0] for m in contact.transcript[start:]] == ["Reminder"]


async def test_a_worker_started_again_under_its_name_goes_on_at_once(workers: Workers) -> None:
    log = Log()
    workers.watch(log)
    doomed = await workers.start("1", fetch=False)
    user = workers.user(to=lambda: doomed)
    sent = [(await user.send(f"note {n}"))["update_id"] for n in range(3)]
    await doomed.die()
    # systemd starts shaozi@1 again: what it held is its own, no claim has to run out.
    await workers.start("1")
    await workers.settled()
    assert [u for _, u, _ in log.handled] == sent
    assert len(user.transcript) == 3


async def test_a_worker_started_again_holds_nothing_its_last_life_held(
    workers: Workers, clock: ManualClock
) -> None:
    log = Log()
    workers.watch(log)
    doomed = await workers.start("1", fetch=False)
    other = await workers.start("2")
    target = [doomed]
    user = workers.user(to=lambda: target[0])
    first = (await user.send("note"))["update_id"]
    # Killed between marking the update handled and letting the conversation go.
    tables.execute(
        workers.settings.database,
        "UPDATE inbox SET handled_at = ? WHERE update_id = ?",
        (clock.now().isoformat(), first),
    )
    await doomed.die()
    await workers.start("1")
    target[0] = other
    second = (await user.send("again"))["update_id"]
    await workers.settled()  # no pump, no claim running out: worker 2 takes it at once
    assert [(w, u) for w, u, _ in log.handled] == [("2", second)]


async def test_telegram_telling_one_worker_to_wait_holds_every_worker(
    workers: Workers, clock: ManualClock
) -> None:
    one, two = await workers.start("1"), await workers.start("2")
    users = [workers.user() for _ in range(5)]
    await notes(one, users, per_user=1)
    told: list[str] = []

    def wait_three_seconds(method: str, params: dict[str, object]) -> dict[str, object] | None:
        if told:
            return None
        told.append(method)
        return {"retry_after": 3}

    workers.api.chaos = wait_three_seconds
    assert (await sender(one, Limits(), batch=1).run_once()).postponed == 1
    for _ in range(3):  # the other worker was not told, and waits all the same
        assert (await sender(two, Limits()).run_once()).sent == 0
        clock.advance(seconds=1)
    assert (await sender(two, Limits()).run_once()).sent == 5
    assert all(len(user.transcript) == 1 for user in users)


async def test_a_pass_gets_what_is_left_of_the_second_and_each_chat_its_one(
    settings: Settings, clock: ManualClock
) -> None:
    """The budget a pass takes: its share while the second has it, then what is left, then
    nothing until the next second; each private chat one message a second, told apart in
    one statement."""
    async with Database(settings.database) as db:
        await db.migrate()
        now = clock.now().replace(microsecond=0)
        async with db.transaction() as tx:
            got = [await tx.budget.take_up_to("overall", now, 30, 100) for _ in range(5)]
            first = await tx.budget.take_each([("chat:1", 1), ("chat:2", 1)], now, 1)
            again = await tx.budget.take_each([("chat:2", 1), ("chat:3", 1)], now, 1)
            later = now + dt.timedelta(seconds=1)
            next_second = await tx.budget.take_up_to("overall", later, 30, 100)
            next_chats = await tx.budget.take_each([("chat:2", 1)], later, 1)
    assert got == [30, 30, 30, 10, 0]
    assert (first, again) == ({"chat:1", "chat:2"}, {"chat:3"})
    assert (next_second, next_chats) == (30, {"chat:2"})


async def test_claims_fired_at_once_from_two_connections_have_one_winner(
    settings: Settings, clock: ManualClock
) -> None:
    """Two processes' connections, each in its own thread (aiosqlite's), claim the same things
    at the same moment: one wins each, and the budget is never overspent."""
    async with Database(settings.database) as one, Database(settings.database) as two:
        await one.migrate()
        now = clock.now()

        async def claim(db: Database, holder: str, key: str) -> bool:
            async with db.transaction(bulk=True) as tx:  # in the connection's own thread
                return await tx.leases.claim(key, holder, now, now + inbox.CLAIM)

        async def lead(db: Database, holder: str, at: dt.datetime) -> bool:
            async with db.transaction(bulk=True) as tx:
                return await tx.leases.hold("leader", holder, at, at + LEASE)

        async def spend(db: Database) -> bool:
            async with db.transaction(bulk=True) as tx:
                return await tx.budget.take("overall", now, 1, 30)

        for n in range(40):
            won = await asyncio.gather(claim(one, "1", f"{n}:{n}"), claim(two, "2", f"{n}:{n}"))
            assert sorted(won) == [False, True]
        for step in range(10):  # each time the lease has run out, both try at once
            at = now + step * (LEASE + RENEW)
            assert sorted(await asyncio.gather(lead(one, "1", at), lead(two, "2", at))) == [
                False,
                True,
            ]
        taken = await asyncio.gather(*(spend(db) for _ in range(25) for db in (one, two)))
        assert taken.count(True) == 30


async def test_the_budget_and_dead_claims_do_not_pile_up(
    workers: Workers, clock: ManualClock
) -> None:
    one = await workers.start("1")
    crowd = [workers.user() for _ in range(20)]
    await notes(one, crowd, per_user=1)
    assert (await sender(one, Limits()).run_once()).sent == 20
    async with one.app.bot_data.services.db.autocommit() as session:
        now = clock.now()
        await session.leases.claim("9:9", "dead", now, now + inbox.CLAIM)
    database = workers.settings.database
    assert tables.count(database, "send_budget") == 21  # overall, and one a chat
    clock.advance(minutes=6)
    await run_sweeps(one.app.bot_data.services)
    assert tables.count(database, "send_budget") == 0
    assert tables.count(database, "conversation_claims") == 0
