"""Tables read and written on the test's own connection to the database.

The product reaches its database only through a session's repositories. A check that must see a
table as it is, or a set-up that puts rows there no feature makes (a year of cases at once),
opens its own connection here, as another process would: the product offers no raw SQL.

SQL is written as for SQLite (``?`` and ``:name`` placeholders, ``INSERT OR IGNORE``); on
PostgreSQL it is rewritten as the product's own statements are (storage._pg). Rows index by
position and by column name on both.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import asyncpg

from storage._pg import Catalog, translate
from storage.db import Database, PostgresDatabase, SqliteDatabase, is_url
from tests.support import postgres

Params = Sequence[Any] | dict[str, Any]
Where = Database | Path | str


def _location(where: Where) -> Path | str:
    if isinstance(where, SqliteDatabase):
        return where.path
    if isinstance(where, PostgresDatabase):
        return where.url
    if isinstance(where, Database):
        raise TypeError(where)
    return where


class Cursor:
    """What a statement gave, as sqlite3's cursor shows it."""

    def __init__(self, rows: list[Any], rowcount: int) -> None:
        self._rows = rows
        self.rowcount = rowcount
        self.lastrowid = rows[0][0] if rows and rowcount == 1 and len(rows[0]) == 1 else None

    def fetchone(self) -> Any:
        return self._rows.pop(0) if self._rows else None

    def fetchall(self) -> list[Any]:
        rows, self._rows = self._rows, []
        return rows

    def fetchmany(self, size: int) -> list[Any]:
        rows, self._rows = self._rows[:size], self._rows[size:]
        return rows

    def __iter__(self) -> Iterator[Any]:
        return iter(self.fetchall())


_PLAIN_INSERT = re.compile(
    r"INSERT INTO (?P<table>\w+) \((?P<columns>[\w, ]+)\)\s*VALUES \((?:\?, )*\?\)", re.I
)


class PostgresConnection:
    """A blocking connection to a PostgreSQL database with sqlite3's ``execute``."""

    def __init__(self, url: str, *, readonly: bool) -> None:
        self.catalog = Catalog()
        self.conn: asyncpg.Connection = postgres.run(asyncpg.connect(url))
        postgres.run(self.catalog.load(self.conn))
        if readonly:
            postgres.run(self.conn.execute("SET default_transaction_read_only = on"))

    def execute(self, sql: str, params: Params = ()) -> Cursor:
        statement = translate(sql, self.catalog)
        if statement.names is None:
            args = list(params.values()) if isinstance(params, dict) else list(params)
        else:
            if not isinstance(params, dict):
                raise TypeError("named placeholders take a dict")
            args = [params[name] for name in statement.names]

        async def go() -> Cursor:
            if statement.text.lstrip().upper().startswith(("SELECT", "WITH")):
                # asyncpg's statement cache: no trip to prepare it again
                found = await self.conn.fetch(statement.text, *args)
                return Cursor(list(found), len(found))
            prepared = await self.conn.prepare(statement.text)
            rows = await prepared.fetch(*args)
            status = prepared.get_statusmsg() or ""
            last = status.rsplit(" ", 1)[-1]
            changed = int(last) if last.isdigit() else len(rows)
            return Cursor(list(rows), changed)

        return postgres.run(go())

    def executemany(self, sql: str, rows: Sequence[Params]) -> Cursor:
        """Every row in one pipelined batch (asyncpg's executemany); the count is the rows
        given, as PostgreSQL does not say how many a batch changed."""
        batch = list(rows)
        if not batch:
            return Cursor([], 0)
        statement = translate(sql, self.catalog)
        text = statement.text
        if statement.returns_id:
            text = text[: text.rindex(" RETURNING ")]
        if statement.names is None:
            args = [list(p.values()) if isinstance(p, dict) else list(p) for p in batch]
        else:
            args = [[p[n] for n in statement.names] for p in batch if isinstance(p, dict)]
        plain = _PLAIN_INSERT.fullmatch(sql.strip())
        if plain is not None and statement.names is None:
            # A plain INSERT of many rows (seeding): PostgreSQL's COPY, several times faster.
            columns = [c.strip() for c in plain["columns"].split(",")]
            postgres.run(
                self.conn.copy_records_to_table(
                    plain["table"], records=[tuple(a) for a in args], columns=columns
                )
            )
        else:
            postgres.run(self.conn.executemany(text, args))
        return Cursor([], len(batch))

    def close(self) -> None:
        postgres.run(self.conn.close())


