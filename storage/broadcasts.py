"""Broadcasts: an admin's warning to subscribers, from draft to delivery report.

A broadcast is a draft until its author confirms it (``sent_at``); then one outbox row per
subscriber carries its id, and the rows' statuses make its delivery report.
"""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict

from storage._sql import Runner, to_db


class Broadcast(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int
    created_by: int
    text: str
    photo: str | None
    district: str | None  # None: every subscriber
    created_at: dt.datetime
    sent_at: dt.datetime | None
    total: int
    reported_at: dt.datetime | None


class DeliveryCounts(BaseModel):
    """How a broadcast's outbox rows ended, by status."""

    model_config = ConfigDict(frozen=True)

    pending: int = 0
    sent: int = 0
    failed: int = 0
    dropped: int = 0  # the chat blocked the bot or is gone

    @property
    def total(self) -> int:
        return self.pending + self.sent + self.failed + self.dropped


class BroadcastRepo:
    def __init__(self, sql: Runner) -> None:
        self.sql = sql

    async def create(
        self, created_by: int, text: str, photo: str | None, now: dt.datetime
    ) -> Broadcast:
        """A draft: not sent until confirmed."""
        new_id = await self.sql.execute(
            "INSERT INTO broadcasts (created_by, text, photo, created_at) VALUES (?, ?, ?, ?)",
            (created_by, text, photo, to_db(now)),
        )
        broadcast = await self.get(new_id)
        assert broadcast is not None
        return broadcast

    async def get(self, broadcast_id: int) -> Broadcast | None:
        row = await self.sql.fetch_one("SELECT * FROM broadcasts WHERE id = ?", (broadcast_id,))
        return None if row is None else Broadcast.model_validate(dict(row))

    async def confirm(
        self, broadcast_id: int, district: str | None, total: int, now: dt.datetime
    ) -> bool:
        """Mark a draft sent to this audience; False when it was confirmed before (a replay)."""
        changed = await self.sql.execute(
            "UPDATE broadcasts SET sent_at = ?, district = ?, total = ?"
            " WHERE id = ? AND sent_at IS NULL",
            (to_db(now), district, total, broadcast_id),
        )
        return changed == 1

    async def delete_draft(self, broadcast_id: int) -> bool:
        """Drop a draft nobody confirmed; False when it is gone or was sent."""
        changed = await self.sql.execute(
            "DELETE FROM broadcasts WHERE id = ? AND sent_at IS NULL", (broadcast_id,)
        )
        return changed == 1

    async def unreported(self) -> list[Broadcast]:
        """Confirmed broadcasts whose author has not had the delivery report yet."""
        rows = await self.sql.fetch_all(
            "SELECT * FROM broadcasts WHERE sent_at IS NOT NULL AND reported_at IS NULL ORDER BY id"
        )
        return [Broadcast.model_validate(dict(r)) for r in rows]

    async def mark_reported(self, broadcast_id: int, now: dt.datetime) -> bool:
        changed = await self.sql.execute(
            "UPDATE broadcasts SET reported_at = ? WHERE id = ? AND reported_at IS NULL",
            (to_db(now), broadcast_id),
        )
        return changed == 1

    async def delivery(self, broadcast_id: int) -> DeliveryCounts:
        rows = await self.sql.fetch_all(
            "SELECT status, COUNT(*) FROM outbox WHERE broadcast_id = ? GROUP BY status",
            (broadcast_id,),
        )
        counts = {r[0]: int(r[1]) for r in rows}
        return DeliveryCounts(
            pending=counts.get("pending", 0),
            sent=counts.get("sent", 0),
            failed=counts.get("failed", 0),
            dropped=counts.get("dropped", 0),
        )

    async def any_queued(self, key_prefix: str) -> bool:
        """Whether an outbox row's key starts with ``key_prefix`` (a mass sending happened).

        A range on the unique key index, so it is cheap however large the outbox is.
        """
        value = await self.sql.fetch_value(
            "SELECT 1 FROM outbox WHERE dedupe_key >= ? AND dedupe_key < ? LIMIT 1",
            (key_prefix, key_prefix + "\U0010ffff"),
        )
        return value is not None
