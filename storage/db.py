"""The SQLite database: one writer connection behind a lock, one reader, numbered migrations."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

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
T = TypeVar("T")
BEGIN = "BEGIN IMMEDIATE"


def to_db(moment: dt.datetime) -> str:
    """Store a time as sortable UTC text."""
    if moment.tzinfo is None:
        raise ValueError("naive datetimes are not stored")
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def from_db(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value)


class Session:
    """Runs SQL on one connection; repositories are reached through it.

    Every call is one trip to the connection's thread (aiosqlite's own ``execute`` + ``fetchone``
    + cursor close would be three). In a transaction, ``BEGIN`` travels with the first statement.
    """

    def __init__(self, conn: aiosqlite.Connection, *, begin: str | None = None) -> None:
        self.conn = conn
        self._begin = begin

    async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        conn = self.conn

        def call() -> T:
            raw: sqlite3.Connection = conn._conn  # we are in the connection's own thread
            if self._begin is not None:
                raw.execute(self._begin)
                self._begin = None
            return fn(raw)

        # aiosqlite's queue to its thread: ``_execute`` runs one function there.
        result: T = await conn._execute(call)  # type: ignore[no-untyped-call]
        return result

    async def commit(self) -> None:
        """End the transaction (nothing to do when no statement began it)."""
        if self.conn.in_transaction:
            await self.conn.execute("COMMIT")

    async def rollback(self) -> None:
        if self.conn.in_transaction:
            await self.conn.execute("ROLLBACK")

    async def fetch_one(self, sql: str, params: Params = ()) -> sqlite3.Row | None:
        def one(raw: sqlite3.Connection) -> sqlite3.Row | None:
            cursor = raw.execute(sql, params)
            try:
                row: sqlite3.Row | None = cursor.fetchone()
                return row
            finally:
                cursor.close()

        return await self._run(one)

    async def fetch_all(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        def every(raw: sqlite3.Connection) -> list[sqlite3.Row]:
            return list(raw.execute(sql, params).fetchall())

        return await self._run(every)

    async def fetch_value(self, sql: str, params: Params = ()) -> Any:
        row = await self.fetch_one(sql, params)
        return None if row is None else row[0]

    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run one statement; return the new row id for an INSERT, else the rows changed."""
        insert = sql.lstrip()[:6].upper() == "INSERT"

        def run(raw: sqlite3.Connection) -> int:
            cursor = raw.execute(sql, params)
            if insert and cursor.rowcount > 0:
                return int(cursor.lastrowid or 0)
            return int(cursor.rowcount)

        return await self._run(run)

    async def execute_many(self, sql: str, rows: Iterable[Params]) -> None:
        batch = list(rows)
        await self._run(lambda raw: raw.executemany(sql, batch))

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


class InlineSession(Session):
    """Runs SQL on a plain connection in the event loop's own thread: no trip at all.

    A trip to aiosqlite's thread costs 0.1-0.3 ms on a small machine; a keyed lookup or a
    one-row write in SQLite costs a few microseconds, and a whole transition (case, event,
    notifications) well under a millisecond. So keyed work runs here; anything that scans goes
    through ``Database.read`` or a ``transaction(bulk=True)``, so the loop never waits on it.
    The connection never waits for a lock either (busy_timeout 0): when another process holds
    the write lock, the session moves, before it has run anything, to ``fallback``, the thread
    connection, which may wait.
    """

    def __init__(self, raw: sqlite3.Connection, fallback: Session, *, begin: str | None = None):
        self.raw = raw
        self.fallback = fallback
        self._begin = begin
        self.moved = False

    async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        if self.moved:
            return await self.fallback._run(fn)
        raw = self.raw
        try:
            if self._begin is not None:
                raw.execute(self._begin)
                self._begin = None
            return fn(raw)
        except sqlite3.OperationalError as exc:
            busy = exc.sqlite_errorcode in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
            if not busy or raw.in_transaction:
                raise
        self.moved = True
        return await self.fallback._run(fn)

    async def commit(self) -> None:
        if self.moved:
            await self.fallback.commit()
        elif self.raw.in_transaction:
            self.raw.execute("COMMIT")

    async def rollback(self) -> None:
        if self.moved:
            await self.fallback.rollback()
        elif self.raw.in_transaction:
            self.raw.execute("ROLLBACK")


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
    def read(self) -> Session:
        """A session for reads outside any transaction."""
        if self._reader is None:
            raise RuntimeError("database is not connected")
        return Session(self._reader)

    @property
    def lookup(self) -> Session:
        """A session for keyed lookups, run at once in this thread (see InlineSession)."""
        if self._lookups is None or self._reader is None:
            raise RuntimeError("database is not connected")
        return InlineSession(self._lookups, Session(self._reader))

    @asynccontextmanager
    async def transaction(self, *, bulk: bool = False) -> AsyncIterator[Session]:
        """Run the block as one write transaction; roll back if it raises.

        Keyed work runs in this thread (see InlineSession); ``bulk=True`` sends the block to the
        writer's own thread, for blocks that touch thousands of rows. ``BEGIN IMMEDIATE`` goes
        with the block's first statement; a block that runs none costs nothing.
        """
        if self._writer is None or self._statements is None:
            raise RuntimeError("database is not connected")
        async with self._lock:
            session: Session = Session(self._writer, begin=BEGIN)
            if not bulk:
                session = InlineSession(self._statements, session, begin=BEGIN)
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

    async def write(self, sql: str, params: Params = ()) -> int:
        """Run one statement as its own transaction, in this thread (see InlineSession)."""
        async with self.autocommit() as session:
            return await session.execute(sql, params)

    @asynccontextmanager
    async def autocommit(self) -> AsyncIterator[Session]:
        """A writer session without BEGIN: each statement commits on its own, run at once in
        this thread (see InlineSession).

        For blocks of ONE keyed statement (or statements that need not stand or fall together);
        anything bigger is a ``transaction``.
        """
        if self._writer is None or self._statements is None:
            raise RuntimeError("database is not connected")
        async with self._lock:
            yield InlineSession(self._statements, Session(self._writer))

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
