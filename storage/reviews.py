"""Reviews (复核): a reporter's one request per case, and a supervisor's decision on it."""

from __future__ import annotations

import datetime as dt

from bot.vocabulary.models import Review, ReviewDecision, ReviewGround
from storage._sql import Runner, to_db


class ReviewRepo:
    def __init__(self, sql: Runner) -> None:
        self.sql = sql

    async def add(
        self,
        case_id: int,
        requested_by: int,
        ground: ReviewGround,
        reason: str,
        now: dt.datetime,
    ) -> int | None:
        """Record the request; None when the case has one already (one statement: a case is
        reviewed once, however many ask at the same moment)."""
        review_id = await self.sql.execute(
            "INSERT INTO reviews (case_id, requested_by, ground, reason, requested_at)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (case_id) DO NOTHING",
            (case_id, requested_by, ground.value, reason, to_db(now)),
        )
        return review_id or None

    async def get(self, review_id: int) -> Review | None:
        row = await self.sql.fetch_one("SELECT * FROM reviews WHERE id = ?", (review_id,))
        return None if row is None else Review.model_validate(dict(row))

    async def for_case(self, case_id: int) -> Review | None:
        row = await self.sql.fetch_one("SELECT * FROM reviews WHERE case_id = ?", (case_id,))
        return None if row is None else Review.model_validate(dict(row))

    async def decide(
        self, review_id: int, decision: ReviewDecision, by: int, now: dt.datetime
    ) -> bool:
        """Decide a waiting review; False when it was decided already (the write is the check)."""
        changed = await self.sql.execute(
            "UPDATE reviews SET decision = ?, decided_by = ?, decided_at = ?"
            " WHERE id = ? AND decision IS NULL",
            (decision.value, by, to_db(now), review_id),
        )
        return changed == 1
