"""What several workers on one database share: leases, conversation claims, the send budget.

Every change here is one compare-and-set statement: a worker takes or renews a lease only if
it is free, expired or its own, and spends the send budget only while some is left. The
statements are portable (SQLite >= 3.24 and PostgreSQL both take ``ON CONFLICT … DO UPDATE …
WHERE``); nothing here needs a dialect branch.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from storage._sql import POSTGRESQL, Runner, to_db


class LeaseRepo:
    """Named leases (the leader) and the claims on conversations."""

    def __init__(self, sql: Runner) -> None:
        self.sql = sql

    async def hold(self, name: str, holder: str, now: dt.datetime, until: dt.datetime) -> bool:
        """Take the lease, or renew it, until ``until``; False while another holds it."""
        changed = await self.sql.changes(
            "INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?)"
            " ON CONFLICT (name) DO UPDATE SET holder = excluded.holder,"
            " expires_at = excluded.expires_at"
            " WHERE leases.holder = excluded.holder OR leases.expires_at <= ?",
            (name, holder, to_db(until), to_db(now)),
        )
        return changed > 0

    async def give_up(self, name: str, holder: str) -> None:
        """Let the lease go at once (a clean stop), if it is still this holder's."""
        await self.sql.execute("DELETE FROM leases WHERE name = ? AND holder = ?", (name, holder))

    async def holder(self, name: str, now: dt.datetime) -> str | None:
        """Who holds the lease now; None when nobody does."""
        value = await self.sql.fetch_value(
            "SELECT holder FROM leases WHERE name = ? AND expires_at > ?", (name, to_db(now))
        )
        return None if value is None else str(value)

    async def claim(
        self, conversation: str, holder: str, now: dt.datetime, until: dt.datetime
    ) -> bool:
        """Claim a conversation (or keep it) until ``until``; False while another worker
        holds it."""
        changed = await self.sql.changes(
            "INSERT INTO conversation_claims (conversation, holder, expires_at) VALUES (?, ?, ?)"
            " ON CONFLICT (conversation) DO UPDATE SET holder = excluded.holder,"
            " expires_at = excluded.expires_at"
            " WHERE conversation_claims.holder = excluded.holder"
            " OR conversation_claims.expires_at <= ?",
            (conversation, holder, to_db(until), to_db(now)),
        )
        return changed > 0

    async def release(self, conversation: str, holder: str) -> None:
        """Let an idle conversation go, if this worker still holds it."""
        await self.sql.execute(
            "DELETE FROM conversation_claims WHERE conversation = ? AND holder = ?",
            (conversation, holder),
        )

    async def release_all(self, holder: str) -> int:
        """Let go of every conversation this worker's name holds (a new process under that
        name holds none of them yet)."""
        return await self.sql.execute("DELETE FROM conversation_claims WHERE holder = ?", (holder,))

    async def renew_claims(self, holder: str, until: dt.datetime) -> int:
        """Keep every conversation this worker holds until ``until``; return how many."""
        return await self.sql.execute(
            "UPDATE conversation_claims SET expires_at = ? WHERE holder = ?",
            (to_db(until), holder),
        )

    async def forget_claims(self, expired_before: dt.datetime) -> int:
        """Delete the claims of workers that died with them."""
        return await self.sql.execute(
            "DELETE FROM conversation_claims WHERE expires_at < ?", (to_db(expired_before),)
        )


class SendBudgetRepo:
    """What was sent in each scope's current period, bot-wide."""

    def __init__(self, sql: Runner) -> None:
        self.sql = sql

    async def take(self, scope: str, period: dt.datetime, count: int, limit: int) -> bool:
        """Spend ``count`` messages of the scope's period (a later period starts afresh);
        False when the period has fewer than that left, or a pause runs past it. A first
        spend of a period always goes (a row of more messages than the limit must go some
        time)."""
        changed = await self.sql.changes(
            "INSERT INTO send_budget (scope, period, spent) VALUES (?, ?, ?)"
            " ON CONFLICT (scope) DO UPDATE SET period = excluded.period,"
            " spent = CASE WHEN send_budget.period = excluded.period"
            " THEN send_budget.spent + excluded.spent ELSE excluded.spent END"
            " WHERE send_budget.period < excluded.period"
            " OR (send_budget.period = excluded.period"
            " AND send_budget.spent + excluded.spent <= ?)",
            (scope, to_db(period), count, limit),
        )
        return changed > 0

    async def take_up_to(self, scope: str, period: dt.datetime, count: int, limit: int) -> int:
        """Spend as many of ``count`` messages as the scope's period has left (a batch of
        rows, of which the first ``granted`` may go); return how many. At most ``limit`` at
        once, unless ``count`` alone is a first spend of a period (see ``take``)."""
        wanted = min(count, limit) or count
        if await self.take(scope, period, wanted, limit):
            return wanted
        spent = await self.sql.fetch_value(
            "SELECT spent FROM send_budget WHERE scope = ? AND period = ?", (scope, to_db(period))
        )
        left = limit - int(spent) if spent is not None else 0
        if 0 < left < wanted and await self.take(scope, period, left, limit):
            return left
        return 0

    async def take_each(
        self, scopes: Sequence[tuple[str, int]], period: dt.datetime, limit: int
    ) -> set[str]:
        """``take`` for many scopes at once, each (scope, count) a scope of its own (one
        statement on PostgreSQL); return the scopes whose spend went."""
        if not scopes:
            return set()
        if self.sql.dialect != POSTGRESQL:  # a local file: one statement each costs nothing
            return {s for s, count in scopes if await self.take(s, period, count, limit)}
        rows = await self.sql.fetch_all(
            "INSERT INTO send_budget (scope, period, spent)"
            " SELECT s, ?, c FROM unnest(CAST(? AS TEXT[]), CAST(? AS INTEGER[])) AS t(s, c)"
            " ON CONFLICT (scope) DO UPDATE SET period = excluded.period,"
            " spent = CASE WHEN send_budget.period = excluded.period"
            " THEN send_budget.spent + excluded.spent ELSE excluded.spent END"
            " WHERE send_budget.period < excluded.period"
            " OR (send_budget.period = excluded.period"
            " AND send_budget.spent + excluded.spent <= ?) RETURNING scope",
            (to_db(period), [s for s, _ in scopes], [c for _, c in scopes], limit),
        )
        return {str(row[0]) for row in rows}

    async def pause(self, scope: str, until: dt.datetime, limit: int) -> None:
        """Spend the scope's whole budget up to ``until`` (Telegram said to wait): nothing is
        taken before the period after it, by any worker."""
        await self.sql.execute(
            "INSERT INTO send_budget (scope, period, spent) VALUES (?, ?, ?)"
            " ON CONFLICT (scope) DO UPDATE SET period = excluded.period,"
            " spent = excluded.spent WHERE send_budget.period < excluded.period",
            (scope, to_db(until), limit),
        )

    async def forget(self, before: dt.datetime) -> int:
        """Delete the periods that ended before ``before``."""
        return await self.sql.execute("DELETE FROM send_budget WHERE period < ?", (to_db(before),))
