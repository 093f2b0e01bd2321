"""The outbox: notifications queued with the change that causes them, sent by a loop."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

from bot.vocabulary.models import OutboxRow
from storage._sql import POSTGRESQL, Runner, to_db

# The advisory lock that serialises outbox claims across workers on PostgreSQL ("SHZO").
OUTBOX_CLAIM_LOCK = 0x53485A4F


def _row(values: dict[str, Any]) -> OutboxRow:
    values["payload"] = json.loads(values["payload"])
    return OutboxRow.model_validate(values)


class OutboxRepo:
    def __init__(self, sql: Runner) -> None:
        self.sql = sql

    async def add(
        self,
        chat_id: int,
        payload: dict[str, Any],
        dedupe_key: str,
        now: dt.datetime,
        not_before: dt.datetime | None = None,
        *,
        broadcast_id: int | None = None,
        quiet: bool = False,
        webhook_key: int | None = None,
    ) -> bool:
        """Queue a message (or, with ``webhook_key``, a partner's webhook POST, chat_id 0);
        False when one with this key was queued before (a replay)."""
        changed = await self.sql.execute(
            "INSERT OR IGNORE INTO outbox (chat_id, payload, dedupe_key, not_before, created_at,"
            " broadcast_id, quiet, webhook_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                chat_id,
                json.dumps(payload, ensure_ascii=False),
                dedupe_key,
                to_db(not_before or now),
                to_db(now),
                broadcast_id,
                int(quiet),
                webhook_key,
            ),
        )
        return changed > 0

    async def add_many(
        self,
        messages: Sequence[tuple[int, dict[str, Any], str]],
        now: dt.datetime,
        not_before: dt.datetime,
        broadcast_id: int | None = None,
        *,
        quiet: bool = False,
    ) -> int:
        """Queue (chat id, payload, dedupe key) rows in the outbox in one statement, as
        OutboxRepo.add does one by one; a key queued before is skipped. Returns how many were
        queued. Payloads shared by many rows (one per language) are serialised once."""
        dumped: dict[int, str] = {}
        rows = []
        for chat_id, payload, key in messages:
            text = dumped.get(id(payload))
            if text is None:
                text = dumped[id(payload)] = json.dumps(payload, ensure_ascii=False)
            rows.append(
                (chat_id, text, key, to_db(not_before), to_db(now), broadcast_id, int(quiet))
            )
        return await self.sql.execute_many(
            "INSERT OR IGNORE INTO outbox (chat_id, payload, dedupe_key, not_before, created_at,"
            " broadcast_id, quiet) VALUES (?, ?, ?, ?, ?, ?, ?)",
            rows,
        )

    async def due(self, now: dt.datetime, limit: int) -> list[OutboxRow]:
        """Chat messages due now, in queue order."""
        rows = await self.sql.fetch_all(
            "SELECT * FROM outbox WHERE status = 'pending' AND not_before <= ?"
            " AND webhook_key IS NULL ORDER BY not_before, id LIMIT ?",
            (to_db(now), limit),
        )
        return [_row(dict(r)) for r in rows]

    async def due_webhooks(self, now: dt.datetime, limit: int) -> list[OutboxRow]:
        """Partners' webhook POSTs due now, in queue order; a partner's event waits while an
        earlier one of theirs waits to be retried (they arrive in the order they happened)."""
        rows = await self.sql.fetch_all(
            "SELECT * FROM outbox o WHERE o.status = 'pending' AND o.not_before <= :now"
            " AND o.webhook_key IS NOT NULL AND NOT EXISTS (SELECT 1 FROM outbox p"
            "  WHERE p.webhook_key = o.webhook_key AND p.status = 'pending' AND p.id < o.id"
            "  AND p.not_before > :now)"
            " ORDER BY o.id LIMIT :limit",
            {"now": to_db(now), "limit": limit},
        )
        return [_row(dict(r)) for r in rows]

    async def claim(
        self, holder: str, now: dt.datetime, until: dt.datetime, limit: int
    ) -> list[OutboxRow]:
        """Claim due rows for one worker until ``until`` and return them in queue order: rows
        no other worker holds now, of chats none of whose rows another worker holds (so one
        chat's rows still go one at a time, in order). A worker's own claims from before a
        restart are its again at once."""
        # SQLite runs one writer at a time. On PostgreSQL (READ COMMITTED) the chat test (NOT
        # EXISTS) alone would let two workers claim two rows of one chat at once: claims are
        # serialised by a transaction-level advisory lock (the caller's transaction; the UPDATE
        # after it takes a fresh snapshot, so it sees the claim committed before), and rows a
        # sender is marking are skipped, not waited for. The rows are picked once, in a
        # materialised CTE: as ``id IN (SELECT … LIMIT n FOR UPDATE SKIP LOCKED)`` PostgreSQL
        # may run the subquery again for the UPDATE's rows and claim far more than n.
        skip_locked = ""
        if self.sql.dialect == POSTGRESQL:
            # A constant, so that it goes with the transaction's BEGIN in one round trip.
            await self.sql.execute(f"SELECT pg_advisory_xact_lock({OUTBOX_CLAIM_LOCK:d})")
            skip_locked = " FOR UPDATE OF o SKIP LOCKED"
        rows = await self.sql.fetch_all(
            "WITH picked AS MATERIALIZED ("
            "SELECT o.id FROM outbox o WHERE o.status = 'pending' AND o.not_before <= ?"
            " AND o.webhook_key IS NULL"
            " AND (o.claimed_by IS NULL OR o.claimed_by = ? OR o.claimed_until <= ?)"
            " AND NOT EXISTS (SELECT 1 FROM outbox b WHERE b.chat_id = o.chat_id"
            " AND b.claimed_by IS NOT NULL AND b.claimed_by != ? AND b.claimed_until > ?"
            " AND b.status = 'pending')"
            f" ORDER BY o.not_before, o.id LIMIT ?{skip_locked})"
            " UPDATE outbox SET claimed_by = ?, claimed_until = ?"
            " WHERE id IN (SELECT id FROM picked)"
            # The claim itself is compare-and-set: a row claimed meanwhile is not taken over.
            " AND status = 'pending' AND (claimed_by IS NULL OR claimed_by = ?"
            " OR claimed_until <= ?) RETURNING *",
            (
                *(to_db(now), holder, to_db(now), holder, to_db(now), limit),
                *(holder, to_db(until), holder, to_db(now)),
            ),
        )
        claimed = [_row(dict(r)) for r in rows]
        claimed.sort(key=lambda row: (row.not_before, row.id))
        return claimed

    async def analyze(self) -> None:
        """Bring the query planner's figures for the outbox up to date after many rows were
        queued at once. On PostgreSQL a claim planned without them (a new outbox, or one a
        broadcast has just outgrown) sorts every pending row at every pass: with 100,000 pending,
        a claim took over half a second and three workers sent half as fast as allowed. SQLite
        plans by its indexes alone here (no ANALYZE is ever run on it): nothing to do.
        """
        if self.sql.dialect == POSTGRESQL:
            await self.sql.execute("ANALYZE outbox")

    async def release(self, holder: str) -> int:
        """Let go of the pending rows this worker claimed and did not send (held back by a
        limit, or left by a stop)."""
        return await self.sql.execute(
            "UPDATE outbox SET claimed_by = NULL, claimed_until = NULL"
            " WHERE claimed_by = ? AND status = 'pending'",
            (holder,),
        )

    async def mark_sent(self, row_id: int, now: dt.datetime, error: str | None = None) -> None:
        """Done: every part was accepted, or refused for good (``error`` says which)."""
        await self.sql.execute(
            "UPDATE outbox SET status = 'sent', sent_at = ?, attempts = attempts + 1,"
            " last_error = COALESCE(?, last_error), claimed_by = NULL, claimed_until = NULL"
            " WHERE id = ?",
            (to_db(now), error, row_id),
        )

    async def mark_many_sent(self, row_ids: Sequence[int], now: dt.datetime) -> None:
        """``mark_sent`` of several rows (none refused anything) in one statement."""
        if row_ids:
            await self.sql.execute(
                "UPDATE outbox SET status = 'sent', sent_at = ?, attempts = attempts + 1,"
                " claimed_by = NULL, claimed_until = NULL"
                f" WHERE id IN ({', '.join('?' * len(row_ids))})",
                (to_db(now), *row_ids),
            )

    async def mark_parts_sent(self, row_id: int, parts: int) -> None:
        """The first ``parts`` parts of a pending row are settled: a retry goes on after them."""
        await self.sql.execute(
            "UPDATE outbox SET parts_sent = ? WHERE id = ? AND status = 'pending'",
            (parts, row_id),
        )

    async def postpone(
        self, row_id: int, until: dt.datetime, error: str, count_attempt: bool = True
    ) -> None:
        await self.sql.execute(
            "UPDATE outbox SET not_before = ?, attempts = attempts + ?, last_error = ?,"
            " claimed_by = NULL, claimed_until = NULL WHERE id = ?",
            (to_db(until), int(count_attempt), error, row_id),
        )

    async def give_up(self, row_id: int, status: str, error: str) -> None:
        await self.sql.execute(
            "UPDATE outbox SET status = ?, attempts = attempts + 1, last_error = ?,"
            " claimed_by = NULL, claimed_until = NULL WHERE id = ?",
            (status, error, row_id),
        )

    async def drop_pending_for_chat(self, chat_id: int, error: str) -> int:
        return await self.sql.execute(
            "UPDATE outbox SET status = 'dropped', last_error = ?, claimed_by = NULL,"
            " claimed_until = NULL WHERE chat_id = ? AND status = 'pending'",
            (error, chat_id),
        )

    async def hold_quiet(self, until: dt.datetime) -> int:
        """Keep every pending quiet row back until the sending window opens."""
        return await self.sql.execute(
            "UPDATE outbox SET not_before = ? WHERE status = 'pending' AND quiet = 1"
            " AND not_before < ?",
            (to_db(until), to_db(until)),
        )

    async def forget_payloads(self, before: dt.datetime, limit: int = 2000) -> int:
        """Blank the text of finished rows queued before ``before``; keep their keys."""
        return await self.sql.execute(
            "UPDATE outbox SET payload = '{}' WHERE id IN (SELECT id FROM outbox"
            " WHERE payload != '{}' AND created_at < ? AND status != 'pending' LIMIT ?)",
            (to_db(before), limit),
        )

    async def status_counts(self) -> dict[str, int]:
        """How many rows are in each status: pending, sent, failed, dropped."""
        rows = await self.sql.fetch_all("SELECT status, COUNT(*) FROM outbox GROUP BY status")
        return {r[0]: int(r[1]) for r in rows}

    async def pending_count(self) -> int:
        return int(
            await self.sql.fetch_value("SELECT COUNT(*) FROM outbox WHERE status = 'pending'")
        )
