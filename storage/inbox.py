"""The inbox: every update as it arrived, until it is handled (and its id a while longer)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from bot.vocabulary.models import ReceivedUpdate
from storage._sql import Runner, to_db


class InboxRepo:
    def __init__(self, sql: Runner) -> None:
        self.sql = sql

    async def add(self, update_id: int, payload: str, now: dt.datetime) -> bool:
        """Keep a received update; False when it is here already (a replay), handled or not."""
        added = await self.sql.execute(
            "INSERT INTO inbox (update_id, payload, received_at) VALUES (?, ?, ?)"
            " ON CONFLICT (update_id) DO NOTHING",
            (update_id, payload, to_db(now)),
        )
        return added > 0

    async def mark_handled(self, update_ids: Sequence[int], now: dt.datetime) -> None:
        """Record that these updates were handled, and forget what they said."""
        stamp = to_db(now)
        await self.sql.execute_many(
            "UPDATE inbox SET handled_at = ?, payload = NULL"
            " WHERE update_id = ? AND handled_at IS NULL",
            ((stamp, update_id) for update_id in update_ids),
        )

    async def waiting(self) -> list[ReceivedUpdate]:
        """The updates received and not handled, in the order they arrived."""
        rows = await self.sql.fetch_all(
            "SELECT update_id, payload FROM inbox WHERE handled_at IS NULL ORDER BY seq"
        )
        return [ReceivedUpdate.model_validate(dict(row)) for row in rows]

    async def prune(self, handled_before: dt.datetime) -> int:
        """Delete the updates handled before this moment; return how many."""
        return await self.sql.execute(
            "DELETE FROM inbox WHERE handled_at < ?", (to_db(handled_before),)
        )
