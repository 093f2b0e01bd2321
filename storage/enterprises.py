"""Enterprises whose safety officers receive rectification orders."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from storage.db import to_db
from storage.models import Enterprise

if TYPE_CHECKING:
    from storage.db import Session


class EnterpriseRepo:
    def __init__(self, session: Session) -> None:
        self.s = session

    async def get(self, enterprise_id: int) -> Enterprise | None:
        row = await self.s.fetch_one("SELECT * FROM enterprises WHERE id = ?", (enterprise_id,))
        return None if row is None else Enterprise.model_validate(dict(row))

    async def add(
        self,
        name: str,
        credit_code: str | None,
        district: str | None,
        address: str | None,
        now: dt.datetime,
    ) -> int:
        return await self.s.execute(
            "INSERT INTO enterprises (name, credit_code, district, address, created_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (name, credit_code, district, address, to_db(now)),
        )
