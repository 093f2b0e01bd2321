"""What every repository is built on: the time codec and the SQL runner, one per dialect.

Private to storage/ (a ``private_modules`` contract in pyproject.toml): outside storage/, the
database is reached through a session's repositories, never by running SQL. Repositories import
this module; ``storage.db`` imports the repositories, so the dependency runs one way.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from typing import Any, ClassVar, Protocol, TypeVar

import aiosqlite

Params = Sequence[Any] | dict[str, Any]
T = TypeVar("T")
BEGIN = "BEGIN IMMEDIATE"

SQLITE = "sqlite"
POSTGRESQL = "postgresql"


class Row(Protocol):
    """A result row of either dialect (``sqlite3.Row``, ``asyncpg.Record``): by position or by
    column name, and ``dict(row)``."""

    def __getitem__(self, key: Any, /) -> Any: ...

    def keys(self) -> Any: ...

    def __len__(self) -> int: ...


def to_db(moment: dt.datetime) -> str:
    """Store a time as sortable UTC text."""
    if moment.tzinfo is None:
        raise ValueError("naive datetimes are not stored")
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def from_db(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value)


class Runner(ABC):
    """Runs SQL for the repositories of one session, in SQLite's dialect: ``?`` and ``:name``
    placeholders; ``execute`` returns the new row's id for an INSERT, else the rows changed.

    ``dialect`` names the database under it, for the few statements that must differ.
    """

    dialect: ClassVar[str]
    # Whether the work went to another connection than the one it was given (InlineRunner).
    moved = False

    @abstractmethod
    async def commit(self) -> None:
        """End the transaction (nothing to do when no statement began it)."""

    @abstractmethod
    async def rollback(self) -> None: ...

    @abstractmethod
    async def fetch_one(self, sql: str, params: Params = ()) -> Row | None: ...

    @abstractmethod
    async def fetch_all(self, sql: str, params: Params = ()) -> list[Row]: ...

    async def fetch_value(self, sql: str, params: Params = ()) -> Any:
        row = await self.fetch_one(sql, params)
        return None if row is None else row[0]

    @abstractmethod
    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run one statement; return the new row id for an INSERT, else the rows changed."""

    @abstractmethod
    async def changes(self, sql: str, params: Params = ()) -> int:
        """Run one statement; return how many rows it changed, an INSERT's too (an upsert
        whose compare-and-set refused changes none)."""

    @abstractmethod
    async def execute_many(self, sql: str, rows: Iterable[Params]) -> int:
        """Run one statement for each of ``rows``; return the rows changed in all."""


class SqliteRunner(Runner):
    """Runs SQL on one aiosqlite connection, for the repositories of one session.

    Every call is one trip to the connection's thread (aiosqlite's own ``execute`` + ``fetchone``
    + cursor close would be three). In a transaction, ``BEGIN`` travels with the first statement.
    """

    dialect = SQLITE

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

    async def fetch_one(self, sql: str, params: Params = ()) -> Row | None:
        def one(raw: sqlite3.Connection) -> Row | None:
            cursor = raw.execute(sql, params)
            try:
                row: Row | None = cursor.fetchone()
                return row
            finally:
                cursor.close()

        return await self._run(one)

    async def fetch_all(self, sql: str, params: Params = ()) -> list[Row]:
        def every(raw: sqlite3.Connection) -> list[Row]:
            return list(raw.execute(sql, params).fetchall())

        return await self._run(every)

    async def execute(self, sql: str, params: Params = ()) -> int:
        insert = sql.lstrip()[:6].upper() == "INSERT"

        def run(raw: sqlite3.Connection) -> int:
            cursor = raw.execute(sql, params)
            if insert and cursor.rowcount > 0:
                return int(cursor.lastrowid or 0)
            return int(cursor.rowcount)

        return await self._run(run)

    async def changes(self, sql: str, params: Params = ()) -> int:
        def run(raw: sqlite3.Connection) -> int:
            return int(raw.execute(sql, params).rowcount)

        return await self._run(run)

    async def execute_many(self, sql: str, rows: Iterable[Params]) -> int:
        batch = list(rows)
        return await self._run(lambda raw: int(raw.executemany(sql, batch).rowcount))


class InlineRunner(SqliteRunner):
    """Runs SQL on a plain connection in the event loop's own thread: no trip at all.

    A trip to aiosqlite's thread costs 0.1-0.3 ms on a small machine; a keyed lookup or a
    one-row write in SQLite costs a few microseconds, and a whole transition (case, event,
    notifications) well under a millisecond. So keyed work runs here; anything that scans goes
    through ``Database.read`` or a ``transaction(bulk=True)``, so the loop never waits on it.
    The connection never waits for a lock either (busy_timeout 0): when another process holds
    the write lock, the runner moves, before it has run anything, to ``fallback``, the thread
    connection, which may wait.
    """

    def __init__(
        self, raw: sqlite3.Connection, fallback: SqliteRunner, *, begin: str | None = None
    ):
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
