"""Users and their roles."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict

from bot.vocabulary.models import Membership, User
from storage._sql import Runner, to_db

# How stale ``last_seen_at`` may get before an update writes it again.
TOUCH_EVERY = dt.timedelta(minutes=5)


def touch_due(user: User, telegram_language: str | None, now: dt.datetime) -> bool:
    """Whether this update must write the user's row: a new Telegram language, a user we had
    marked blocked (they are back), or ``last_seen_at`` older than TOUCH_EVERY."""
    return (
        (telegram_language is not None and telegram_language != user.telegram_language)
        or user.blocked_at is not None
        or now - user.last_seen_at >= TOUCH_EVERY
    )


class UserRepo:
    def __init__(self, sql: Runner) -> None:
        self.sql = sql

    async def get(self, user_id: int) -> User | None:
        row = await self.sql.fetch_one("SELECT * FROM users WHERE id = ?", (user_id,))
        return None if row is None else User.model_validate(dict(row))

    async def touch(self, user_id: int, telegram_language: str | None, now: dt.datetime) -> User:
        """Create the user on first contact, else record when they were last seen (one
        statement, so it can run outside a transaction)."""
        stamp = to_db(now)
        row = await self.sql.fetch_one(
            "INSERT INTO users (id, telegram_language, created_at, last_seen_at)"
            " VALUES (?, ?, ?, ?)"
            " ON CONFLICT (id) DO UPDATE SET"
            "   telegram_language = COALESCE(excluded.telegram_language, users.telegram_language),"
            "   last_seen_at = excluded.last_seen_at,"
            "   blocked_at = NULL"
            " RETURNING *",
            (user_id, telegram_language, stamp, stamp),
        )
        assert row is not None
        return User.model_validate(dict(row))

    async def add_subscribers(
        self, people: Iterable[tuple[int, str | None]], now: dt.datetime
    ) -> None:
        """Register (user id, language) of people already subscribed, in one statement: a bulk
        seed, as the broadcast benchmark's; everyone else comes in through ``touch``."""
        stamp = to_db(now)
        await self.sql.execute_many(
            "INSERT INTO users (id, language, subscribed, subscription_asked, created_at,"
            " last_seen_at) VALUES (?, ?, 1, 1, ?, ?)",
            ((user_id, language, stamp, stamp) for user_id, language in people),
        )

    async def set_language(self, user_id: int, language: str | None) -> None:
        await self.sql.execute("UPDATE users SET language = ? WHERE id = ?", (language, user_id))

    async def set_subscribed(self, user_id: int, subscribed: bool) -> None:
        await self.sql.execute(
            "UPDATE users SET subscribed = ?, subscription_asked = 1 WHERE id = ?",
            (int(subscribed), user_id),
        )

    async def memberships(self, user_id: int) -> list[Membership]:
        rows = await self.sql.fetch_all(
            "SELECT * FROM memberships WHERE user_id = ? ORDER BY id", (user_id,)
        )
        return [Membership.model_validate(dict(r)) for r in rows]

    async def add_membership(
        self,
        user_id: int,
        role: str,
        department: str | None,
        enterprise_id: int | None,
        invite_id: int | None,
        now: dt.datetime,
    ) -> bool:
        """Grant a role; False when the user already had exactly this one."""
        changed = await self.sql.execute(
            "INSERT INTO memberships (user_id, role, department, enterprise_id, invite_id,"
            " created_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (user_id, role, department, enterprise_id, invite_id, to_db(now)),
        )
        return changed > 0

    async def members(
        self, role: str, *, department: str | None = None, enterprise_id: int | None = None
    ) -> list[int]:
        """User ids holding a role (in a department, or for an enterprise), not blocked."""
        sql = (
            "SELECT DISTINCT m.user_id FROM memberships m JOIN users u ON u.id = m.user_id"
            " WHERE m.role = ? AND u.blocked_at IS NULL"
        )
        params: list[object] = [role]
        if department is not None:
            sql += " AND m.department = ?"
            params.append(department)
        if enterprise_id is not None:
            sql += " AND m.enterprise_id = ?"
            params.append(enterprise_id)
        rows = await self.sql.fetch_all(sql + " ORDER BY m.user_id", params)
        return [r[0] for r in rows]

    async def supervisors_for(self, department: str) -> list[int]:
        """City-wide supervisors and those of this department."""
        rows = await self.sql.fetch_all(
            "SELECT DISTINCT m.user_id FROM memberships m JOIN users u ON u.id = m.user_id"
            " WHERE m.role = 'supervisor' AND (m.department IS NULL OR m.department = ?)"
            " AND u.blocked_at IS NULL ORDER BY m.user_id",
            (department,),
        )
        return [r[0] for r in rows]

    async def all_memberships(self) -> list[Membership]:
        rows = await self.sql.fetch_all("SELECT * FROM memberships ORDER BY role, department, id")
        return [Membership.model_validate(dict(r)) for r in rows]

    async def membership(self, membership_id: int) -> Membership | None:
        row = await self.sql.fetch_one("SELECT * FROM memberships WHERE id = ?", (membership_id,))
        return None if row is None else Membership.model_validate(dict(row))

    async def name_member(self, user_id: int, name: str | None, username: str | None) -> None:
        """Record how a staff member goes by, on each of their roles."""
        await self.sql.execute(
            "UPDATE memberships SET name = ?, username = ? WHERE user_id = ?",
            (name, username, user_id),
        )

    async def remove_membership(self, membership_id: int) -> bool:
        return await self.sql.execute("DELETE FROM memberships WHERE id = ?", (membership_id,)) > 0

    async def mark_blocked(self, user_id: int, now: dt.datetime) -> None:
        """Nothing is sent to them until they write again (``touch`` clears the mark); their
        subscription stays as they chose it, for when they come back."""
        await self.sql.execute(
            "UPDATE users SET blocked_at = ? WHERE id = ?", (to_db(now), user_id)
        )

    async def mark_unblocked(self, user_id: int) -> None:
        """They unblocked the bot: messages go to them again, the subscription they chose with."""
        await self.sql.execute("UPDATE users SET blocked_at = NULL WHERE id = ?", (user_id,))

    # Subscriptions (awareness days, broadcasts) -----------------------------------------------

    async def mark_subscription_asked(self, user_id: int) -> None:
        """The user was shown the subscription question; it is not put to them again."""
        await self.sql.execute("UPDATE users SET subscription_asked = 1 WHERE id = ?", (user_id,))

    async def set_district(self, user_id: int, district: str | None) -> None:
        await self.sql.execute("UPDATE users SET district = ? WHERE id = ?", (district, user_id))

    async def subscribers_page(
        self,
        after: int,
        limit: int,
        *,
        district: str | None = None,
        missing_key: str | None = None,
    ) -> list[Subscriber]:
        """Subscribed users not blocked, by id after ``after``: those of one district, or all.

        With ``missing_key`` only those without an outbox row ``f"{missing_key}:{id}"`` yet, so
        a mass sending interrupted by a crash resumes where it stopped.
        """
        # "+subscribed": rows come in id order from the primary key, not from users_subscribed
        # (which would sort every subscriber for each page); one district uses that index.
        sql = "SELECT id, language, telegram_language FROM users WHERE id > ?"
        params: list[object] = [after]
        if district is None:
            sql += " AND +subscribed = 1"
        else:
            sql += " AND subscribed = 1 AND district = ?"
            params.append(district)
        sql += " AND blocked_at IS NULL"
        if missing_key is not None:
            sql += " AND NOT EXISTS (SELECT 1 FROM outbox WHERE dedupe_key = ? || ':' || users.id)"
            params.append(missing_key)
        rows = await self.sql.fetch_all(sql + " ORDER BY id LIMIT ?", [*params, limit])
        return [Subscriber.model_validate(dict(r)) for r in rows]

    async def subscriber_counts(self) -> dict[str | None, int]:
        """Subscribers not blocked, by district (None: no district chosen)."""
        rows = await self.sql.fetch_all(
            "SELECT district, COUNT(*) FROM users WHERE subscribed = 1 AND blocked_at IS NULL"
            " GROUP BY district"
        )
        return {r[0]: int(r[1]) for r in rows}

    async def first_seen(self) -> dt.datetime | None:
        """When the first user came: the deployment's first day, near enough."""
        value = await self.sql.fetch_value("SELECT MIN(created_at) FROM users")
        return None if value is None else dt.datetime.fromisoformat(value)

    async def supervisor_scopes(self) -> list[tuple[int, str | None]]:
        """(user id, department or None for the whole city) of every supervisor not blocked."""
        rows = await self.sql.fetch_all(
            "SELECT DISTINCT m.user_id, m.department FROM memberships m"
            " JOIN users u ON u.id = m.user_id"
            " WHERE m.role = 'supervisor' AND u.blocked_at IS NULL"
            " ORDER BY m.user_id, m.department"
        )
        return [(int(r[0]), r[1]) for r in rows]


class Subscriber(BaseModel):
    """What a mass sending needs of a user: who, and which language."""

    model_config = ConfigDict(frozen=True)

    id: int
    language: str | None
    telegram_language: str | None
