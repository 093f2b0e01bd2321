"""Questions an officer asks a reporter through the bot, and their answers."""

from __future__ import annotations

import datetime as dt

from bot.vocabulary.models import Question
from storage._sql import Runner, to_db


class QuestionRepo:
    def __init__(self, sql: Runner) -> None:
        self.sql = sql

    async def add(
        self, case_id: int, asked_by: int, asked_to: int, question: str, now: dt.datetime
    ) -> int:
        return await self.sql.execute(
            "INSERT INTO questions (case_id, asked_by, asked_to, question, asked_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (case_id, asked_by, asked_to, question, to_db(now)),
        )

    async def get(self, question_id: int) -> Question | None:
        row = await self.sql.fetch_one("SELECT * FROM questions WHERE id = ?", (question_id,))
        return None if row is None else Question.model_validate(dict(row))

    async def answer(
        self,
        question_id: int,
        now: dt.datetime,
        text: str | None,
        photo: str | None,
        location: tuple[float, float] | None,
    ) -> bool:
        """Record the answer once; False when it was answered before."""
        lat, lon = location if location else (None, None)
        changed = await self.sql.execute(
            "UPDATE questions SET answered_at = ?, answer_text = ?, answer_photo = ?,"
            " answer_lat = ?, answer_lon = ? WHERE id = ? AND answered_at IS NULL",
            (to_db(now), text, photo, lat, lon, question_id),
        )
        return changed == 1
