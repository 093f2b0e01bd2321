"""The database: migrations recorded once, WAL, foreign keys, transactions, online backup."""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3
from pathlib import Path

import asyncpg
import pytest

from bot.clock import ManualClock
from bot.errors import InviteExpired, InviteUnknown, InviteUsed
from bot.invites import InviteSpec, code_hash, create_invite, normalise, redeem
from bot.vocabulary.models import User
from bot.vocabulary.roles import Role
from storage.db import Database, SqliteDatabase, _migrations, backup, to_db
from storage.users import TOUCH_EVERY, touch_due
from tests.support import postgres, tables

# The same failure on either database: a row that breaks a constraint.
INTEGRITY = (sqlite3.IntegrityError, asyncpg.IntegrityConstraintViolationError)


@postgres.sqlite_only
async def test_migrations_apply_once(tmp_path: Path) -> None:
    async with Database(tmp_path / "a.db") as database:
        first = await database.migrate()
        assert first[0] == "0001_initial"
        assert await database.migrate() == []
        mode = tables.value(database, "PRAGMA journal_mode")
        assert mode == "wal"
        names = tables.rows(database, "SELECT name FROM schema_migrations")
        assert [r["name"] for r in names] == first


async def test_every_migration_is_recorded_once(db: Database) -> None:
    """On either database (the fixture's is migrated already): nothing is applied twice."""
    assert await db.migrate() == []
    names = [r["name"] for r in tables.rows(db, "SELECT name FROM schema_migrations")]
    assert names[0] == "0001_initial"
    assert len(names) == len(set(names)) == len(_migrations())


async def test_foreign_keys_are_enforced(db: Database) -> None:
    now = dt.datetime(2026, 11, 22, tzinfo=dt.UTC)

    async def grant_unknown_user() -> None:
        async with db.transaction() as tx:
            await tx.users.add_membership(999, "admin", None, None, None, now)

    with pytest.raises(INTEGRITY):
        await grant_unknown_user()


async def test_failed_transaction_leaves_nothing(db: Database) -> None:
    now = dt.datetime(2026, 11, 22, tzinfo=dt.UTC)

    async def fail_midway() -> None:
        async with db.transaction() as tx:
            await tx.users.touch(1, "en", now)
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        await fail_midway()
    assert await db.read.users.get(1) is None


async def test_concurrent_transactions_do_not_interleave(db: Database) -> None:
    now = dt.datetime(2026, 11, 22, tzinfo=dt.UTC)

    async def create(user_id: int) -> None:
        async with db.transaction() as tx:
            await tx.users.touch(user_id, None, now)
            await asyncio.sleep(0)  # let the other coroutine try to run mid-transaction
            await tx.users.set_language(user_id, "en")

    await asyncio.gather(*(create(i) for i in range(1, 21)))
    count = tables.value(db, "SELECT COUNT(*) FROM users WHERE language = 'en'")
    assert count == 20


async def test_touch_keeps_choice_and_updates_last_seen(db: Database) -> None:
    clock = ManualClock()
    async with db.transaction() as tx:
        await tx.users.touch(7, "en", clock.now())
        await tx.users.set_language(7, "zh_Hant")
    clock.advance(hours=1)
    async with db.transaction() as tx:
        user = await tx.users.touch(7, "en-GB", clock.now())
    assert user.language == "zh_Hant"
    assert user.telegram_language == "en-GB"
    assert user.last_seen_at == clock.now()
    assert user.created_at == clock.now() - dt.timedelta(hours=1)


