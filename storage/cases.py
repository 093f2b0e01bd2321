"""Cases, their photos, their append-only event log and their followers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict

from bot.vocabulary.lifecycle import FINAL
from bot.vocabulary.models import Case, CaseEvent, CaseSummary, NearbyCase
from storage._sql import POSTGRESQL, Runner, from_db, to_db
from storage.photos import to_signed, to_unsigned
from storage.stats import _scope

_FINAL = tuple(s.value for s in FINAL)


def _count_if(condition: str) -> str:
    """How many rows meet the condition (SQLite would sum the condition itself; PostgreSQL's
    conditions are no numbers)."""
    return f"SUM(CASE WHEN {condition} THEN 1 ELSE 0 END)"


_WORKING = "status IN ('assigned', 'fix_submitted')"
_OPEN = "status IN ('accepted', 'assigned', 'fix_submitted')"
_CLOSED = "status = 'closed'"
_NOT_FINAL = f"status NOT IN ({', '.join('?' * len(_FINAL))})"
# A followed case (case_followers f) the user did not report themselves.
_NOT_REPORTED_BY = (
    "NOT EXISTS (SELECT 1 FROM case_reporters r"
    " WHERE r.case_id = f.case_id AND r.user_id = f.user_id)"
)


class CaseRepo:
    def __init__(self, sql: Runner) -> None:
        self.sql = sql

    # Numbers ----------------------------------------------------------------------------

    async def next_sequence(self, day: str) -> int:
        """The next number of the day (1, 2, …); one writer, so no two cases share one."""
        value = await self.sql.fetch_value(
            "INSERT INTO case_counters (day, last) VALUES (?, 1)"
            " ON CONFLICT (day) DO UPDATE SET last = case_counters.last + 1 RETURNING last",
            (day,),
        )
        return int(value)

    # Writing ----------------------------------------------------------------------------

    async def insert(self, values: dict[str, Any]) -> int:
        columns = ", ".join(values)
        marks = ", ".join("?" * len(values))
        return await self.sql.execute(
            f"INSERT INTO cases ({columns}) VALUES ({marks})", tuple(values.values())
        )

    async def add_photo(
        self,
        case_id: int,
        kind: str,
        position: int,
        sha256: str,
        added_by: int | None,
        now: dt.datetime,
    ) -> None:
        await self.sql.execute(
            "INSERT INTO case_photos (case_id, kind, position, sha256, added_by, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (case_id, kind, position, sha256, added_by, to_db(now)),
        )

    async def set_photos(
        self, case_id: int, kind: str, hashes: list[str], added_by: int | None, now: dt.datetime
    ) -> None:
        """The case's photos of ``kind`` are these, in this order (those before are replaced)."""
        await self.sql.execute(
            "DELETE FROM case_photos WHERE case_id = ? AND kind = ?", (case_id, kind)
        )
        for position, sha256 in enumerate(hashes):
            await self.add_photo(case_id, kind, position, sha256, added_by, now)

    async def add_event(
        self,
        case_id: int,
        at: dt.datetime,
        actor_id: int | None,
        kind: str,
        from_status: str | None = None,
        to_status: str | None = None,
        note: str | None = None,
    ) -> int:
        return await self.sql.execute(
            "INSERT INTO case_events (case_id, at, actor_id, kind, from_status, to_status, note)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (case_id, to_db(at), actor_id, kind, from_status, to_status, note),
        )

    async def add_follower(self, case_id: int, user_id: int, now: dt.datetime) -> bool:
        changed = await self.sql.execute(
            "INSERT OR IGNORE INTO case_followers (case_id, user_id, created_at) VALUES (?, ?, ?)",
            (case_id, user_id, to_db(now)),
        )
        return changed > 0

    # Reading ----------------------------------------------------------------------------

    async def get(self, case_id: int) -> Case | None:
        row = await self.sql.fetch_one("SELECT * FROM cases WHERE id = ?", (case_id,))
        return None if row is None else Case.model_validate(dict(row))

    async def by_number(self, number: str) -> Case | None:
        row = await self.sql.fetch_one("SELECT * FROM cases WHERE number = ?", (number,))
        return None if row is None else Case.model_validate(dict(row))

    async def by_draft_key(self, key: str) -> Case | None:
        row = await self.sql.fetch_one("SELECT * FROM cases WHERE draft_key = ?", (key,))
        return None if row is None else Case.model_validate(dict(row))

    async def events(self, case_id: int) -> list[CaseEvent]:
        rows = await self.sql.fetch_all(
            "SELECT * FROM case_events WHERE case_id = ? ORDER BY id", (case_id,)
        )
        return [CaseEvent.model_validate(dict(r)) for r in rows]

    async def photo_hashes(self, case_id: int, kind: str = "report") -> list[str]:
        rows = await self.sql.fetch_all(
            "SELECT sha256 FROM case_photos WHERE case_id = ? AND kind = ? ORDER BY position",
            (case_id, kind),
        )
        return [r[0] for r in rows]

    async def is_participant(self, case_id: int, user_id: int) -> bool:
        """The reporter, or a co-reporter who follows the case."""
        value = await self.sql.fetch_value(
            "SELECT 1 FROM case_reporters WHERE case_id = ? AND user_id = ?"
            " UNION ALL SELECT 1 FROM case_followers WHERE case_id = ? AND user_id = ?",
            (case_id, user_id, case_id, user_id),
        )
        return value is not None

    async def followers(self, case_id: int) -> list[int]:
        rows = await self.sql.fetch_all(
            "SELECT user_id FROM case_followers WHERE case_id = ? ORDER BY created_at",
            (case_id,),
        )
        return [r[0] for r in rows]

    async def count_reported_since(self, user_id: int, since: dt.datetime) -> int:
        value = await self.sql.fetch_value(
            "SELECT COUNT(*) FROM case_reporters WHERE user_id = ? AND created_at >= ?",
            (user_id, to_db(since)),
        )
        return int(value)

    async def for_user(self, user_id: int, limit: int, offset: int) -> list[CaseSummary]:
        """Cases the user reported or follows, newest first; a followed case is dated by when
        the user began to follow it (the day of someone else's report is theirs)."""
        rows = await self.sql.fetch_all(
            "SELECT c.id AS id, c.number AS number, c.category AS category, c.status AS status,"
            " c.created_at AS created_at, 0 AS following"
            "  FROM case_reporters r JOIN cases c ON c.id = r.case_id WHERE r.user_id = :user"
            " UNION ALL"
            " SELECT c.id, c.number, c.category, c.status, f.created_at, 1"
            "  FROM case_followers f JOIN cases c ON c.id = f.case_id"
            f"  WHERE f.user_id = :user AND {_NOT_REPORTED_BY}"
            " ORDER BY created_at DESC, id DESC LIMIT :limit OFFSET :offset",
            {"user": user_id, "limit": limit, "offset": offset},
        )
        return [CaseSummary.model_validate(dict(r)) for r in rows]

    async def count_for_user(self, user_id: int) -> int:
        value = await self.sql.fetch_value(
            "SELECT (SELECT COUNT(*) FROM case_reporters WHERE user_id = :user)"
            " + (SELECT COUNT(*) FROM case_followers f"
            f"    WHERE f.user_id = :user AND {_NOT_REPORTED_BY})",
            {"user": user_id},
        )
        return int(value)

    async def open_nearby(
        self,
        category: str,
        since: dt.datetime,
        box: tuple[float, float, float, float],
    ) -> list[NearbyCase]:
        """Open cases of a category created since ``since`` inside (lat0, lat1, lon0, lon1)."""
        lat0, lat1, lon0, lon1 = box
        rows = await self.sql.fetch_all(
            "SELECT id, number, status, latitude, longitude, created_at FROM cases"
            f" WHERE category = ? AND created_at >= ? AND {_NOT_FINAL}"
            " AND latitude BETWEEN ? AND ? AND longitude BETWEEN ? AND ?",
            (category, to_db(since), *_FINAL, lat0, lat1, lon0, lon1),
        )
        return [NearbyCase.model_validate(dict(r)) for r in rows]

    async def open_photo_hashes(self, since: dt.datetime) -> list[tuple[int, int]]:
        """(case id, perceptual hash) of the report photos of open cases created since ``since``."""
        rows = await self.sql.fetch_all(
            "SELECT c.id, p.phash"
            " FROM cases c JOIN case_photos cp ON cp.case_id = c.id AND cp.kind = 'report'"
            " JOIN photos p ON p.sha256 = cp.sha256"
            f" WHERE c.created_at >= ? AND c.{_NOT_FINAL}",
            (to_db(since), *_FINAL),
        )
        return [(row[0], to_unsigned(row[1])) for row in rows]

    async def nearby_by_ids(self, ids: Iterable[int]) -> list[NearbyCase]:
        """The cases with these ids, as duplicate candidates."""
        wanted = sorted(set(ids))
        if not wanted:
            return []
        marks = ",".join("?" * len(wanted))
        rows = await self.sql.fetch_all(
            "SELECT id, number, status, latitude, longitude, created_at FROM cases"
            f" WHERE id IN ({marks})",
            wanted,
        )
        return [NearbyCase.model_validate(dict(r)) for r in rows]

    async def next_deadline(self, status: str, after: dt.datetime) -> dt.datetime | None:
        """The earliest deadline later than ``after`` of the cases in ``status``."""
        value = await self.sql.fetch_value(
            "SELECT MIN(deadline) FROM cases WHERE status = ? AND deadline > ?",
            (status, to_db(after)),
        )
        return None if value is None else from_db(value)

    async def count(self, status: str | None = None, *, with_deadline: bool = False) -> int:
        """How many cases there are (in ``status``; only those with a deadline)."""
        sql = "SELECT COUNT(*) FROM cases"
        conditions = ["status = ?"] if status is not None else []
        if with_deadline:
            conditions.append("deadline IS NOT NULL")
        if conditions:
            sql += " WHERE " + " AND ".join(conditions)
        return int(await self.sql.fetch_value(sql, () if status is None else (status,)))

    async def status_counts(self) -> dict[str, int]:
        """How many cases are in each status (statuses no case is in are left out)."""
        rows = await self.sql.fetch_all("SELECT status, COUNT(*) FROM cases GROUP BY status")
        return {r[0]: int(r[1]) for r in rows}

    # The workflow -------------------------------------------------------------------------

    async def update(
        self, case_id: int, version: int, now: dt.datetime, values: dict[str, Any]
    ) -> bool:
        """Change a case if it is still at ``version``; False when someone changed it first."""
        assignments = ", ".join(f"{column} = ?" for column in values)
        params = [_db_value(v) for v in values.values()]
        changed = await self.sql.execute(
            f"UPDATE cases SET {assignments}, version = version + 1, updated_at = ?,"
            " next_check_at = '' WHERE id = ? AND version = ?",
            (*params, to_db(now), case_id, version),
        )
        return changed == 1

    async def participants(self, case_id: int) -> list[int]:
        """The reporter first, then the co-reporters who follow the case."""
        value = await self.sql.fetch_value(
            "SELECT user_id FROM case_reporters WHERE case_id = ?", (case_id,)
        )
        reporter = [] if value is None else [int(value)]
        return [*reporter, *[u for u in await self.followers(case_id) if u not in reporter]]

    async def department_queue(self, department: str) -> list[Case]:
        """Cases waiting on the department's action: triage, assignment, verification,
        extensions, its own fixes (the overdue ones are added by bot/queue.py)."""
        rows = await self.sql.fetch_all(
            "SELECT * FROM cases WHERE department = ? AND (status IN"
            " ('submitted', 'accepted', 'fix_submitted')"
            " OR (status = 'assigned'"
            "     AND (extension_until IS NOT NULL OR handled_by_department = 1)))"
            " ORDER BY reopened DESC, created_at",
            (department,),
        )
        return [Case.model_validate(dict(r)) for r in rows]

    async def open_of_department(
        self,
        department: str,
        *,
        deadline_before: dt.datetime | None = None,
        escalated: bool = False,
        colour: str | None = None,
        district: str | None = None,
    ) -> list[Case]:
        """The department's cases not yet ended, oldest first: all of them, or those with a
        deadline before ``deadline_before``, under supervision, of a colour, in a district."""
        conditions = ["department = ?", _NOT_FINAL]
        params: list[object] = [department, *_FINAL]
        if deadline_before is not None:
            conditions.append("deadline < ?")
            params.append(to_db(deadline_before))
        if escalated:
            conditions.append("escalated_at IS NOT NULL")
        if colour is not None:
            conditions.append("colour = ?")
            params.append(colour)
        if district is not None:
            conditions.append("district = ?")
            params.append(district)
        return await _cases(
            self.sql,
            "SELECT * FROM cases WHERE " + " AND ".join(conditions) + " ORDER BY created_at, id",
            tuple(params),
        )

    async def search(
        self,
        departments: Collection[str] | None,
        terms: Sequence[tuple[str, Sequence[str]]],
        limit: int,
    ) -> tuple[int, list[Case]]:
        """Cases of the departments (None: the whole city) where every term is in the number,
        the address or the description, or names the district (a term and the districts whose
        names hold it); how many there are, and the first ``limit`` of them: open ones first,
        newest first. The reporter's name and phone are never searched."""
        params: dict[str, Any] = {"limit": limit}
        where = "1 = 1" + _scope(departments, params)
        for index, (text, districts) in enumerate(terms):
            params[f"t{index}"] = "%" + _like(text) + "%"
            fields = [
                f"{column} LIKE :t{index} ESCAPE '\\'"
                for column in ("number", "address", "description")
            ]
            if districts:
                marks = []
                for each, code in enumerate(districts):
                    params[f"t{index}d{each}"] = code
                    marks.append(f":t{index}d{each}")
                fields.append(f"district IN ({', '.join(marks)})")
            where += " AND (" + " OR ".join(fields) + ")"
        total = int(await self.sql.fetch_value(f"SELECT COUNT(*) FROM cases WHERE {where}", params))
        if total == 0:
            return 0, []
        for index, status in enumerate(_FINAL):
            params[f"f{index}"] = status
        final = ", ".join(f":f{index}" for index in range(len(_FINAL)))
        rows = await self.sql.fetch_all(
            f"SELECT * FROM cases WHERE {where}"
            f" ORDER BY status IN ({final}), created_at DESC, id DESC LIMIT :limit",
            params,
        )
        return total, [Case.model_validate(dict(r)) for r in rows]

    async def open_for_enterprise(self, enterprise_id: int) -> list[Case]:
        rows = await self.sql.fetch_all(
            "SELECT * FROM cases WHERE enterprise_id = ?"
            " AND status IN ('assigned', 'fix_submitted')"
            " ORDER BY deadline, id",
            (enterprise_id,),
        )
        return [Case.model_validate(dict(r)) for r in rows]

    async def enterprise_counts(self, enterprise_id: int, now: dt.datetime) -> tuple[int, int, int]:
        """(open, overdue, closed) cases of an enterprise, for the officer choosing it."""
        row = await self.sql.fetch_one(
            f"SELECT {_count_if(_WORKING)}, {_count_if(_WORKING + ' AND deadline < ?')},"
            f" {_count_if(_CLOSED)} FROM cases WHERE enterprise_id = ?",
            (to_db(now), enterprise_id),
        )
        assert row is not None
        return int(row[0] or 0), int(row[1] or 0), int(row[2] or 0)

    async def cases_with_photos_like(
        self, case_id: int, hashes: Sequence[int], bits: int
    ) -> list[str]:
        """The numbers of other cases with a photo within ``bits`` of any of ``hashes`` (a
        fix photo taken from another case), in number order. On PostgreSQL the database
        compares; SQLite, local and without a popcount, hands the hashes over."""
        if not hashes:
            return []
        joined = (
            " FROM case_photos cp JOIN cases c ON c.id = cp.case_id"
            " JOIN photos p ON p.sha256 = cp.sha256 WHERE cp.case_id != ?"
        )
        if self.sql.dialect == POSTGRESQL:  # every case photo of a city's years, compared there
            near = " OR ".join(
                "bit_count(CAST(p.phash # CAST(? AS BIGINT) AS BIT(64))) <= ?" for _ in hashes
            )
            params: list[Any] = [case_id]
            for value in hashes:
                params += [to_signed(value), bits]
            rows = await self.sql.fetch_all(
                f"SELECT DISTINCT c.number{joined} AND ({near}) ORDER BY c.number", params
            )
            return [str(r[0]) for r in rows]
        rows = await self.sql.fetch_all(f"SELECT c.number, p.phash{joined}", (case_id,))
        return sorted(
            {
                str(row[0])
                for row in rows
                if any((to_unsigned(row[1]) ^ h).bit_count() <= bits for h in hashes)
            }
        )

    async def mark_escalated(self, case_id: int, now: dt.datetime) -> bool:
        """Put a case under supervision once; False when it already was."""
        changed = await self.sql.execute(
            "UPDATE cases SET escalated_at = ? WHERE id = ? AND escalated_at IS NULL",
            (to_db(now), case_id),
        )
        return changed == 1

    async def photo_count(self, case_id: int, kind: str) -> int:
        value = await self.sql.fetch_value(
            "SELECT COUNT(*) FROM case_photos WHERE case_id = ? AND kind = ?", (case_id, kind)
        )
        return int(value)

    # The weekly digest ------------------------------------------------------------------------

    async def week_counts(
        self, start: dt.datetime, end: dt.datetime, now: dt.datetime
    ) -> list[WeekCounts]:
        """Per department: cases new, accepted, closed and escalated in [start, end), and
        overdue at ``now``. Departments with nothing at all are left out."""
        rows = await self.sql.fetch_all(
            "SELECT department,"
            f" {_count_if('created_at >= :start AND created_at < :end')} AS new,"
            f" {_count_if('accepted_at >= :start AND accepted_at < :end')} AS accepted,"
            f" {_count_if(_CLOSED + ' AND closed_at >= :start AND closed_at < :end')} AS closed,"
            f" {_count_if(_OPEN + ' AND deadline < :now')} AS overdue,"
            f" {_count_if('escalated_at >= :start AND escalated_at < :end')} AS escalated"
            " FROM cases GROUP BY department ORDER BY department",
            {"start": to_db(start), "end": to_db(end), "now": to_db(now)},
        )
        counts = [
            WeekCounts(
                department=r["department"],
                new=int(r["new"] or 0),
                accepted=int(r["accepted"] or 0),
                closed=int(r["closed"] or 0),
                overdue=int(r["overdue"] or 0),
                escalated=int(r["escalated"] or 0),
            )
            for r in rows
        ]
        return [c for c in counts if not c.quiet]


