"""The database: sessions and transactions, through which the repositories are reached, and
numbered migrations; on SQLite (one writer connection behind a lock, one reader) by default,
or on PostgreSQL (a connection pool) when it is given a ``postgresql://`` URL.

``Database(where)`` opens the one that ``where`` names: a path is an SQLite file, a
``postgresql://`` URL a PostgreSQL database. Both behave alike for the rest of the code.
"""

from __future__ import annotations

import asyncio
import contextvars
import datetime as dt
import logging
import os
import shutil
import sqlite3
import subprocess
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from functools import cached_property
from importlib import resources
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import aiosqlite
import asyncpg

from storage._pg import Catalog, PostgresRunner, postgres_ddl
from storage._sql import (
    BEGIN,
    POSTGRESQL,
    SQLITE,
    InlineRunner,
    Runner,
    SqliteRunner,
    from_db,
    to_db,
)
from storage.broadcasts import BroadcastRepo
from storage.cases import CaseQueries, CaseRepo
from storage.departments import DepartmentRepo
from storage.drafts import DraftRepo
from storage.enterprises import EnterpriseRepo
from storage.inbox import InboxRepo
from storage.inputs import PendingInputRepo
from storage.invites import InviteRepo
from storage.outbox import OutboxRepo
from storage.partners import PartnerRepo
from storage.photos import PhotoRepo
from storage.questions import QuestionRepo
from storage.reminders import ReminderRepo
from storage.reporters import ReporterRepo
from storage.reviews import ReviewRepo
from storage.rewards import RewardRepo
from storage.stats import LedgerReader, StatsRepo
from storage.users import UserRepo
from storage.workers import LeaseRepo, SendBudgetRepo

# The time codec is the repositories' (storage._sql); code that builds stored values takes it
# from here.
__all__ = [
    "POSTGRESQL",
    "SQLITE",
    "Database",
    "PostgresDatabase",
    "Session",
    "SqliteDatabase",
    "backup",
    "from_db",
    "hide_password",
    "is_url",
    "to_db",
]

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
    def reporters(self) -> ReporterRepo:
        return ReporterRepo(self._sql)

    @cached_property
    def partners(self) -> PartnerRepo:
        return PartnerRepo(self._sql)

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


def _migrations(dialect: str = SQLITE) -> list[tuple[str, str]]:
    """Return (name, sql) of every migration, in order, for the dialect (see
    storage/migrations/__init__.py)."""
    folder = resources.files("storage.migrations")
    names = {f.name for f in folder.iterdir() if f.name.endswith(".sql")}
    found = []
    for name in sorted(n for n in names if n.count(".") == 1):
        stem = name.removesuffix(".sql")
        own = f"{stem}.{dialect}.sql"
        if own in names:
            found.append((stem, folder.joinpath(own).read_text("utf-8")))
            continue
        sql = folder.joinpath(name).read_text("utf-8")
        found.append((stem, postgres_ddl(sql) if dialect == POSTGRESQL else sql))
    return found


