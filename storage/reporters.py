"""Who reported each case, kept apart from the case (migration 0020): the account link for the
system's own uses, and the name and phone that a person sees only with a row in the audit log.

Two kinds of reads, never mixed:

- ``account`` and ``is_reporter``: the reporter's account, for the system (their own notices,
  /my, the daily limit, duplicates, reward bookkeeping). Nothing read here is shown to anyone.
- ``reveal``: the name, phone and email for a person to see. It writes the audit rows itself, in
  the caller's transaction, so there is no way to read them unaudited. Who may call it is
  bot/identity.py's to decide (and the only caller; tests/test_layout.py checks).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection

from bot.vocabulary.models import (
    IdentityPurpose,
    IdentityRead,
    NewReporter,
    ReporterContact,
)
from storage._sql import Runner, to_db


class ReporterRepo:
    def __init__(self, sql: Runner) -> None:
        self.sql = sql

    async def add(self, case_id: int, reporter: NewReporter, now: dt.datetime) -> None:
        """Record who filed the case (once, with the case, in its transaction)."""
        await self.sql.execute(
            "INSERT INTO case_reporters"
            " (case_id, channel, user_id, name, phone, email, external_id, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                case_id,
                reporter.channel,
                reporter.user_id,
                reporter.name,
                reporter.phone,
                reporter.email,
                reporter.external_id,
                to_db(now),
            ),
        )

    # The system's own uses: never shown --------------------------------------------------------

    async def account(self, case_id: int) -> int | None:
        """The reporter's account, to send them their own notices; None when they have none."""
        value = await self.sql.fetch_value(
            "SELECT user_id FROM case_reporters WHERE case_id = ?", (case_id,)
        )
        return None if value is None else int(value)

    async def is_reporter(self, case_id: int, user_id: int) -> bool:
        value = await self.sql.fetch_value(
            "SELECT 1 FROM case_reporters WHERE case_id = ? AND user_id = ?", (case_id, user_id)
        )
        return value is not None

    async def count_by_contact_since(
        self, email: str | None, phone: str | None, since: dt.datetime
    ) -> int:
        """Cases filed since ``since`` by whoever gave this email or this phone (a partner
        channel's reporter, who has no account): their daily limit. 0 when neither is given."""
        if not email and not phone:
            return 0
        value = await self.sql.fetch_value(
            "SELECT COUNT(*) FROM case_reporters"
            " WHERE created_at >= ? AND (email = ? OR phone = ?)",
            (to_db(since), email, phone),
        )
        return int(value)

    # For a person to see: audited ------------------------------------------------------------

    async def reveal(
        self,
        case_ids: Collection[int],
        reader_id: int,
        purpose: IdentityPurpose,
        now: dt.datetime,
    ) -> dict[int, ReporterContact]:
        """The contacts of these cases' reporters, by case, for ``reader_id`` to see; each case
        read gets its audit row in the same transaction (call it in one)."""
        wanted = sorted(set(case_ids))
        if not wanted:
            return {}
        marks = ", ".join("?" * len(wanted))
        rows = await self.sql.fetch_all(
            "SELECT case_id, channel, name, phone, email FROM case_reporters"
            f" WHERE case_id IN ({marks})",
            wanted,
        )
        shown = {row["case_id"]: ReporterContact.model_validate(dict(row)) for row in rows}
        await self.sql.execute_many(
            "INSERT INTO identity_reads (case_id, reader_id, purpose, at) VALUES (?, ?, ?, ?)",
            [(case_id, reader_id, purpose.value, to_db(now)) for case_id in sorted(shown)],
        )
        return shown

    # The audit log ---------------------------------------------------------------------------

    async def reads(self, case_id: int) -> list[IdentityRead]:
        """Who was shown the case's reporter, oldest first."""
        rows = await self.sql.fetch_all(
            "SELECT * FROM identity_reads WHERE case_id = ? ORDER BY id", (case_id,)
        )
        return [IdentityRead.model_validate(dict(r)) for r in rows]
