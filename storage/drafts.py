"""Report drafts: written before the bot answers each step, so a crash loses nothing."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from bot.vocabulary.models import Draft
from storage._sql import POSTGRESQL, Runner, to_db


class DraftRepo:
    def __init__(self, sql: Runner) -> None:
        self.sql = sql

    async def get(self, user_id: int) -> Draft | None:
        row = await self.sql.fetch_one("SELECT * FROM drafts WHERE user_id = ?", (user_id,))
        if row is None:
            return None
        values = dict(row)
        values["data"] = json.loads(values["data"])
        return Draft.model_validate(values)

    async def start(
        self, user_id: int, key: str, step: str, data: dict[str, Any], now: dt.datetime
    ) -> None:
        """Begin a new draft, replacing any earlier one of the user."""
        await self.sql.execute(
            "INSERT OR REPLACE INTO drafts (user_id, key, step, data, last_message_id,"
            " created_at, updated_at) VALUES (?, ?, ?, ?, 0, ?, ?)",
            (user_id, key, step, json.dumps(data, ensure_ascii=False), to_db(now), to_db(now)),
        )

    async def save(
        self,
        user_id: int,
        key: str,
        step: str,
        data: dict[str, Any],
        last_message_id: int,
        now: dt.datetime,
    ) -> bool:
        """Store the draft's new state; False when that draft is gone (submitted, cancelled)."""
        greatest = "GREATEST" if self.sql.dialect == POSTGRESQL else "MAX"  # of two values
        changed = await self.sql.execute(
            "UPDATE drafts SET step = ?, data = ?,"
            f" last_message_id = {greatest}(last_message_id, ?), updated_at = ?"
            " WHERE user_id = ? AND key = ?",
            (step, json.dumps(data, ensure_ascii=False), last_message_id, to_db(now), user_id, key),
        )
        return changed == 1

    async def delete(self, user_id: int, key: str | None = None) -> bool:
        if key is None:
            return await self.sql.execute("DELETE FROM drafts WHERE user_id = ?", (user_id,)) > 0
        changed = await self.sql.execute(
            "DELETE FROM drafts WHERE user_id = ? AND key = ?", (user_id, key)
        )
        return changed > 0

    async def delete_untouched_since(self, before: dt.datetime) -> int:
        return await self.sql.execute("DELETE FROM drafts WHERE updated_at < ?", (to_db(before),))