async def test_invite_is_single_use_and_expires(db: Database) -> None:
    clock = ManualClock()
    async with db.transaction() as tx:
        await tx.users.touch(1, None, clock.now())
        await tx.users.touch(2, None, clock.now())
    code = await create_invite(db, InviteSpec(Role.ADMIN), clock.now())
    stored = tables.value(db, "SELECT code_hash FROM invites")
    assert stored == code_hash(code)
    assert code not in stored  # only the hash is kept
    # Typed in lower case with spaces instead of dashes still works.
    invite = await redeem(
        db, normalise(code).lower()[:6] + " " + normalise(code)[6:], 1, clock.now()
    )
    assert invite.role is Role.ADMIN
    assert [m.role for m in await db.read.users.memberships(1)] == [Role.ADMIN]
    with pytest.raises(InviteUsed):
        await redeem(db, code, 2, clock.now())
    with pytest.raises(InviteUnknown):
        await redeem(db, "AAAA-BBBB-CCCC", 2, clock.now())
    with pytest.raises(InviteUnknown):
        await redeem(db, "---", 2, clock.now())
    late = await create_invite(db, InviteSpec(Role.OFFICER, "fire"), clock.now())
    clock.advance(days=8)
    with pytest.raises(InviteExpired):
        await redeem(db, late, 2, clock.now())
    assert await db.read.users.memberships(2) == []


@postgres.sqlite_only
async def test_online_backup_of_a_live_database(db: Database, tmp_path: Path) -> None:
    async with db.transaction() as tx:
        await tx.users.touch(42, "en", dt.datetime(2026, 11, 22, tzinfo=dt.UTC))
    target = tmp_path / "backup" / "copy.db"
    assert isinstance(db, SqliteDatabase)
    backup(db.path, target)  # while the bot's connections are open
    copy = sqlite3.connect(target)
    try:
        assert copy.execute("SELECT id FROM users").fetchall() == [(42,)]
        assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    finally:
        copy.close()


