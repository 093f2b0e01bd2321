"""Asking once more before what ends a case and its reward: a rejection, a closing, a report
found not genuine (不属实). A reason the officer typed is held until they say yes."""

from __future__ import annotations

from bot.accounts import Account
from bot.errors import NotAllowed
from bot.pending import expect, owed
from bot.reasons import check_reason
from bot.services import Services

REJECT_CONFIRM = "reject_confirm"


async def hold_reason(
    services: Services, actor: Account, case_id: int, version: int | None, reason: str
) -> str:
    """Keep the typed reason for rejecting the case until the officer confirms it (checked as
    the rejection will check it); return it as it will be kept."""
    kept = check_reason(reason)
    await expect(
        services,
        actor.id,
        REJECT_CONFIRM,
        case_id=case_id,
        version=version,
        data={"reason": kept},
    )
    return kept


async def held_reason(services: Services, actor: Account, case_id: int) -> str:
    """The reason held for rejecting this case; refused when the officer is not confirming a
    rejection of it."""
    pending = await owed(services, actor.id)
    if pending is None or pending.kind != REJECT_CONFIRM or pending.case_id != case_id:
        raise NotAllowed()
    return str(pending.data["reason"])
