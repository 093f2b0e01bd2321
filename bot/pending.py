"""What a user owes the bot: the typed inputs it asked them for (a reason, a question, a date,
fix photos …). Kept in the database, so they survive restarts like report drafts do.

A user owes at most one input for each party they act as. An officer who pressed Reject and
then Transfer is typing the transfer's reason: the inputs of one party replace each other, so a
forgotten one never takes a later message. Inputs of different parties wait side by side: an
enterprise's contact who asked for more time can answer the department's question about a
report of their own in between, and the request for more time still waits for its date.

A message goes to the input that the bot's message it replies to (Telegram's Reply) asked
for, else to the newest.
"""

from __future__ import annotations

from typing import Any

from bot.services import Services
from bot.vocabulary.models import PendingInput

REPORTER = "reporter"
ENTERPRISE = "enterprise"
OFFICER = "officer"
SUPERVISOR = "supervisor"
ADMIN = "admin"

# Each kind of input, by the party that owes it. A kind left out is a party of its own.
PARTIES: dict[str, str] = {
    "answer": REPORTER,
    "not_fixed": REPORTER,
    "review_reason": REPORTER,
    "plan": ENTERPRISE,
    "measures": ENTERPRISE,
    "fix": ENTERPRISE,
    "extension_date": ENTERPRISE,
    "extension_reason": ENTERPRISE,
    "reject_reason": OFFICER,
    "transfer_reason": OFFICER,
    "merge_target": OFFICER,
    "question": OFFICER,
    "return_reason": OFFICER,
    "return_deadline": OFFICER,
    "deadline": OFFICER,
    "reward_fine": OFFICER,
    "enterprise_search": OFFICER,
    "reassign_search": OFFICER,
    "reassign_reason": OFFICER,
    "redate_date": OFFICER,
    "redate_reason": OFFICER,
    "recategorize_reason": OFFICER,
    "reject_confirm": OFFICER,
    "order_text": OFFICER,
    "order_deadline": OFFICER,
    "reward_amount": SUPERVISOR,
    "reward_change_reason": SUPERVISOR,
    "reward_refusal": SUPERVISOR,
    "broadcast": ADMIN,
}


def party_of(kind: str) -> str:
    return PARTIES.get(kind, kind)


async def expect(
    services: Services,
    user_id: int,
    kind: str,
    *,
    case_id: int | None = None,
    version: int | None = None,
    data: dict[str, Any] | None = None,
) -> None:
    """Remember that the user owes this input (replacing the one their party owed before)."""
    async with services.db.autocommit() as session:
        await session.inputs.put(
            user_id, party_of(kind), kind, case_id, version, data or {}, services.clock.now()
        )


async def expect_once(
    services: Services, user_id: int, kind: str, *, case_id: int | None = None
) -> bool:
    """Ask for this input unless the user owes it already for this case (the same button
    pressed twice); False then, and nothing changes."""
    async with services.db.autocommit() as session:
        return await session.inputs.put_new(
            user_id, party_of(kind), kind, case_id, services.clock.now()
        )


async def asked_with(services: Services, user_id: int, kind: str, prompt_id: int) -> None:
    """The bot's message ``prompt_id`` asked for the input of this kind: a reply to it is it."""
    async with services.db.autocommit() as session:
        await session.inputs.set_prompt(user_id, kind, prompt_id)


async def owed(services: Services, user_id: int, kind: str | None = None) -> PendingInput | None:
    """The input of this kind the user owes, or (no kind) the newest; None if none."""
    lookup = services.db.lookup.inputs
    if kind is None:
        return await lookup.newest(user_id)
    return await lookup.of_kind(user_id, kind)


async def addressed(
    services: Services, user_id: int, reply_to: int | None = None
) -> PendingInput | None:
    """The input a message goes to (asked on every message: inline lookups): the one asked by
    the bot's message it replies to, else the newest."""
    lookup = services.db.lookup.inputs
    if reply_to is not None:
        asked = await lookup.asked_by(user_id, reply_to)
        if asked is not None:
            return asked
    return await lookup.newest(user_id)


async def settled(services: Services, asked: PendingInput) -> bool:
    """This input is given (or given up); False when it was no longer owed."""
    async with services.db.autocommit() as session:
        return await session.inputs.remove(asked.id)


async def drop(services: Services, user_id: int, kind: str) -> bool:
    """The user no longer owes the input of this kind; False when they did not."""
    async with services.db.autocommit() as session:
        return await session.inputs.remove_kind(user_id, kind)


async def clear(services: Services, user_id: int) -> bool:
    """The user owes nothing any more; False when they owed nothing."""
    async with services.db.autocommit() as session:
        return await session.inputs.clear(user_id)
