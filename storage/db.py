"""The SQLite database: one writer connection behind a lock, one reader, numbered migrations."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import sqlite3
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiosqlite

if TYPE_CHECKING:
    from storage.broadcasts import BroadcastRepo
    from storage.cases import CaseQueries, CaseRepo
    from storage.departments import DepartmentRepo
    from storage.drafts import DraftRepo
    from storage.enterprises import EnterpriseRepo
    from storage.inputs import PendingInputRepo
    from storage.invites import InviteRepo
    from storage.outbox import OutboxRepo
    from storage.photos import PhotoRepo
    from storage.questions import QuestionRepo
    from storage.reminders import ReminderRepo
    from storage.rewards import RewardRepo
    from storage.stats import StatsRepo
    from storage.users import UserRepo

log = logging.getLogger(__name__)

Params = Sequence[Any] | dict[str, Any]


def to_db(moment: dt.datetime) -> str:
    """Store a time as sortable UTC text."""
    if moment.tzinfo is None:
        raise ValueError("naive datetimes are not stored")
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def from_db(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value)


class Session:
    """Runs SQL on one connection; repositories are reached through it."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self.conn = conn

    async def fetch_one(self, sql: str, params: Params = ()) -> sqlite3.Row | None:
        async with self.conn.execute(sql, params) as cursor:
            row: sqlite3.Row | None = await cursor.fetchone()
            return row

    async def fetch_all(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        async with self.conn.execute(sql, params) as cursor:
            return list(await cursor.fetchall())

    async def fetch_value(self, sql: str, params: Params = ()) -> Any:
        row = await self.fetch_one(sql, params)
        return None if row is None else row[0]

    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run one statement; return the new row id for an INSERT, else the rows changed."""
        async with self.conn.execute(sql, params) as cursor:
            if sql.lstrip()[:6].upper() == "INSERT" and cursor.rowcount > 0:
                return int(cursor.lastrowid or 0)
            return int(cursor.rowcount)

    async def execute_many(self, sql: str, rows: Iterable[Params]) -> None:
        await self.conn.executemany(sql, rows)

    # Repositories ---------------------------------------------------------------------------

    @cached_property
    def users(self) -> UserRepo:
        from storage.users import UserRepo

        return UserRepo(self)

    @cached_property
    def cases(self) -> CaseRepo:
        from storage.cases import CaseRepo

        return CaseRepo(self)

    @cached_property
    def drafts(self) -> DraftRepo:
        from storage.drafts import DraftRepo

        return DraftRepo(self)

    @cached_property
    def photos(self) -> PhotoRepo:
        from storage.photos import PhotoRepo

        return PhotoRepo(self)

    @cached_property
    def enterprises(self) -> EnterpriseRepo:
        from storage.enterprises import EnterpriseRepo

        return EnterpriseRepo(self)

    @cached_property
    def departments(self) -> DepartmentRepo:
        from storage.departments import DepartmentRepo

        return DepartmentRepo(self)

    @cached_property
    def reminders(self) -> ReminderRepo:
        from storage.reminders import ReminderRepo

        return ReminderRepo(self)

    @cached_property
    def sweep(self) -> CaseQueries:
        from storage.cases import CaseQueries

        return CaseQueries(self)

    @cached_property
    def outbox(self) -> OutboxRepo:
        from storage.outbox import OutboxRepo

        return OutboxRepo(self)

    @cached_property
    def inputs(self) -> PendingInputRepo:
        from storage.inputs import PendingInputRepo

        return PendingInputRepo(self)

    @cached_property
    def questions(self) -> QuestionRepo:
        from storage.questions import QuestionRepo

        return QuestionRepo(self)

    @cached_property
    def invites(self) -> InviteRepo:
        from storage.invites import InviteRepo

        return InviteRepo(self)

    @cached_property
    def stats(self) -> StatsRepo:
        from storage.stats import StatsRepo

        return StatsRepo(self)

    @cached_property
    def rewards(self) -> RewardRepo:
        from storage.rewards import RewardRepo

        return RewardRepo(self)

    @cached_property
    def broadcasts(self) -> BroadcastRepo:
        from storage.broadcasts import BroadcastRepo

        return BroadcastRepo(self)


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

    async def close(self) -> None:
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
    def read(self) -> Session:
        """A session for reads outside any transaction."""
        if self._reader is None:
            raise RuntimeError("database is not connected")
        return Session(self._reader)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Session]:
        """Run the block as one write transaction; roll back if it raises."""
        if self._writer is None:
            raise RuntimeError("database is not connected")
        async with self._lock:
            await self._writer.execute("BEGIN IMMEDIATE")
            try:
                yield Session(self._writer)
            except BaseException:
                await self._writer.execute("ROLLBACK")
                raise
            await self._writer.execute("COMMIT")

    async def write(self, sql: str, params: Params = ()) -> int:
        """Run one statement as its own transaction (one round trip instead of three)."""
        if self._writer is None:
            raise RuntimeError("database is not connected")
        async with self._lock, self._writer.execute(sql, params) as cursor:
            return int(cursor.rowcount)

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
                    raise
                log.info("applied migration %s", name)
                applied.append(name)
            return applied

    async def integrity_check(self) -> str:
        value = await self.read.fetch_value("PRAGMA integrity_check")
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