Connection = sqlite3.Connection | PostgresConnection


@contextmanager
def reading(where: Where) -> Iterator[Any]:
    """A connection that cannot write, rows by index or by name (``sqlite3.Row`` or
    ``asyncpg.Record``)."""
    location = _location(where)
    if is_url(location):
        pg = PostgresConnection(str(location), readonly=True)
        try:
            yield pg
        finally:
            pg.close()
        return
    conn = sqlite3.connect(location, isolation_level=None)
    try:
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA query_only = ON")
        yield conn
    finally:
        conn.close()


_CATCH_UP_SEQUENCES = """
DO $$
DECLARE t record; top bigint;
BEGIN
    FOR t IN SELECT table_name, column_name FROM information_schema.columns
             WHERE table_schema = current_schema() AND is_identity = 'YES' LOOP
        EXECUTE format('SELECT max(%I) FROM %I', t.column_name, t.table_name) INTO top;
        IF top IS NOT NULL THEN
            PERFORM setval(pg_get_serial_sequence(t.table_name, t.column_name), top);
        END IF;
    END LOOP;
END $$;
"""


@contextmanager
def writing(where: Where) -> Iterator[Any]:
    """A connection in one write transaction, committed when the block ends (rolled back if it
    raises); foreign keys are enforced, as on the product's own connections."""
    location = _location(where)
    if is_url(location):
        pg = PostgresConnection(str(location), readonly=False)
        try:
            postgres.run(pg.conn.execute("BEGIN"))
            try:
                yield pg
            except BaseException:
                postgres.run(pg.conn.execute("ROLLBACK"))
                raise
            # Rows written with their own ids leave an identity column's sequence behind (SQLite
            # takes the next id from the table): move every sequence past its table's ids.
            postgres.run(pg.conn.execute(_CATCH_UP_SEQUENCES))
            postgres.run(pg.conn.execute("COMMIT"))
        finally:
            pg.close()
        return
    conn = sqlite3.connect(location, isolation_level=None, timeout=10)
    try:
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
    finally:
        conn.close()


def rows(where: Where, sql: str, params: Params = ()) -> list[Any]:
    with reading(where) as conn:
        return list(conn.execute(sql, params).fetchall())


def row(where: Where, sql: str, params: Params = ()) -> Any:
    with reading(where) as conn:
        return conn.execute(sql, params).fetchone()


def value(where: Where, sql: str, params: Params = ()) -> Any:
    """The first column of the first row (None when there is no row)."""
    found = row(where, sql, params)
    return None if found is None else found[0]


def names(where: Where) -> list[str]:
    """The tables of the database (SQLite's own, sqlite_*, left out)."""
    if is_url(_location(where)):
        sql = "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
    else:
        sql = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    return sorted(r[0] for r in rows(where, sql))


def count(where: Where, table: str) -> int:
    return int(value(where, f"SELECT COUNT(*) FROM {table}"))


def execute(where: Where, sql: str, params: Params = ()) -> int:
    """Run one statement in its own transaction; return the rows it changed."""
    with writing(where) as conn:
        return int(conn.execute(sql, params).rowcount)


def reporter_of(where: Where, case_id: int) -> Any:
    """The case's row in case_reporters (who filed it: account, name, phone, channel)."""
    found = row(where, "SELECT * FROM case_reporters WHERE case_id = ?", (case_id,))
    assert found is not None, f"case {case_id} has no reporter recorded"
    return found


def identity_reads(where: Where, case_id: int) -> list[tuple[int, str]]:
    """The case's audit log of identity reads: (reader, purpose), oldest first."""
    return [
        (r["reader_id"], r["purpose"])
        for r in rows(
            where, "SELECT * FROM identity_reads WHERE case_id = ? ORDER BY id", (case_id,)
        )
    ]
