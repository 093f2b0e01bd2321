"""Typed input a user owes the bot: a reason, a question, a date, fix photos …"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from bot.vocabulary.models import PendingInput
from storage._sql import Runner, to_db


class PendingInputRepo:
    def __init__(self, sql: Runner) -> None:
        self.sql = sql

    async def get(self, user_id: int) -> PendingInput | None:
        row = await self.sql.fetch_one("SELECT * FROM pending_inputs WHERE user_id = ?", (user_id,))
        if row is None:
            return None
        values = dict(row)
        values["data"] = json.loads(values["data"])
        return PendingInput.model_validate(values)

    async def put(
        self,
        user_id: int,
        kind: str,
        case_id: int | None,
        version: int | None,
        data: dict[str, Any],
        now: dt.datetime,
    ) -> None:
        """Ask the user for an input, replacing whatever was asked before."""
        await self.sql.execute(
            "INSERT OR REPLACE INTO pending_inputs (user_id, kind, case_id, version, data,"
            " created_at) VALUES (?, ?, ?, ?, ?, ?)",
            (user_id, kind, case_id, version, json.dumps(data, ensure_ascii=False), to_db(now)),
        )

    async def put_new(self, user_id: int, kind: str, case_id: int | None, now: dt.datetime) -> bool:
        """Ask the user for an input, replacing whatever was asked before, unless it is this
        very one (same kind, same case); False then. One statement: the check is the write."""
        asked = await self.sql.fetch_value(
            "INSERT INTO pending_inputs (user_id, kind, case_id, version, data, created_at)"
            " VALUES (?, ?, ?, NULL, '{}', ?) ON CONFLICT (user_id) DO UPDATE SET"
            " kind = excluded.kind, case_id = excluded.case_id, version = NULL, data = '{}',"
            " created_at = excluded.created_at"
            " WHERE NOT (pending_inputs.kind = excluded.kind"
            "            AND pending_inputs.case_id IS excluded.case_id)"
            " RETURNING user_id",
            (user_id, kind, case_id, to_db(now)),
        )
        return asked is not None

    async def clear(self, user_id: int) -> bool:
        return (
            await self.sql.execute("DELETE FROM pending_inputs WHERE user_id = ?", (user_id,)) > 0
        )
