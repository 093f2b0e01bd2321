"""The supervisor's figures, overdue list and hazard ledger (隐患台账), counted by SQLite.

Every figure is a COUNT or a sum in SQL: the cases of a period are read once, grouped by
(department, category, district, colour, self-reported, status) into a small cube, and the cube
is rolled up into the totals and the four breakdowns in the same statement. Python only sees the
rolled-up lines, a few dozen of them, however many cases there are.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import sqlite3
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import asyncpg
from pydantic import BaseModel, ConfigDict

from bot.vocabulary.models import TELEGRAM, Case
from storage._pg import Catalog, translate
from storage._sql import POSTGRESQL, Runner, from_db, to_db

# Accepted hazards: what a city counts as "found" (a rejected report is no hazard, and a merged
# one is counted in the case it was merged into).
FOUND = ("accepted", "assigned", "fix_submitted", "closed")
# Open and past the deadline is overdue (``Case.overdue``).
OPEN_WITH_DEADLINE = ("accepted", "assigned", "fix_submitted")


def _in(*statuses: str) -> str:
    return "('" + "', '".join(statuses) + "')"


_FOUND_SQL = _in(*FOUND)
_OPEN_SQL = _in(*OPEN_WITH_DEADLINE)
_CLOSED_SQL = _in("closed")
_SUBMITTED_SQL = _in("submitted")
_REJECTED_SQL = _in("rejected")
_MERGED_SQL = _in("merged")

DIMENSIONS = ("department", "category", "district", "colour", "channel")

# The cube: one line per (department, category, district, colour, self-reported, status), in the
# order of the index cases_stats (migration 0006), which holds every column read here: the
# cases are read from the index alone, already in GROUP BY order, so nothing is sorted. With
# the status a key, each case costs only the few aggregates below.
# The cube is written once, for SQLite; ``_postgres`` spells its two SQLite-only functions in
# PostgreSQL (a sum that is 0.0 over no rows, and days between two stored times). PostgreSQL
# reads it from its own cases_stats, led by created_at (migration 0023), and groups it in a
# hash table; the days between two times it keeps with each row, as days_to_accept and
# days_to_fix, so no TEXT time is parsed here.
_CUBE = (
    "SELECT department, category, district, colour, self_reported, status, channel,"
    " COUNT(*) AS n,"
    " COUNT(deadline) AS with_deadline,"
    " TOTAL(closed_at <= deadline) AS on_time,"
    " TOTAL(deadline < :now) AS past_deadline,"
    " COUNT(escalated_at) AS escalated,"
    " COUNT(accepted_at) AS accepted,"
    " TOTAL(julianday(accepted_at) - julianday(created_at)) AS accept_days,"
    " COUNT(assigned_at) AS assigned,"
    " TOTAL(julianday(closed_at) - julianday(assigned_at)) AS fix_days"
    " FROM cases WHERE created_at >= :start AND created_at < :end{scope}"
    " GROUP BY department, category, district, colour, self_reported, status, channel"
)

_COMPARISON = re.compile(r"^\w+ <=? [\w:]+$")
_DAYS = re.compile(r"^julianday\((\w+)\) - julianday\((\w+)\)$")
# Days between two times of a case, stored with the row on PostgreSQL (migration 0023).
_STORED_DAYS = {
    ("accepted_at", "created_at"): "days_to_accept",
    ("closed_at", "assigned_at"): "days_to_fix",
}


def _postgres(sql: str) -> str:
    """``TOTAL(x)``, a float sum that is 0.0 over no rows, as PostgreSQL spells it; x may be a
    comparison (SQLite's 0 or 1) or julianday differences (days between two stored times)."""
    out = []
    at = 0
    while (start := sql.find("TOTAL(", at)) >= 0:
        depth, end = 1, start + len("TOTAL(")
        while depth:
            depth += {"(": 1, ")": -1}.get(sql[end], 0)
            end += 1
        inner = _postgres(sql[start + len("TOTAL(") : end - 1])
        if _COMPARISON.match(inner):
            inner = f"CASE WHEN {inner} THEN 1 ELSE 0 END"
        elif days := _DAYS.match(inner):
            a, b = days.groups()
            inner = _STORED_DAYS.get((a, b), f"shaozi_days({a}, {b})")
        out.append(f"{sql[at:start]}COALESCE(SUM({inner}), 0)::float8")
        at = end
    out.append(sql[at:])
    return "".join(out)


def _when(statuses: str, column: str) -> str:
    return f"TOTAL(CASE WHEN status IN {statuses} THEN {column} END)"


# The cube's lines summed into the figures of one line (the total, or one department …).
_ROLLUP = ", ".join(
    (
        "TOTAL(n) AS reported",
        f"{_when(_FOUND_SQL, 'n')} AS found",
        f"{_when(_CLOSED_SQL, 'n')} AS rectified",
        f"{_when(_CLOSED_SQL, 'with_deadline')} AS closed_with_deadline",
        f"{_when(_CLOSED_SQL, 'on_time')} AS on_time",
        f"{_when(_OPEN_SQL, 'past_deadline')} AS overdue",
        "TOTAL(escalated) AS escalated",
        f"{_when(_SUBMITTED_SQL, 'n')} AS waiting",
        f"{_when(_REJECTED_SQL, 'n')} AS rejected",
        f"{_when(_MERGED_SQL, 'n')} AS merged",
        "TOTAL(accepted) AS accepted",
        "TOTAL(accept_days) AS accept_days",
        f"{_when(_CLOSED_SQL, 'assigned')} AS fixed",
        f"{_when(_CLOSED_SQL, 'fix_days')} AS fix_days",
    )
)
_INTEGERS = (
    "reported",
    "found",
    "rectified",
    "closed_with_deadline",
    "on_time",
    "overdue",
    "escalated",
    "waiting",
    "rejected",
    "merged",
    "accepted",
    "fixed",
)


class Figures(BaseModel):
    """Counts of one line (the whole scope, or one department, category …)."""

    model_config = ConfigDict(frozen=True)

    reported: int = 0  # every report, whatever became of it
    found: int = 0  # accepted as hazards
    rectified: int = 0  # closed (销号)
    closed_with_deadline: int = 0
    on_time: int = 0  # closed by the deadline
    overdue: int = 0  # open and past the deadline now
    escalated: int = 0  # 挂牌督办
    waiting: int = 0  # not accepted yet
    rejected: int = 0
    merged: int = 0
    accepted: int = 0  # with a time of acceptance
    accept_days: float = 0.0  # summed over ``accepted``
    fixed: int = 0  # closed, with a time of assignment
    fix_days: float = 0.0  # summed over ``fixed``


class FigureLine(BaseModel):
    """One rolled-up line: ``dimension`` is "total" or one of DIMENSIONS; ``key`` its code."""

    model_config = ConfigDict(frozen=True)

    dimension: str
    key: str | None
    self_reported: bool
    figures: Figures


class LedgerRow(NamedTuple):
    """One line of the hazard ledger. A tuple, not a model: an export streams a million."""

    number: str
    created_at: dt.datetime
    self_reported: bool
    enterprise: str | None
    credit_code: str | None  # 统一社会信用代码
    address: str | None
    district: str | None
    latitude: float | None
    longitude: float | None
    category: str
    description: str
    colour: str | None
    level: str | None
    department: str
    status: str
    deadline: dt.datetime | None
    plan: str | None  # 治理方案
    fix_note: str | None  # what the fix submitted last says was done
    accepted_at: dt.datetime | None
    fix_submitted_at: dt.datetime | None
    verified_at: dt.datetime | None
    closed_at: dt.datetime | None
    escalated_at: dt.datetime | None
    reward_status: str | None
    channel: str = TELEGRAM  # or the partner of the API the report came through (#17)


def _scope(
    departments: Collection[str] | None, params: dict[str, Any], column: str = "department"
) -> str:
    """An SQL condition limiting cases to the departments (None: the whole city)."""
    if departments is None:
        return ""
    names = []
    for index, code in enumerate(sorted(departments)):
        params[f"d{index}"] = code
        names.append(f":d{index}")
    return f" AND {column} IN ({', '.join(names) or 'NULL'})"


def figures_query(
    start: dt.datetime, end: dt.datetime, now: dt.datetime, departments: Collection[str] | None
) -> tuple[str, dict[str, Any]]:
    """The one statement of the figures, and its parameters."""
    params: dict[str, Any] = {"start": to_db(start), "end": to_db(end), "now": to_db(now)}
    cube = _CUBE.format(scope=_scope(departments, params))
    parts = [
        "SELECT 'total' AS dimension, NULL AS key, self_reported,"
        f" {_ROLLUP} FROM cube GROUP BY self_reported"
    ]
    parts += [
        f"SELECT '{d}', {d}, self_reported, {_ROLLUP} FROM cube GROUP BY {d}, self_reported"
        for d in DIMENSIONS
    ]
    return f"WITH cube AS MATERIALIZED ({cube}) " + " UNION ALL ".join(parts), params


def figures_query_for(
    dialect: str,
    start: dt.datetime,
    end: dt.datetime,
    now: dt.datetime,
    departments: Collection[str] | None,
) -> tuple[str, dict[str, Any]]:
    sql, params = figures_query(start, end, now, departments)
    return (_postgres(sql) if dialect == POSTGRESQL else sql), params


class StatsRepo:
    def __init__(self, sql: Runner) -> None:
        self.sql = sql

    async def figures(
        self,
        start: dt.datetime,
        end: dt.datetime,
        now: dt.datetime,
        departments: Collection[str] | None,
    ) -> list[FigureLine]:
        """Figures of the cases reported in [start, end): the totals (with and without the
        self-reported ones apart) and one line per department, category, district, colour."""
        sql, params = figures_query_for(self.sql.dialect, start, end, now, departments)
        lines = []
        for row in await self.sql.fetch_all(sql, params):
            counts = dict(row)
            dimension, key = counts.pop("dimension"), counts.pop("key")
            self_reported = bool(counts.pop("self_reported"))
            for name in _INTEGERS:  # TOTAL() sums as a float
                counts[name] = round(counts[name])
            figures = Figures.model_validate(counts)
            lines.append(
                FigureLine(
                    dimension=dimension, key=key, self_reported=self_reported, figures=figures
                )
            )
        return lines

    async def overdue_count(self, now: dt.datetime, departments: Collection[str] | None) -> int:
        params: dict[str, Any] = {"now": to_db(now)}
        value = await self.sql.fetch_value(
            f"SELECT COUNT(*) FROM cases WHERE status IN {_OPEN_SQL} AND deadline < :now"
            + _scope(departments, params),
            params,
        )
        return int(value or 0)

    async def unaccepted_supervised_count(self, departments: Collection[str] | None) -> int:
        """Cases still waiting to be accepted that were escalated for it (挂牌督办)."""
        params: dict[str, Any] = {}
        value = await self.sql.fetch_value(
            f"SELECT COUNT(*) FROM cases WHERE status IN {_SUBMITTED_SQL}"
            " AND escalated_at IS NOT NULL" + _scope(departments, params),
            params,
        )
        return int(value or 0)

    async def overdue(
        self, now: dt.datetime, departments: Collection[str] | None, limit: int, offset: int
    ) -> list[Case]:
        """Open cases past their deadline, the longest overdue first."""
        params: dict[str, Any] = {"now": to_db(now), "limit": limit, "offset": offset}
        rows = await self.sql.fetch_all(
            f"SELECT * FROM cases WHERE status IN {_OPEN_SQL} AND deadline < :now"
            + _scope(departments, params)
            + " ORDER BY deadline, id LIMIT :limit OFFSET :offset",
            params,
        )
        return [Case.model_validate(dict(r)) for r in rows]


_LEDGER_COLUMNS = (
    "c.number, c.created_at, c.self_reported, e.name, e.credit_code, c.address, c.district,"
    " c.latitude, c.longitude, c.category, c.description, c.colour, c.level, c.department,"
    " c.status, c.deadline, c.plan, c.fix_note, c.accepted_at, c.fix_submitted_at,"
    # Verifying the fix closes the case (销号) in the same step, so the two times are one; but
    # a reporter who says it is not fixed reopens it (closed_at is cleared) while the officers'
    # verification stays a fact: that one is the close event's. Looked up for those cases only.
    " CASE WHEN c.status = 'closed' THEN c.closed_at"
    " WHEN c.status = 'fix_submitted' AND c.reopened != 0 THEN (SELECT v.at FROM case_events v"
    " WHERE v.case_id = c.id AND v.kind = 'close' ORDER BY v.id DESC LIMIT 1) END,"
    " c.closed_at, c.escalated_at"
)


def _time(value: str | None) -> dt.datetime | None:
    return None if value is None else from_db(value)


class LedgerReader:
    """Streams the hazard ledger from its own read-only connection, for a worker thread.

    The reporter's identity (account, name, phone) is not selected at all: the ledger is
    handed around as a spreadsheet, so what is not read cannot leak.
    """

    def __init__(self, where: Path | str) -> None:
        self.where = where

    def rows(
        self, start: dt.datetime, end: dt.datetime, departments: Collection[str] | None
    ) -> Iterator[LedgerRow]:
        """Cases reported in [start, end), in the order they were reported."""
        params: dict[str, Any] = {"start": to_db(start), "end": to_db(end)}
        sql = (
            # The rewards table's latest row per case is the status.
            f"SELECT {_LEDGER_COLUMNS}, (SELECT r.status FROM rewards r WHERE r.case_id = c.id"
            " ORDER BY r.id DESC LIMIT 1), c.channel FROM cases c"
            " LEFT JOIN enterprises e ON e.id = c.enterprise_id"
            " WHERE c.created_at >= :start AND c.created_at < :end"
            + _scope(departments, params, "c.department")
            + " ORDER BY c.created_at, c.id"
        )
        batches = (
            _postgres_batches(str(self.where), sql, params)
            if isinstance(self.where, str)
            else _sqlite_batches(Path(self.where), sql, params)
        )
        for batch in batches:
            for r in batch:
                yield LedgerRow(
                    r[0],
                    from_db(r[1]),
                    bool(r[2]),
                    r[3],
                    r[4],
                    r[5],
                    r[6],
                    r[7],
                    r[8],
                    r[9],
                    r[10],
                    r[11],
                    r[12],
                    r[13],
                    r[14],
                    _time(r[15]),
                    r[16],
                    r[17],
                    _time(r[18]),
                    _time(r[19]),
                    _time(r[20]),
                    _time(r[21]),
                    _time(r[22]),
                    r[23],
                    r[24],
                )


def _sqlite_batches(path: Path, sql: str, params: dict[str, Any]) -> Iterator[list[Any]]:
    conn = sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True)
    try:
        conn.execute("PRAGMA query_only = ON")
        cursor = conn.execute(sql, params)
        while batch := cursor.fetchmany(1000):
            yield batch
    finally:
        conn.close()


def _postgres_batches(url: str, sql: str, params: dict[str, Any]) -> Iterator[list[Any]]:
    """The rows in batches, from a connection of this thread's own event loop (the reader runs
    in a worker thread), through a server-side cursor: a million rows are never all in memory."""
    loop = asyncio.new_event_loop()
    try:
        conn = loop.run_until_complete(asyncpg.connect(url))
        try:
            statement = translate(sql, Catalog())
            args = [params[name] for name in statement.names or ()]
            reading = conn.transaction(readonly=True)
            loop.run_until_complete(reading.start())
            cursor = loop.run_until_complete(conn.cursor(statement.text, *args))
            while batch := loop.run_until_complete(cursor.fetch(1000)):
                yield batch
            loop.run_until_complete(reading.commit())
        finally:
            loop.run_until_complete(conn.close())
    finally:
        loop.close()
