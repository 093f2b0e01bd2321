"""One-time invite codes that bind a user to a staff role."""

from __future__ import annotations

import datetime as dt

from bot.vocabulary.models import Invite
from storage._sql import Runner, to_db


class InviteRepo:
    def __init__(self, sql: Runner) -> None:
        self.sql = sql

    async def create(
        self,
        code_hash: str,
        role: str,
        department: str | None,
        enterprise_id: int | None,
        created_by: int | None,
        now: dt.datetime,
        expires_at: dt.datetime,
    ) -> int:
        return await self.sql.execute(
            "INSERT INTO invites (code_hash, role, department, enterprise_id, created_by,"
            " created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (code_hash, role, department, enterprise_id, created_by, to_db(now), to_db(expires_at)),
        )

    async def by_hash(self, code_hash: str) -> Invite | None:
        row = await self.sql.fetch_one("SELECT * FROM invites WHERE code_hash = ?", (code_hash,))
        return None if row is None else Invite.model_validate(dict(row))

    async def mark_used(self, invite_id: int, user_id: int, now: dt.datetime) -> bool:
        """Use the invite; False when someone used it first."""
        changed = await self.sql.execute(
            "UPDATE invites SET used_by = ?, used_at = ? WHERE id = ? AND used_by IS NULL",
            (user_id, to_db(now), invite_id),
        )
        return changed == 1
