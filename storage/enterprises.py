"""Enterprises whose safety officers receive rectification orders."""

from __future__ import annotations

import datetime as dt

from bot.vocabulary.models import Enterprise
from storage._sql import Runner, to_db


class EnterpriseRepo:
    def __init__(self, sql: Runner) -> None:
        self.sql = sql

    async def get(self, enterprise_id: int) -> Enterprise | None:
        row = await self.sql.fetch_one("SELECT * FROM enterprises WHERE id = ?", (enterprise_id,))
        return None if row is None else Enterprise.model_validate(dict(row))

    async def add(
        self,
        name: str,
        credit_code: str | None,
        district: str | None,
        address: str | None,
        now: dt.datetime,
    ) -> int:
        return await self.sql.execute(
            "INSERT INTO enterprises (name, credit_code, district, address, created_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (name, credit_code, district, address, to_db(now)),
        )

    async def by_credit_code(self, code: str) -> Enterprise | None:
        row = await self.sql.fetch_one("SELECT * FROM enterprises WHERE credit_code = ?", (code,))
        return None if row is None else Enterprise.model_validate(dict(row))

    async def search(self, text: str, limit: int = 8) -> list[Enterprise]:
        """By credit code (exact or prefix) or by a part of the name."""
        needle = text.strip()
        escaped = needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        rows = await self.sql.fetch_all(
            "SELECT * FROM enterprises WHERE credit_code LIKE ? ESCAPE '\\'"
            " OR name LIKE ? ESCAPE '\\' ORDER BY (credit_code = ?) DESC, length(name), name"
            " LIMIT ?",
            (escaped.upper() + "%", "%" + escaped + "%", needle.upper(), limit),
        )
        return [Enterprise.model_validate(dict(r)) for r in rows]

    async def upsert(
        self,
        name: str,
        credit_code: str,
        district: str | None,
        address: str | None,
        now: dt.datetime,
    ) -> bool:
        """Insert, or update the one with this credit code; True when it was new."""
        existing = await self.by_credit_code(credit_code)
        if existing is None:
            await self.add(name, credit_code, district, address, now)
            return True
        await self.sql.execute(
            "UPDATE enterprises SET name = ?, district = ?, address = ? WHERE id = ?",
            (name, district, address, existing.id),
        )
        return False

    async def update(
        self,
        enterprise_id: int,
        name: str,
        credit_code: str,
        district: str | None,
        address: str | None,
    ) -> bool:
        changed = await self.sql.execute(
            "UPDATE enterprises SET name = ?, credit_code = ?, district = ?, address = ?"
            " WHERE id = ?",
            (name, credit_code, district, address, enterprise_id),
        )
        return changed == 1

    async def count(self) -> int:
        return int(await self.sql.fetch_value("SELECT COUNT(*) FROM enterprises"))

    async def first_by_name(self, limit: int) -> list[Enterprise]:
        rows = await self.sql.fetch_all(
            "SELECT * FROM enterprises ORDER BY name, id LIMIT ?", (limit,)
        )
        return [Enterprise.model_validate(dict(r)) for r in rows]
