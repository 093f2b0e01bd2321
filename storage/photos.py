"""Stored photos, content-addressed by the sha256 of their stripped JPEG."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from bot.vocabulary.models import Photo
from storage._sql import Runner, to_db

_SIGN = 1 << 63


def to_signed(value: int) -> int:
    """SQLite integers are signed 64-bit; a hash with the top bit set is stored negative."""
    return value - (1 << 64) if value >= _SIGN else value


def to_unsigned(value: int) -> int:
    return value + (1 << 64) if value < 0 else value


class PhotoRepo:
    def __init__(self, sql: Runner) -> None:
        self.sql = sql

    async def add(self, photo: Photo, now: dt.datetime) -> None:
        await self.sql.execute(
            "INSERT OR IGNORE INTO photos (sha256, thumb_sha256, phash, width, height, size,"
            " created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                photo.sha256,
                photo.thumb_sha256,
                to_signed(photo.phash),
                photo.width,
                photo.height,
                photo.size,
                to_db(now),
            ),
        )

    async def get(self, sha256: str) -> Photo | None:
        row = await self.sql.fetch_one("SELECT * FROM photos WHERE sha256 = ?", (sha256,))
        if row is None:
            return None
        values = dict(row)
        values["phash"] = to_unsigned(values["phash"])
        return Photo.model_validate(values)

    async def many(self, hashes: list[str]) -> list[Photo]:
        found = [await self.get(h) for h in hashes]
        return [p for p in found if p is not None]

    async def file_ids(self, hashes: Iterable[str]) -> dict[str, str]:
        """Telegram's file ids of those of these photos already uploaded."""
        found = {}
        for sha in set(hashes):
            value = await self.sql.fetch_value(
                "SELECT file_id FROM photos WHERE sha256 = ?", (sha,)
            )
            if value:
                found[sha] = str(value)
        return found

    async def set_file_ids(self, file_ids: dict[str, str | None]) -> None:
        """Remember (or, with None, forget) the file ids Telegram gave these photos."""
        await self.sql.execute_many(
            "UPDATE photos SET file_id = ? WHERE sha256 = ?",
            [(file_id, sha) for sha, file_id in file_ids.items()],
        )
