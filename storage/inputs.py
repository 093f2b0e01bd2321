"""Typed input a user owes the bot: a reason, a question, a date, fix photos …

A user owes at most one input per party they act as (reporter, enterprise contact, officer …);
a new input of a party replaces the old one in one statement (``INSERT OR REPLACE`` on the
unique (user, party)), and takes a new, higher id: the newest input has the highest id.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from bot.vocabulary.models import PendingInput
from storage._sql import Row, Runner, to_db


def _input(row: Row | None) -> PendingInput | None:
    if row is None:
        return None
    values = dict(row)
    values["data"] = json.loads(values["data"])
    return PendingInput.model_validate(values)


class PendingInputRepo:
    def __init__(self, sql: Runner) -> None:
        self.sql = sql

    async def newest(self, user_id: int) -> PendingInput | None:
        """The input asked for last."""
        return _input(
            await self.sql.fetch_one(
                "SELECT * FROM pending_inputs WHERE user_id = ? ORDER BY id DESC LIMIT 1",
                (user_id,),
            )
        )

    async def of_kind(self, user_id: int, kind: str) -> PendingInput | None:
        return _input(
            await self.sql.fetch_one(
                "SELECT * FROM pending_inputs WHERE user_id = ? AND kind = ?", (user_id, kind)
            )
        )

    async def asked_by(self, user_id: int, prompt_id: int) -> PendingInput | None:
        """The input the bot's message ``prompt_id`` asked the user for, if it still waits."""
        return _input(
            await self.sql.fetch_one(
                "SELECT * FROM pending_inputs WHERE user_id = ? AND prompt_id = ?",
                (user_id, prompt_id),
            )
        )

    async def put(
        self,
        user_id: int,
        party: str,
        kind: str,
        case_id: int | None,
        version: int | None,
        data: dict[str, Any],
        now: dt.datetime,
    ) -> None:
        """Ask the user for an input, replacing the party's input asked before. The same input
        asked again (more fix photos) keeps the message that first asked for it."""
        await self.sql.execute(
            "INSERT OR REPLACE INTO pending_inputs"
            " (user_id, party, kind, case_id, version, data, created_at, prompt_id)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, (SELECT prompt_id FROM pending_inputs"
            "  WHERE user_id = ? AND kind = ? AND case_id IS ?))",
            (
                user_id,
                party,
                kind,
                case_id,
                version,
                json.dumps(data, ensure_ascii=False),
                to_db(now),
                user_id,
                kind,
                case_id,
            ),
        )

    async def put_new(
        self, user_id: int, party: str, kind: str, case_id: int | None, now: dt.datetime
    ) -> bool:
        """Ask the user for an input, replacing the party's input asked before, unless it is
        this very one (same kind, same case); False then. One statement: the check is the
        write."""
        changed = await self.sql.execute(
            "INSERT OR REPLACE INTO pending_inputs"
            " (user_id, party, kind, case_id, version, data, created_at)"
            " SELECT ?, ?, ?, ?, NULL, '{}', ? WHERE NOT EXISTS (SELECT 1 FROM pending_inputs"
            "  WHERE user_id = ? AND kind = ? AND case_id IS ?)",
            (user_id, party, kind, case_id, to_db(now), user_id, kind, case_id),
        )
        return changed > 0

    async def set_prompt(self, user_id: int, kind: str, prompt_id: int) -> bool:
        """Remember the bot's message that asked for the input of this kind."""
        changed = await self.sql.execute(
            "UPDATE pending_inputs SET prompt_id = ? WHERE user_id = ? AND kind = ?",
            (prompt_id, user_id, kind),
        )
        return changed > 0

    async def remove(self, input_id: int) -> bool:
        return await self.sql.execute("DELETE FROM pending_inputs WHERE id = ?", (input_id,)) > 0

    async def remove_kind(self, user_id: int, kind: str) -> bool:
        changed = await self.sql.execute(
            "DELETE FROM pending_inputs WHERE user_id = ? AND kind = ?", (user_id, kind)
        )
        return changed > 0

    async def clear(self, user_id: int) -> bool:
        """The user owes nothing any more; False when they owed nothing."""
        changed = await self.sql.execute("DELETE FROM pending_inputs WHERE user_id = ?", (user_id,))
        return changed > 0
