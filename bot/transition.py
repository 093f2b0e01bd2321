"""The transition engine: one action applied to a case as a compare-and-set, with its event and
its notifications, in one transaction (all or nothing).

The action modules (bot/triage.py, bot/rectification.py, bot/verification.py) say what each
action checks, changes and announces; the engine says how any of them is applied.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from bot.accounts import Account
from bot.errors import CaseMoved, NotAllowed, NotThisStep
from bot.labels import STATUS_LABELS
from bot.notify import Notifier
from bot.partner_events import tell_partners
from bot.services import Services
from bot.vocabulary.lifecycle import Action, Status, next_status
from bot.vocabulary.models import Case
from storage.db import Session


@dataclass
class Change:
    """What a transition does besides its status: columns, note, and who is told what."""

    values: dict[str, Any]
    note: str | None = None
    announce: Callable[[Notifier, Case, int], Awaitable[None]] | None = None


Authorize = Callable[[Account, Case], bool]


async def transition(
    services: Services,
    actor: Account,
    case_id: int,
    version: int | None,
    action: Action,
    authorize: Authorize,
    change: Callable[[Session, Case], Awaitable[Change]],
) -> Case:
    """Apply one action to a case, or raise a ShaoziError saying why it was not applied."""
    now = services.clock.now()
    async with services.db.transaction() as tx:
        case = await tx.cases.get(case_id)
        if case is None or not authorize(actor, case):
            # Someone without a right to the case learns nothing about it, not even its state.
            raise NotAllowed()
        if version is not None and case.version != version:
            raise CaseMoved(case)
        target = next_status(action, case.status)
        if target is None:
            raise NotThisStep(status=STATUS_LABELS[case.status])
        planned = await change(tx, case)
        values: dict[str, Any] = {"status": target, **planned.values}
        if target is not Status.ASSIGNED and case.extension_until is not None:
            # A request for more time lives only while the fix is awaited: once the fix is in
            # (or the case moves elsewhere) its Grant button must not move a newer deadline.
            values.update(extension_until=None, extension_reason=None)
        if not await tx.cases.update(case.id, case.version, now, values):
            # Changed since it was read (by another process): the write is the check.
            raise CaseMoved(await tx.cases.get(case.id) or case)
        event_id = await tx.cases.add_event(
            case.id, now, actor.id, action.value, case.status.value, target.value, planned.note
        )
        updated = await tx.cases.get(case.id)
        assert updated is not None
        if planned.announce is not None:
            await planned.announce(Notifier(tx, services, now), updated, event_id)
        if target is not case.status:
            await tell_partners(services, tx, updated, event_id, now)
    return updated
