"""The SQLite database: one writer connection behind a lock, one reader, numbered migrations;
sessions and transactions, through which the repositories are reached."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import cached_property
from importlib import resources
from pathlib import Path

import aiosqlite

from storage._sql import BEGIN, InlineRunner, Runner, from_db, to_db
from storage.broadcasts import BroadcastRepo
from storage.cases import CaseQueries, CaseRepo
from storage.departments import DepartmentRepo
from storage.drafts import DraftRepo
from storage.enterprises import EnterpriseRepo
from storage.inbox import InboxRepo
from storage.inputs import PendingInputRepo
from storage.invites import InviteRepo
from storage.outbox import OutboxRepo
from storage.photos import PhotoRepo
from storage.questions import QuestionRepo
from storage.reminders import ReminderRepo
from storage.reviews import ReviewRepo
from storage.rewards import RewardRepo
from storage.stats import StatsRepo
from storage.users import UserRepo
from storage.workers import LeaseRepo, SendBudgetRepo

# The time codec is the repositories' (storage._sql); code that builds stored values takes it
# from here.
__all__ = ["Database", "Session", "backup", "from_db", "to_db"]

log = logging.getLogger(__name__)


class Session:
    """One connection's unit of work: its repositories, and its end (commit or rollback).

    The SQL runner under it is the repositories' alone; a session runs no SQL of its own.
    """

    def __init__(self, sql: Runner) -> None:
        self._sql = sql

    @property
    def moved(self) -> bool:
        """Whether the work went to the writer's thread because another process held the lock
        (see InlineRunner)."""
        return self._sql.moved

    async def commit(self) -> None:
        """End the transaction (nothing to do when no statement began it)."""
        await self._sql.commit()

    async def rollback(self) -> None:
        await self._sql.rollback()

    # Repositories ---------------------------------------------------------------------------

    @cached_property
    def users(self) -> UserRepo:
        return UserRepo(self._sql)

    @cached_property
    def cases(self) -> CaseRepo:
        return CaseRepo(self._sql)

    @cached_property
    def drafts(self) -> DraftRepo:
        return DraftRepo(self._sql)

    @cached_property
    def photos(self) -> PhotoRepo:
        return PhotoRepo(self._sql)

    @cached_property
    def enterprises(self) -> EnterpriseRepo:
        return EnterpriseRepo(self._sql)

    @cached_property
    def departments(self) -> DepartmentRepo:
        return DepartmentRepo(self._sql)

    @cached_property
    def reminders(self) -> ReminderRepo:
        return ReminderRepo(self._sql)

    @cached_property
    def sweep(self) -> CaseQueries:
        return CaseQueries(self._sql)

    @cached_property
    def outbox(self) -> OutboxRepo:
        return OutboxRepo(self._sql)

    @cached_property
    def inputs(self) -> PendingInputRepo:
        return PendingInputRepo(self._sql)

    @cached_property
    def questions(self) -> QuestionRepo:
        return QuestionRepo(self._sql)

    @cached_property
    def invites(self) -> InviteRepo:
        return InviteRepo(self._sql)

    @cached_property
    def stats(self) -> StatsRepo:
        return StatsRepo(self._sql)

    @cached_property
    def rewards(self) -> RewardRepo:
        return RewardRepo(self._sql)

    @cached_property
    def broadcasts(self) -> BroadcastRepo:
        return BroadcastRepo(self._sql)

    @cached_property
    def inbox(self) -> InboxRepo:
        return InboxRepo(self._sql)

    @cached_property
    def reviews(self) -> ReviewRepo:
        return ReviewRepo(self._sql)

    @cached_property
    def leases(self) -> LeaseRepo:
        return LeaseRepo(self._sql)

    @cached_property
    def budget(self) -> SendBudgetRepo:
        return SendBudgetRepo(self._sql)


def _open_inline(path: Path, *, readonly: bool) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA busy_timeout = 0")
    conn.execute("PRAGMA foreign_keys = ON")
    if readonly:
        conn.execute("PRAGMA query_only = ON")
    else:
        conn.execute("PRAGMA synchronous = NORMAL")
        # Checkpoints are the thread writer's: one could take a while.
        conn.execute("PRAGMA wal_autocheckpoint = 0")
    return conn


def _migrations() -> list[tuple[str, str]]:
    """Return (name, sql) of every migration file, in order."""
    folder = resources.files("storage.migrations")
    files = sorted(f.name for f in folder.iterdir() if f.name.endswith(".sql"))
    return [(name.removesuffix(".sql"), folder.joinpath(name).read_text("utf-8")) for name in files]


async def _open(path: Path, *, readonly: bool = False) -> aiosqlite.Connection:
    # isolation_level=None: we issue BEGIN/COMMIT ourselves, so a transaction is exactly the
    # block that asked for it.
    conn = await aiosqlite.connect(path, isolation_level=None)
    conn.row_factory = sqlite3.Row
    await conn.execute("PRAGMA busy_timeout = 10000")
    await conn.execute("PRAGMA foreign_keys = ON")
    if readonly:
        await conn.execute("PRAGMA query_only = ON")
    return conn


class Database:
    """One process's access to the database file.

    SQLite allows one writer at a time; writes go through a single connection guarded by an
    asyncio lock, so a transaction's statements never interleave with another coroutine's.
    Reads use a second connection and see the last committed state (WAL).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._writer: aiosqlite.Connection | None = None
        self._reader: aiosqlite.Connection | None = None
        self._lookups: sqlite3.Connection | None = None
        self._statements: sqlite3.Connection | None = None
        self._lock = asyncio.Lock()

    async def connect(self) -> None:
        if self._writer is not None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        writer = await _open(self.path)
        await writer.execute("PRAGMA journal_mode = WAL")
        # NORMAL in WAL mode survives a killed process; only a power cut may lose the last commit.
        await writer.execute("PRAGMA synchronous = NORMAL")
        self._writer = writer
        self._reader = await _open(self.path, readonly=True)
        self._lookups = _open_inline(self.path, readonly=True)
        self._statements = _open_inline(self.path, readonly=False)

    async def close(self) -> None:
        for inline in (self._lookups, self._statements):
            if inline is not None:
                inline.close()
        self._lookups = self._statements = None
        for conn in (self._reader, self._writer):
            if conn is not None:
                await conn.close()
        self._writer = self._reader = None

    async def __aenter__(self) -> Database:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def in_transaction(self) -> bool:
        """Whether a write transaction is open now. An inline one never waits for anything but
        the database, so one open while this process waits on the network stays open across
        that wait: never allowed (tests check it at every Bot API call)."""
        inline = self._statements is not None and self._statements.in_transaction
        return inline or (self._writer is not None and self._writer.in_transaction)

    @property
    def read(self) -> Session:
        """A session for reads outside any transaction."""
        if self._reader is None:
            raise RuntimeError("database is not connected")
        return Session(Runner(self._reader))

    @property
    def lookup(self) -> Session:
        """A session for keyed lookups, run at once in this thread (see InlineRunner)."""
        if self._lookups is None or self._reader is None:
            raise RuntimeError("database is not connected")
        return Session(InlineRunner(self._lookups, Runner(self._reader)))

    @asynccontextmanager
    async def transaction(self, *, bulk: bool = False) -> AsyncIterator[Session]:
        """Run the block as one write transaction; roll back if it raises.

        Keyed work runs in this thread (see InlineRunner); ``bulk=True`` sends the block to the
        writer's own thread, for blocks that touch thousands of rows. ``BEGIN IMMEDIATE`` goes
        with the block's first statement; a block that runs none costs nothing.
        """
        if self._writer is None or self._statements is None:
            raise RuntimeError("database is not connected")
        async with self._lock:
            sql = Runner(self._writer, begin=BEGIN)
            if not bulk:
                sql = InlineRunner(self._statements, sql, begin=BEGIN)
            session = Session(sql)
            try:
                yield session
            except BaseException:
                await session.rollback()
                raise
            await session.commit()
        if not bulk:
            # Inline SQL never yields to the event loop; a loop of many small transactions (a
            # sweep catching up after downtime) must still let updates through between them.
            await asyncio.sleep(0)

    @asynccontextmanager
    async def autocommit(self) -> AsyncIterator[Session]:
        """A writer session without BEGIN: each statement commits on its own, run at once in
        this thread (see InlineRunner).

        For blocks of ONE keyed statement (or statements that need not stand or fall together);
        anything bigger is a ``transaction``.
        """
        if self._writer is None or self._statements is None:
            raise RuntimeError("database is not connected")
        async with self._lock:
            yield Session(InlineRunner(self._statements, Runner(self._writer)))

    async def migrate(self) -> list[str]:
        """Apply the migrations not yet recorded; return their names."""
        if self._writer is None:
            raise RuntimeError("database is not connected")
        async with self._lock:
            await self._writer.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations"
                " (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)"
            )
            async with self._writer.execute("SELECT name FROM schema_migrations") as cursor:
                done = {row[0] for row in await cursor.fetchall()}
            applied = []
            for name, sql in _migrations():
                if name in done:
                    continue
                stamp = to_db(dt.datetime.now(dt.UTC))
                record = f"INSERT INTO schema_migrations VALUES ('{name}', '{stamp}');"
                script = f"BEGIN IMMEDIATE;\n{sql}\n{record}\nCOMMIT;"
                try:
                    await self._writer.executescript(script)
                except sqlite3.Error:
                    if self._writer.in_transaction:
                        await self._writer.execute("ROLLBACK")
                    # Several workers starting at once: another may have applied it meanwhile.
                    async with self._writer.execute(
                        "SELECT 1 FROM schema_migrations WHERE name = ?", (name,)
                    ) as cursor:
                        if await cursor.fetchone() is not None:
                            continue
                    raise
                log.info("applied migration %s", name)
                applied.append(name)
            return applied

    async def integrity_check(self) -> str:
        if self._reader is None:
            raise RuntimeError("database is not connected")
        value = await Runner(self._reader).fetch_value("PRAGMA integrity_check")
        return str(value)


def backup(source: Path, target: Path) -> None:
    """Copy a live database with SQLite's online backup API (safe while the bot writes)."""
    if not source.exists():
        raise FileNotFoundError(source)
    target.parent.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dst = sqlite3.connect(target)
    try:
        with dst:
            src.backup(dst)
    finally:
        dst.close()
        src.close()
