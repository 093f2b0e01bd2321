"""The inbox: every update as it arrived, until it is handled (and its id a while longer)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from bot.vocabulary.models import ReceivedUpdate
from storage._sql import Runner, to_db


class InboxRepo:
    def __init__(self, sql: Runner) -> None:
        self.sql = sql

    async def add(
        self, update_id: int, payload: str, now: dt.datetime, conversation: str | None = None
    ) -> bool:
        """Keep a received update; False when it is here already (a replay), handled or not."""
        added = await self.sql.execute(
            "INSERT INTO inbox (update_id, payload, received_at, conversation) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (update_id) DO NOTHING",
            (update_id, payload, to_db(now), conversation),
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

    async def waiting_in(self, conversation: str) -> list[ReceivedUpdate]:
        """One conversation's updates received and not handled, in Telegram's order (update ids
        increase): two workers given a conversation's updates at once may commit them in
        either order (PostgreSQL hands out ``seq`` as inserts reach it, not as they commit)."""
        rows = await self.sql.fetch_all(
            "SELECT update_id, payload FROM inbox WHERE conversation = ? AND handled_at IS NULL"
            " ORDER BY update_id",
            (conversation,),
        )
        return [ReceivedUpdate.model_validate(dict(row)) for row in rows]

    async def has_waiting(self, conversation: str) -> bool:
        return (
            await self.sql.fetch_value(
                "SELECT 1 FROM inbox WHERE conversation = ? AND handled_at IS NULL LIMIT 1",
                (conversation,),
            )
            is not None
        )

    async def unclaimed(self, holder: str, now: dt.datetime, limit: int = 1000) -> list[str]:
        """The conversations with updates waiting that no other worker holds now (nobody
        claimed them, their worker died, or they are this worker's own from before a
        restart)."""
        rows = await self.sql.fetch_all(
            "SELECT DISTINCT i.conversation FROM inbox i WHERE i.handled_at IS NULL"
            " AND i.conversation IS NOT NULL AND NOT EXISTS (SELECT 1 FROM conversation_claims c"
            " WHERE c.conversation = i.conversation AND c.expires_at > ? AND c.holder != ?)"
            " LIMIT ?",
            (to_db(now), holder, limit),
        )
        return [str(row[0]) for row in rows]

    async def prune(self, handled_before: dt.datetime) -> int:
        """Delete the updates handled before this moment; return how many."""
        return await self.sql.execute(
            "DELETE FROM inbox WHERE handled_at < ?", (to_db(handled_before),)
        )
