"""Tables read and written on the test's own connection to the database file.

The product reaches its database only through a session's repositories. A check that must see a
table as it is, or a set-up that puts rows there no feature makes (a year of cases at once),
opens its own connection here, as another process would: the product offers no raw SQL.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from storage.db import Database

Params = Sequence[Any] | dict[str, Any]


def _path(where: Database | Path) -> Path:
    return where.path if isinstance(where, Database) else where


@contextmanager
def reading(where: Database | Path) -> Iterator[sqlite3.Connection]:
    """A connection that cannot write, rows as ``sqlite3.Row`` (by index or by name)."""
    conn = sqlite3.connect(_path(where), isolation_level=None)
    try:
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA query_only = ON")
        yield conn
    finally:
        conn.close()


@contextmanager
def writing(where: Database | Path) -> Iterator[sqlite3.Connection]:
    """A connection in one write transaction, committed when the block ends (rolled back if it
    raises); foreign keys are enforced, as on the product's own connections."""
    conn = sqlite3.connect(_path(where), isolation_level=None, timeout=10)
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


def rows(where: Database | Path, sql: str, params: Params = ()) -> list[sqlite3.Row]:
    with reading(where) as conn:
        return list(conn.execute(sql, params).fetchall())


def row(where: Database | Path, sql: str, params: Params = ()) -> sqlite3.Row | None:
    with reading(where) as conn:
        found: sqlite3.Row | None = conn.execute(sql, params).fetchone()
        return found


def value(where: Database | Path, sql: str, params: Params = ()) -> Any:
    """The first column of the first row (None when there is no row)."""
    found = row(where, sql, params)
    return None if found is None else found[0]


def count(where: Database | Path, table: str) -> int:
    return int(value(where, f"SELECT COUNT(*) FROM {table}"))


def execute(where: Database | Path, sql: str, params: Params = ()) -> int:
    """Run one statement in its own transaction; return the rows it changed."""
    with writing(where) as conn:
        return conn.execute(sql, params).rowcount


def reporter_of(where: Database | Path, case_id: int) -> sqlite3.Row:
    """The case's row in case_reporters (who filed it: account, name, phone, channel)."""
    found = row(where, "SELECT * FROM case_reporters WHERE case_id = ?", (case_id,))
    assert found is not None, f"case {case_id} has no reporter recorded"
    return found


def identity_reads(where: Database | Path, case_id: int) -> list[tuple[int, str]]:
    """The case's audit log of identity reads: (reader, purpose), oldest first."""
    return [
        (r["reader_id"], r["purpose"])
        for r in rows(
            where, "SELECT * FROM identity_reads WHERE case_id = ? ORDER BY id", (case_id,)
        )
    ]