def _like(text: str) -> str:
    """``text`` matched as itself by LIKE … ESCAPE '\\' (its % and _ are no wildcards)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _db_value(value: object) -> object:
    if isinstance(value, dt.datetime):
        return to_db(value)
    if isinstance(value, bool):
        return int(value)
    if hasattr(value, "value") and not isinstance(value, int | float | str):
        return value.value  # enums
    return value


async def _cases(sql: Runner, query: str, params: tuple[object, ...] = ()) -> list[Case]:
    return [Case.model_validate(dict(r)) for r in await sql.fetch_all(query, params)]


class CaseQueries:
    """Queries of the reminder sweep."""

    def __init__(self, sql: Runner) -> None:
        self.sql = sql

    async def due_for_check(self, status: str, now: dt.datetime) -> list[Case]:
        """Cases in ``status`` whose next reminder rung (or first look) is due."""
        return await _cases(
            self.sql,
            "SELECT * FROM cases WHERE status = ? AND next_check_at <= ?",
            (status, to_db(now)),
        )

    async def next_check(self, after: dt.datetime) -> dt.datetime | None:
        """The earliest check of a case planned later than ``after``; cases the sweep need
        never look at again (their next check is 9999-12-31) are left out."""
        value = await self.sql.fetch_value(
            "SELECT MIN(next_check_at) FROM cases WHERE next_check_at > ? AND next_check_at < ?",
            (to_db(after), "9999"),
        )
        return from_db(value) if value else None

    async def waiting_acceptance(
        self, routed_before: dt.datetime, department: str | None = None
    ) -> list[Case]:
        """Reports nobody accepted that reached their department before ``routed_before`` (of
        one department, or all), oldest first."""
        sql = "SELECT * FROM cases WHERE status = 'submitted' AND routed_at <= ?"
        params: tuple[object, ...] = (to_db(routed_before),)
        if department is not None:
            sql += " AND department = ?"
            params += (department,)
        return await _cases(self.sql, sql + " ORDER BY routed_at, id", params)

    async def set_next_checks(self, checks: list[tuple[int, int, str]]) -> None:
        """(case id, version seen, next check as stored text): only if the case is unchanged."""
        await self.sql.execute_many(
            "UPDATE cases SET next_check_at = ? WHERE id = ? AND version = ?",
            [(when, case_id, version) for case_id, version, when in checks],
        )


class WeekCounts(BaseModel):
    """One department's figures for the weekly digest."""

    model_config = ConfigDict(frozen=True)

    department: str
    new: int = 0
    accepted: int = 0
    closed: int = 0
    overdue: int = 0
    escalated: int = 0

    @property
    def quiet(self) -> bool:
        return not (self.new or self.accepted or self.closed or self.overdue or self.escalated)