def hide_password(url: str) -> str:
    """The URL as a message may show it."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urlunsplit(parts._replace(netloc=netloc))


def is_url(where: Path | str) -> bool:
    """Whether ``where`` names a PostgreSQL database rather than an SQLite file."""
    return str(where).startswith(("postgresql://", "postgres://"))


class Database:
    """One process's access to the database: ``Database(path)`` is SQLite's file,
    ``Database("postgresql://…")`` a PostgreSQL database (see the subclasses, which implement
    every method; a plain class rather than an ABC so that ``Database(…)`` type-checks)."""

    dialect: str

    def __new__(cls, where: Path | str) -> Database:
        if cls is Database:
            cls = PostgresDatabase if is_url(where) else SqliteDatabase
        return super().__new__(cls)

    @property
    def location(self) -> str:
        """Where the data is, for a log line (no password)."""
        raise NotImplementedError

    async def connect(self) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> Database:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def in_transaction(self) -> bool:
        """Whether a write transaction is open now (never allowed across a network call)."""
        raise NotImplementedError

    @property
    def read(self) -> Session:
        """A session for reads outside any transaction."""
        raise NotImplementedError

    @property
    def lookup(self) -> Session:
        """A session for keyed lookups outside any transaction."""
        raise NotImplementedError

    def transaction(self, *, bulk: bool = False) -> AbstractAsyncContextManager[Session]:
        """``async with db.transaction() as session``: the block as one write transaction,
        rolled back if it raises (an async context manager of a Session)."""
        raise NotImplementedError

    def autocommit(self) -> AbstractAsyncContextManager[Session]:
        """``async with db.autocommit() as session``: a writer session without BEGIN, each
        statement committed on its own."""
        raise NotImplementedError

    async def migrate(self) -> list[str]:
        """Apply the migrations not yet recorded; return their names."""
        raise NotImplementedError

    async def integrity_check(self) -> str:
        """The word "ok", or what is wrong."""
        raise NotImplementedError

    def ledger_reader(self) -> LedgerReader:
        """A reader of the hazard ledger for a worker thread (storage.stats.LedgerReader)."""
        raise NotImplementedError


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


class SqliteDatabase(Database):
    """One process's access to the database file.

    SQLite allows one writer at a time; writes go through a single connection guarded by an
    asyncio lock, so a transaction's statements never interleave with another coroutine's.
    Reads use a second connection and see the last committed state (WAL).
    """

    dialect = SQLITE

    def __init__(self, where: Path | str) -> None:
        self.path = Path(where)
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

    @property
    def location(self) -> str:
        return str(self.path)

    def ledger_reader(self) -> LedgerReader:
        return LedgerReader(self.path)

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
        return Session(SqliteRunner(self._reader))

    @property
    def lookup(self) -> Session:
        """A session for keyed lookups, run at once in this thread (see InlineRunner)."""
        if self._lookups is None or self._reader is None:
            raise RuntimeError("database is not connected")
        return Session(InlineRunner(self._lookups, SqliteRunner(self._reader)))

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
            sql: SqliteRunner = SqliteRunner(self._writer, begin=BEGIN)
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
            yield Session(InlineRunner(self._statements, SqliteRunner(self._writer)))

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
        value = await SqliteRunner(self._reader).fetch_value("PRAGMA integrity_check")
        return str(value)


class _Connection(asyncpg.Connection):  # type: ignore[misc]
    """A pooled connection handed back as it is: the repositories leave no session state
    (no LISTEN, advisory lock, cursor or SET outlives a statement or transaction), so asyncpg's
    reset on every release, one more round trip each time, would only halve a hot path."""

    def get_reset_query(self) -> str:
        return ""


class PostgresDatabase(Database):
    """One process's access to a PostgreSQL database, through a pool of asyncpg connections.

    The same discipline as on SQLite: one write transaction at a time in this process (an
    asyncio lock), each on a connection of its own from the pool; reads and lookups take any
    connection, statement by statement, and see what is committed. Across processes, a
    transition's compare-and-set (``UPDATE … WHERE version = ?``) holds at READ COMMITTED: the
    second UPDATE waits for the first's row lock, then checks its condition again.
    """

    dialect = POSTGRESQL
    # Migrations of several processes started at once run one after the other.
    MIGRATION_LOCK = 0x5A0D1

    def __init__(self, where: Path | str, *, pool_size: int = 10) -> None:
        self.url = str(where)
        self.pool_size = pool_size
        self._pool: asyncpg.Pool | None = None
        self._catalog = Catalog()
        self._lock = asyncio.Lock()
        # The transaction the current task holds (each task sees its own).
        self._open: contextvars.ContextVar[PostgresRunner | None] = contextvars.ContextVar(
            "open_transaction", default=None
        )

    @property
    def location(self) -> str:
        parts = urlsplit(self.url)
        if parts.password is None:
            return self.url
        return urlunsplit(
            parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@"))
        )

    def ledger_reader(self) -> LedgerReader:
        return LedgerReader(self.url)

    async def connect(self) -> None:
        if self._pool is not None:
            return
        self._pool = await asyncpg.create_pool(
            self.url,
            min_size=1,
            max_size=self.pool_size,
            command_timeout=60,
            connection_class=_Connection,
        )
        await self._catalog.load(self._pool)

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
        self._pool = None

    def _connected(self) -> asyncpg.Pool:
        if self._pool is None:
            raise RuntimeError("database is not connected")
        return self._pool

    @property
    def in_transaction(self) -> bool:
        """Whether the current task holds a transaction open. (Other tasks may: the SQL of a
        PostgreSQL transaction awaits the server, so other coroutines run meanwhile.)"""
        open_now = self._open.get()
        return open_now is not None and open_now.begun

    @property
    def read(self) -> Session:
        return Session(PostgresRunner(self._connected(), self._catalog))

    @property
    def lookup(self) -> Session:
        return self.read

    @asynccontextmanager
    async def transaction(self, *, bulk: bool = False) -> AsyncIterator[Session]:
        """Run the block as one write transaction; roll back if it raises. ``BEGIN`` goes
        with the block's first statement; a block that runs none costs nothing. (``bulk``
        matters to SQLite only.)"""
        pool = self._connected()
        async with self._lock, pool.acquire() as conn:
            sql = PostgresRunner(conn, self._catalog, begin=True)
            token = self._open.set(sql)
            session = Session(sql)
            try:
                yield session
            except BaseException:
                await session.rollback()
                raise
            finally:
                self._open.reset(token)
            await session.commit()

    @asynccontextmanager
    async def autocommit(self) -> AsyncIterator[Session]:
        async with self._lock:
            yield Session(PostgresRunner(self._connected(), self._catalog))

    async def migrate(self) -> list[str]:
        pool = self._connected()
        applied = []
        async with self._lock, pool.acquire() as conn:
            await conn.execute("SELECT pg_advisory_lock($1)", self.MIGRATION_LOCK)
            try:
                await conn.execute(
                    "CREATE TABLE IF NOT EXISTS schema_migrations"
                    " (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)"
                )
                done = {r[0] for r in await conn.fetch("SELECT name FROM schema_migrations")}
                for name, sql in _migrations(POSTGRESQL):
                    if name in done:
                        continue
                    async with conn.transaction():
                        await conn.execute(sql)
                        await conn.execute(
                            "INSERT INTO schema_migrations VALUES ($1, $2)",
                            name,
                            to_db(dt.datetime.now(dt.UTC)),
                        )
                    log.info("applied migration %s", name)
                    applied.append(name)
            finally:
                await conn.execute("SELECT pg_advisory_unlock($1)", self.MIGRATION_LOCK)
            await self._catalog.load(conn)
        return applied

    async def integrity_check(self) -> str:
        # PostgreSQL checks its pages itself (and amcheck is an extension): what is left to
        # see is that the server answers and the schema is there.
        value = await self._connected().fetchval("SELECT COUNT(*) FROM schema_migrations")
        return "ok" if value else "no migrations applied"


def pg_dump(url: str, target: Path) -> None:
    """Dump a PostgreSQL database with ``pg_dump`` (custom format, for ``pg_restore``)."""
    program = shutil.which("pg_dump")
    if program is None:
        raise FileNotFoundError(
            "pg_dump is not on PATH: install PostgreSQL's client programs (Debian:"
            " postgresql-client) and run  pg_dump --format=custom --file=TARGET URL"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [program, "--format=custom", f"--file={target}", "--dbname", url],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"pg_dump failed: {done.stderr.strip()}")


def backup(source: Path | str, target: Path) -> None:
    """Copy a live database: SQLite's online backup API, or pg_dump for PostgreSQL (both safe
    while the bot writes)."""
    if is_url(source):
        pg_dump(str(source), target)
        return
    source = Path(source)
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
