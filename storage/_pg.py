"""The PostgreSQL runner: the repositories' SQLite-dialect SQL, run on asyncpg.

Private to storage/ like ``storage._sql``. The repositories write one SQL text for both
databases; this module rewrites what PostgreSQL spells otherwise, once per statement text
(cached):

- ``?`` and ``:name`` placeholders become ``$n``; ``IS ?`` becomes ``IS NOT DISTINCT FROM $n``;
- ``LIKE`` becomes ``ILIKE`` (SQLite's LIKE ignores case);
- ``INSERT OR IGNORE`` becomes ``INSERT … ON CONFLICT DO NOTHING``;
- ``INSERT OR REPLACE INTO t`` becomes an upsert on t's key (its primary key, or its first unique
  constraint when the primary key is the identity column), the identity column taking a new
  value, as SQLite's replace gives a new rowid;
- an INSERT into a table with an identity column returns that column (SQLite's ``lastrowid``);
- ``execute_many`` of a plain ``INSERT … VALUES (?, …)`` is one ``INSERT … SELECT FROM unnest``.

What the catalog says (identity columns, keys, column types) is read by ``Catalog.load``.
Migrations are SQLite DDL too: ``postgres_ddl`` maps their types.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from storage._sql import POSTGRESQL, Params, Row, Runner


@dataclass
class Catalog:
    """What the runner needs to know of the schema."""

    identity: dict[str, str] = field(default_factory=dict)  # table -> identity column
    keys: dict[str, list[str]] = field(default_factory=dict)  # table -> replace's conflict key
    types: dict[str, dict[str, str]] = field(default_factory=dict)  # table -> column -> type
    statements: dict[str, Statement] = field(default_factory=dict)

    async def load(self, conn: asyncpg.Connection | asyncpg.Pool) -> None:
        identity = {
            r["table_name"]: r["column_name"]
            for r in await conn.fetch(
                "SELECT table_name, column_name FROM information_schema.columns"
                " WHERE table_schema = current_schema() AND is_identity = 'YES'"
            )
        }
        types: dict[str, dict[str, str]] = {}
        for r in await conn.fetch(
            "SELECT c.relname AS t, a.attname AS col, format_type(a.atttypid, a.atttypmod) AS ty"
            " FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid"
            " WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'r'"
            " AND a.attnum > 0 AND NOT a.attisdropped"
        ):
            types.setdefault(r["t"], {})[r["col"]] = r["ty"]
        keys: dict[str, list[str]] = {}
        for r in await conn.fetch(
            "SELECT c.relname AS t, con.contype AS kind,"
            " array(SELECT a.attname FROM unnest(con.conkey) WITH ORDINALITY k(n, i)"
            "  JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n"
            "  ORDER BY k.i) AS cols"
            " FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid"
            " WHERE c.relnamespace = current_schema()::regnamespace AND con.contype IN ('p', 'u')"
            " ORDER BY c.relname, con.contype, con.oid"
        ):
            table, cols = r["t"], list(r["cols"])
            if table in keys:
                continue
            if cols == [identity.get(table)]:
                continue  # the identity column: look for the first unique constraint
            keys[table] = cols
        self.identity, self.types, self.keys = identity, types, keys
        self.statements.clear()


@dataclass
class Statement:
    text: str
    names: list[str] | None  # named parameters in $n order; None: positional
    returns_id: bool = False


_INSERT = re.compile(
    r"^\s*INSERT\s+(?:OR\s+(IGNORE|REPLACE)\s+)?INTO\s+(\w+)\s*(?:\(([^)]*)\))?", re.I | re.S
)
_RETURNING = re.compile(r"\bRETURNING\b", re.I)
_IS_PARAM = re.compile(r"\bIS\s+(NOT\s+)?(?=\?|:[A-Za-z_])", re.I)
_LIKE = re.compile(r"\bLIKE\b")


def _placeholders(sql: str) -> tuple[str, list[str] | None]:
    """Turn ``?`` and ``:name`` into ``$n`` outside string literals and comments."""
    out: list[str] = []
    names: list[str] = []
    positional = 0
    i, n = 0, len(sql)
    while i < n:
        ch = sql[i]
        if ch == "'":
            end = i + 1
            while end < n:
                if sql[end] == "'":
                    if end + 1 < n and sql[end + 1] == "'":
                        end += 2
                        continue
                    break
                end += 1
            out.append(sql[i : end + 1])
            i = end + 1
        elif ch == "-" and sql.startswith("--", i):
            end = sql.find("\n", i)
            end = n if end < 0 else end
            out.append(sql[i:end])
            i = end
        elif ch == "?":
            positional += 1
            out.append(f"${positional}")
            i += 1
        elif (
            ch == ":"
            and i + 1 < n
            and (sql[i + 1].isalpha() or sql[i + 1] == "_")
            and (i == 0 or sql[i - 1] != ":")
        ):
            end = i + 1
            while end < n and (sql[end].isalnum() or sql[end] == "_"):
                end += 1
            name = sql[i + 1 : end]
            if name not in names:
                names.append(name)
            out.append(f"${names.index(name) + 1}")
            i = end
        else:
            out.append(ch)
            i += 1
    if names and positional:
        raise ValueError("a statement mixes ? and :name placeholders")
    return "".join(out), (names if names else None)


def _before_returning(sql: str, clause: str) -> str:
    found = _RETURNING.search(sql)
    if found is None:
        return sql.rstrip().rstrip(";") + clause
    return sql[: found.start()] + clause.strip() + " " + sql[found.start() :]


def translate(sql: str, catalog: Catalog) -> Statement:
    """The statement as PostgreSQL takes it (see the module's docstring)."""
    cached = catalog.statements.get(sql)
    if cached is not None:
        return cached
    text = _IS_PARAM.sub(
        lambda m: "IS DISTINCT FROM " if m.group(1) else "IS NOT DISTINCT FROM ", sql
    )
    text = _LIKE.sub("ILIKE", text)
    returns_id = False
    insert = _INSERT.match(text)
    if insert is not None:
        verb, table, columns = insert.group(1), insert.group(2), insert.group(3)
        text = (
            text[: insert.start()]
            + f"INSERT INTO {table}"
            + (f" ({columns})" if columns is not None else "")
            + text[insert.end() :]
        )
        identity = catalog.identity.get(table)
        if verb is not None and verb.upper() == "IGNORE":
            text = _before_returning(text, " ON CONFLICT DO NOTHING")
        elif verb is not None:
            key = catalog.keys.get(table)
            if key is None or columns is None:
                raise ValueError(f"INSERT OR REPLACE INTO {table}: no key to replace on")
            names = [c.strip() for c in columns.split(",")]
            sets = [f"{c} = EXCLUDED.{c}" for c in names if c not in key]
            if identity is not None and identity not in names:
                sets.append(f"{identity} = DEFAULT")
            action = f"DO UPDATE SET {', '.join(sets)}" if sets else "DO NOTHING"
            text = _before_returning(text, f" ON CONFLICT ({', '.join(key)}) {action}")
        if identity is not None and _RETURNING.search(text) is None:
            text = text.rstrip().rstrip(";") + f" RETURNING {identity}"
            returns_id = True
    text, named = _placeholders(text)
    statement = Statement(text, named, returns_id)
    catalog.statements[sql] = statement
    return statement


def _args(statement: Statement, params: Params) -> list[Any]:
    if statement.names is None:
        if isinstance(params, dict):
            if params and "$1" in statement.text:
                raise ValueError("named parameters for a statement with ? placeholders")
            return []
        return list(params)
    if not isinstance(params, dict):
        raise ValueError("positional parameters for a statement with :name placeholders")
    return [params[name] for name in statement.names]


def _count(status: str) -> int:
    """The rows a command tag says were changed ("UPDATE 3", "INSERT 0 1")."""
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else 0


def _unnest(sql: str, catalog: Catalog) -> str | None:
    """``INSERT [OR IGNORE] INTO t (a, b) VALUES (?, ?)`` as one statement over arrays, or None
    when the statement is not that plain."""
    match = re.fullmatch(
        r"\s*INSERT\s+(OR\s+IGNORE\s+)?INTO\s+(\w+)\s*\(([^)]*)\)\s*VALUES\s*\(([?,\s]*)\)\s*",
        sql,
        re.I | re.S,
    )
    if match is None:
        return None
    table = match.group(2)
    columns = [c.strip() for c in match.group(3).split(",")]
    if match.group(4).count("?") != len(columns):
        return None
    types = catalog.types.get(table, {})
    if any(c not in types for c in columns):
        return None
    arrays = ", ".join(f"${i + 1}::{types[c]}[]" for i, c in enumerate(columns))
    text = f"INSERT INTO {table} ({', '.join(columns)}) SELECT * FROM unnest({arrays})"
    return text + (" ON CONFLICT DO NOTHING" if match.group(1) else "")


class PostgresRunner(Runner):
    """Runs the repositories' SQL on PostgreSQL: on one pooled connection in a transaction
    (``BEGIN`` goes with the first statement), or on the pool, each statement on its own."""

    dialect = POSTGRESQL

    def __init__(
        self,
        target: asyncpg.Pool | asyncpg.Connection,
        catalog: Catalog,
        *,
        begin: bool = False,
    ) -> None:
        self.target = target
        self.catalog = catalog
        self._begin = begin
        self.begun = False

    async def _ready(self) -> asyncpg.Pool | asyncpg.Connection:
        if self._begin:
            self._begin = False
            await self.target.execute("BEGIN")
            self.begun = True
        return self.target

    async def commit(self) -> None:
        if self.begun:
            self.begun = False
            await self.target.execute("COMMIT")

    async def rollback(self) -> None:
        if self.begun:
            self.begun = False
            await self.target.execute("ROLLBACK")

    async def fetch_one(self, sql: str, params: Params = ()) -> Row | None:
        statement = translate(sql, self.catalog)
        target = await self._ready()
        row: Row | None = await target.fetchrow(statement.text, *_args(statement, params))
        return row

    async def fetch_all(self, sql: str, params: Params = ()) -> list[Row]:
        statement = translate(sql, self.catalog)
        target = await self._ready()
        return list(await target.fetch(statement.text, *_args(statement, params)))

    async def execute(self, sql: str, params: Params = ()) -> int:
        statement = translate(sql, self.catalog)
        args = _args(statement, params)
        if self._begin and not args and not statement.returns_id:
            # A transaction's first statement without parameters goes with its BEGIN, in one
            # round trip (the simple query protocol takes several statements).
            self._begin = False
            self.begun = True
            return _count(await self.target.execute(f"BEGIN; {statement.text}"))
        target = await self._ready()
        if statement.returns_id:
            value = await target.fetchval(statement.text, *args)
            return 0 if value is None else int(value)
        return _count(await target.execute(statement.text, *args))

    async def changes(self, sql: str, params: Params = ()) -> int:
        statement = translate(sql, self.catalog)
        target = await self._ready()
        # The command's status counts the rows changed ("INSERT 0 1"), a RETURNING or not.
        return _count(await target.execute(statement.text, *_args(statement, params)))

    async def execute_many(self, sql: str, rows: Iterable[Params]) -> int:
        batch = list(rows)
        if not batch:
            return 0
        plain = _unnest(sql, self.catalog)
        target = await self._ready()
        if plain is not None and not isinstance(batch[0], dict):
            columns = [list(c) for c in zip(*batch, strict=True)]
            return _count(await target.execute(plain, *columns))
        statement = translate(sql, self.catalog)
        changed = 0
        for params in batch:
            changed += _count(await target.execute(statement.text, *_args(statement, params)))
        return changed


_DDL = (
    (
        re.compile(r"\bINTEGER\s+PRIMARY\s+KEY(\s+AUTOINCREMENT)?(?!\s+REFERENCES)", re.I),
        "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
    ),
    (re.compile(r"\bINTEGER\b", re.I), "BIGINT"),
    (re.compile(r"\bREAL\b", re.I), "DOUBLE PRECISION"),
    (re.compile(r"\bBLOB\b", re.I), "BYTEA"),
    (re.compile(r"\bIFNULL\(", re.I), "COALESCE("),
)


def postgres_ddl(sql: str) -> str:
    """A migration written for SQLite, with PostgreSQL's types: INTEGER is BIGINT (Telegram
    ids pass 2³¹), an ``INTEGER PRIMARY KEY`` an identity column, REAL double precision,
    IFNULL is COALESCE."""
    for pattern, replacement in _DDL:
        sql = pattern.sub(replacement, sql)
    return sql
