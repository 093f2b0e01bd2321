"""What a user owes the bot: the one typed input it asked them for (a reason, a question, a
date, fix photos …). Kept in the database, so it survives restarts like report drafts do; a new
request replaces the old one."""

from __future__ import annotations

from typing import Any

from bot.services import Services
from bot.vocabulary.models import PendingInput


async def expect(
    services: Services,
    user_id: int,
    kind: str,
    *,
    case_id: int | None = None,
    version: int | None = None,
    data: dict[str, Any] | None = None,
) -> None:
    """Remember that the user's next message is this input (replacing any other)."""
    async with services.db.transaction() as tx:
        await tx.inputs.put(user_id, kind, case_id, version, data or {}, services.clock.now())


async def expect_once(
    services: Services, user_id: int, kind: str, *, case_id: int | None = None
) -> bool:
    """Ask for this input unless the user owes it already for this case (the same button
    pressed twice); False then, and nothing changes."""
    async with services.db.autocommit() as session:
        return await session.inputs.put_new(user_id, kind, case_id, services.clock.now())


async def owed(services: Services, user_id: int) -> PendingInput | None:
    """The input the user owes, if any (asked on every message: an inline lookup)."""
    return await services.db.lookup.inputs.get(user_id)


async def clear(services: Services, user_id: int) -> bool:
    """The user owes nothing any more; False when they owed nothing."""
    async with services.db.autocommit() as session:
        return await session.inputs.clear(user_id)
