"""Department settings kept in the database: the group chat bound in chat."""

from __future__ import annotations

import datetime as dt

from storage._sql import Runner, to_db


class DepartmentRepo:
    def __init__(self, sql: Runner) -> None:
        self.sql = sql

    async def group_chat(self, department: str) -> int | None:
        value = await self.sql.fetch_value(
            "SELECT chat_id FROM department_groups WHERE department = ?", (department,)
        )
        return None if value is None else int(value)

    async def bind_group(
        self, department: str, chat_id: int, user_id: int, now: dt.datetime
    ) -> None:
        await self.sql.execute(
            "INSERT OR REPLACE INTO department_groups (department, chat_id, bound_by, bound_at)"
            " VALUES (?, ?, ?, ?)",
            (department, chat_id, user_id, to_db(now)),
        )

    async def unbind_group(self, department: str) -> bool:
        changed = await self.sql.execute(
            "DELETE FROM department_groups WHERE department = ?", (department,)
        )
        return changed > 0
