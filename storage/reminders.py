"""What the reminder sweep has queued per case, so it queues each rung once."""

from __future__ import annotations

import datetime as dt

from storage._sql import Runner, to_db


class ReminderRepo:
    def __init__(self, sql: Runner) -> None:
        self.sql = sql

    async def rungs(self, case_ids: list[int]) -> set[tuple[int, str]]:
        """(case id, rung) of everything already queued for these cases."""
        found: set[tuple[int, str]] = set()
        for start in range(0, len(case_ids), 500):
            chunk = case_ids[start : start + 500]
            marks = ", ".join("?" * len(chunk))
            rows = await self.sql.fetch_all(
                f"SELECT case_id, rung FROM case_reminders WHERE case_id IN ({marks})", chunk
            )
            found.update((r[0], r[1]) for r in rows)
        return found

    async def count(self) -> int:
        """How many rungs were recorded, for every case."""
        return int(await self.sql.fetch_value("SELECT COUNT(*) FROM case_reminders"))

    async def record(
        self, case_id: int, rung: str, due_at: dt.datetime, now: dt.datetime, superseded: bool
    ) -> bool:
        """Remember a rung; False when it was recorded before (a concurrent sweep)."""
        changed = await self.sql.execute(
            "INSERT OR IGNORE INTO case_reminders (case_id, rung, due_at, queued_at, superseded)"
            " VALUES (?, ?, ?, ?, ?)",
            (case_id, rung, to_db(due_at), to_db(now), int(superseded)),
        )
        return changed > 0