@postgres.sqlite_only
async def test_a_transaction_waits_for_another_process_instead_of_failing(
    db: Database, tmp_path: Path
) -> None:
    """Keyed work runs in the loop's thread without waiting; when another process (a CLI import,
    say) holds the write lock, the block moves to the writer thread, which waits its turn."""
    now = dt.datetime(2026, 11, 22, tzinfo=dt.UTC)
    other = sqlite3.connect(tmp_path / "shaozi.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    sessions = []

    async def create() -> None:
        async with db.transaction() as tx:
            sessions.append(tx)
            await tx.users.touch(5, "en", now)
            await tx.users.set_language(5, "zh_Hant")

    task = asyncio.create_task(create())
    for _ in range(5):
        await asyncio.sleep(0)
    assert not task.done()  # waiting for the lock, not failed
    other.execute("COMMIT")
    other.close()
    await task
    assert getattr(sessions[0], "moved", False) is True
    user = await db.lookup.users.get(5)
    assert user is not None
    assert user.language == "zh_Hant"


@postgres.sqlite_only
async def test_a_single_statement_waits_for_another_process_too(
    db: Database, tmp_path: Path
) -> None:
    now = dt.datetime(2026, 11, 22, tzinfo=dt.UTC)
    other = sqlite3.connect(tmp_path / "shaozi.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")

    async def touch() -> None:
        async with db.autocommit() as session:
            await session.users.touch(6, "en", now)

    task = asyncio.create_task(touch())
    for _ in range(5):
        await asyncio.sleep(0)
    assert not task.done()
    other.execute("ROLLBACK")
    other.close()
    await task
    assert await db.lookup.users.get(6) is not None


async def test_an_empty_transaction_and_a_failed_one_leave_the_writer_usable(db: Database) -> None:
    now = dt.datetime(2026, 11, 22, tzinfo=dt.UTC)
    async with db.transaction():
        pass

    async def half_done() -> None:
        async with db.transaction() as tx:
            await tx.users.touch(8, "en", now)
            await tx.users.add_membership(999, "admin", None, None, None, now)

    with pytest.raises(INTEGRITY):
        await half_done()
    async with db.transaction(bulk=True) as tx:
        await tx.users.touch(9, "en", now)
    assert await db.lookup.users.get(8) is None
    assert await db.read.users.get(9) is not None


def test_the_account_row_is_written_only_when_something_changed() -> None:
    seen = dt.datetime(2026, 11, 22, 9, 0, tzinfo=dt.UTC)
    user = User(
        id=1,
        language=None,
        telegram_language="en",
        created_at=seen,
        last_seen_at=seen,
        blocked_at=None,
        subscribed=False,
        subscription_asked=False,
        district=None,
    )
    soon = seen + dt.timedelta(minutes=1)
    assert not touch_due(user, "en", soon)
    assert not touch_due(user, None, soon)  # Telegram did not say: keep what we have
    assert touch_due(user, "zh-hans", soon)
    assert touch_due(user.model_copy(update={"blocked_at": seen}), "en", soon)  # back again
    assert touch_due(user, "en", seen + TOUCH_EVERY)


async def test_many_small_transactions_let_other_work_through(db: Database) -> None:
    """Keyed SQL runs without leaving the event loop's thread, so a long run of transactions
    (a sweep catching up after downtime) must still give other updates their turn."""
    now = dt.datetime(2026, 11, 22, tzinfo=dt.UTC)
    turns = 0

    async def other_work() -> None:
        nonlocal turns
        while True:
            turns += 1
            await asyncio.sleep(0)

    other = asyncio.create_task(other_work())
    await asyncio.sleep(0)
    start = turns
    for user_id in range(1, 51):
        async with db.transaction() as tx:
            await tx.users.touch(user_id, "en", now)
    other.cancel()
    assert turns - start >= 49


async def test_counts_and_what_comes_next(db: Database) -> None:
    """What the sandbox's clock and the benchmarks read: counts by status, the next deadline
    of a status, the sweep's next planned check."""
    now = dt.datetime(2026, 11, 22, tzinfo=dt.UTC)
    hour = dt.timedelta(hours=1)
    cases = [
        ("submitted", None),
        ("assigned", now + 48 * hour),
        ("assigned", now + 24 * hour),
        ("assigned", now - 24 * hour),
        ("assigned", None),
        ("closed", now + 3 * hour),
    ]
    async with db.transaction() as tx:
        await tx.users.add_subscribers([(1, "en"), (2, None)], now)
        for n, (status, deadline) in enumerate(cases, 1):
            await tx.cases.insert(
                {
                    "number": f"YH-20261122-{n:05}",
                    "category": "fire",
                    "description": "A hazard.",
                    "anonymous": 0,
                    "department": "fire",
                    "status": status,
                    "created_at": to_db(now),
                    "updated_at": to_db(now),
                    "deadline": None if deadline is None else to_db(deadline),
                }
            )
        never = "9999-12-31T00:00:00.000000Z"
        checks = [(1, 0, to_db(now + 5 * hour)), (2, 0, to_db(now - hour)), (3, 0, never)]
        await tx.sweep.set_next_checks(checks)
        await tx.outbox.add(1, {"text": "a"}, "a:1", now)
        await tx.outbox.add(2, {"text": "b"}, "b:2", now)
        first = (await tx.outbox.due(now, 10))[0]
        await tx.outbox.mark_sent(first.id, now)
        await tx.reminders.record(2, "deadline:0", now, now, superseded=False)
    read = db.read
    assert await read.users.subscriber_counts() == {None: 2}
    assert await read.cases.count() == 6
    assert await read.cases.count("assigned") == 4
    assert await read.cases.count("assigned", with_deadline=True) == 3
    assert await read.cases.status_counts() == {"submitted": 1, "assigned": 4, "closed": 1}
    assert await read.cases.next_deadline("assigned", now) == now + 24 * hour
    assert await read.cases.next_deadline("closed", now) == now + 3 * hour
    assert await read.cases.next_deadline("submitted", now) is None
    assert await read.sweep.next_check(now) == now + 5 * hour
    assert await read.sweep.next_check(now + 5 * hour) is None
    assert await read.outbox.status_counts() == {"pending": 1, "sent": 1}
    assert await read.reminders.count() == 1
