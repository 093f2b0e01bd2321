"""Partners of the Open311 API (#17): their keys, and the queries the API answers (requests by
filter, status changes in a window). Their reporters' contacts are in the identity store
(storage/reporters.py)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from bot.vocabulary.models import ApiKey, Case, CaseUpdate
from storage._sql import Row, Runner, to_db


def _key(row: Row) -> ApiKey:
    return ApiKey.model_validate(dict(row))


class PartnerRepo:
    def __init__(self, sql: Runner) -> None:
        self.sql = sql

    # Keys -------------------------------------------------------------------------------

    async def add_key(
        self,
        name: str,
        key_hash: str,
        user_id: int,
        now: dt.datetime,
        *,
        key_salt: str,
        webhook_url: str | None = None,
        all_cases: bool = False,
    ) -> int:
        """A new partner and the account its reports are filed as: an account nobody can
        message (blocked), so no chat message is ever queued for it."""
        stamp = to_db(now)
        await self.sql.execute(
            "INSERT INTO users (id, created_at, last_seen_at, blocked_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (id) DO NOTHING",
            (user_id, stamp, stamp, stamp),
        )
        return await self.sql.execute(
            "INSERT INTO api_keys (name, key_hash, key_salt, webhook_url, all_cases,"
            " user_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (name, key_hash, key_salt, webhook_url, int(all_cases), user_id, stamp),
        )

    async def next_user_id(self, base: int) -> int:
        """An account id for a new partner, above ``base`` (outside Telegram's ids)."""
        last = await self.sql.fetch_value(
            "SELECT MAX(user_id) FROM api_keys WHERE user_id > ?", (base,)
        )
        return int(last or base) + 1

    async def by_hash(self, key_hash: str) -> ApiKey | None:
        """The partner holding this key, unless it was revoked."""
        row = await self.sql.fetch_one(
            "SELECT * FROM api_keys WHERE key_hash = ? AND revoked_at IS NULL", (key_hash,)
        )
        return None if row is None else _key(row)

    async def by_name(self, name: str) -> ApiKey | None:
        row = await self.sql.fetch_one("SELECT * FROM api_keys WHERE name = ?", (name,))
        return None if row is None else _key(row)

    async def get(self, key_id: int) -> ApiKey | None:
        row = await self.sql.fetch_one("SELECT * FROM api_keys WHERE id = ?", (key_id,))
        return None if row is None else _key(row)

    async def every(self) -> list[ApiKey]:
        rows = await self.sql.fetch_all("SELECT * FROM api_keys ORDER BY name")
        return [_key(r) for r in rows]

    async def revoke(self, name: str, now: dt.datetime) -> bool:
        """Revoke a key (its secret is forgotten); False when there is no such live key."""
        changed = await self.sql.execute(
            "UPDATE api_keys SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL",
            (to_db(now), name),
        )
        return changed > 0

    async def renew(self, name: str, key_hash: str, key_salt: str) -> bool:
        """Give a partner a new key (live again); False when there is no such partner."""
        changed = await self.sql.execute(
            "UPDATE api_keys SET key_hash = ?, key_salt = ?, revoked_at = NULL WHERE name = ?",
            (key_hash, key_salt, name),
        )
        return changed > 0

    async def webhook_targets(self, case_id: int, channel: str) -> list[ApiKey]:
        """Live partners with a webhook that hear of a case: the partner it came from
        (``channel``), partners who joined it with a report of the same hazard, and those who
        asked for every case."""
        rows = await self.sql.fetch_all(
            "SELECT * FROM api_keys WHERE revoked_at IS NULL AND webhook_url IS NOT NULL"
            " AND (name = ? OR all_cases = 1 OR user_id IN"
            "      (SELECT user_id FROM case_followers WHERE case_id = ?)) ORDER BY id",
            (channel, case_id),
        )
        return [_key(r) for r in rows]

    # What the API answers ---------------------------------------------------------------

    async def requests(
        self,
        *,
        numbers: Sequence[str] = (),
        categories: Sequence[str] = (),
        statuses: Sequence[str] = (),
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        limit: int,
        offset: int = 0,
    ) -> list[Case]:
        """Cases matching every filter given, the newest first."""
        where: list[str] = []
        params: list[object] = []
        for column, values in (
            ("number", numbers),
            ("category", categories),
            ("status", statuses),
        ):
            if values:
                where.append(f"{column} IN ({', '.join('?' * len(values))})")
                params.extend(values)
        if since is not None:
            where.append("created_at >= ?")
            params.append(to_db(since))
        if until is not None:
            where.append("created_at <= ?")
            params.append(to_db(until))
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        rows = await self.sql.fetch_all(
            f"SELECT * FROM cases {clause} ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?",
            (*params, limit, offset),
        )
        return [Case.model_validate(dict(r)) for r in rows]

    async def updates(
        self, since: dt.datetime, until: dt.datetime, limit: int, offset: int = 0
    ) -> list[CaseUpdate]:
        """The status changes of cases in a window, in the order they happened."""
        rows = await self.sql.fetch_all(
            "SELECT e.id AS event_id, e.case_id, c.number, e.at, e.kind, e.to_status, c.channel"
            " FROM case_events e JOIN cases c ON c.id = e.case_id"
            " WHERE e.to_status IS NOT NULL AND e.at >= ? AND e.at <= ?"
            " ORDER BY e.at, e.id LIMIT ? OFFSET ?",
            (to_db(since), to_db(until), limit, offset),
        )
        return [CaseUpdate.model_validate(dict(r)) for r in rows]

    async def is_api_photo(self, sha256: str) -> bool:
        """Whether a stored photo is a report photo of a case a partner sent."""
        found = await self.sql.fetch_value(
            "SELECT 1 FROM case_photos p JOIN cases c ON c.id = p.case_id"
            " WHERE p.sha256 = ? AND p.kind = 'report' AND c.channel != 'telegram' LIMIT 1",
            (sha256,),
        )
        return found is not None
