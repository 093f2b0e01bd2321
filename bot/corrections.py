"""Correcting a mistake: the order passed to another enterprise, the deadline changed, the
category changed (routing follows). Each is an officer's, with a reason kept in the case's
history, and applied as one compare-and-set transition (bot/transition.py).

A new deadline restarts the reminder ladder by itself: a rung's key holds the deadline
(bot/reminders.py), and the reminders meant for before it was set do not apply.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from bot import notices, orders
from bot.accounts import Account
from bot.cards import cards
from bot.errors import InputMistake, NotAllowed, ShaoziError
from bot.i18n import N_
from bot.notify import Notifier
from bot.permissions import is_case_officer
from bot.reasons import check_reason
from bot.services import Services
from bot.transition import Change, transition
from bot.vocabulary.lifecycle import Action
from bot.vocabulary.models import Case
from storage.db import Session


class NoOrder(ShaoziError):
    message = N_("Case {number} is fixed by the department itself: it has no order to pass on.")


class SameEnterprise(ShaoziError):
    message = N_("Case {number} is already ordered to {enterprise}.")


class SameDeadline(InputMistake):
    message = N_("The deadline is {date} already: give another date.")


class SameCategory(ShaoziError):
    message = N_("Case {number} is in this category already.")


async def reassign(
    services: Services,
    actor: Account,
    case_id: int,
    version: int,
    enterprise_id: int,
    reason: str,
) -> Case:
    """Pass the order to another enterprise: the one it is taken from is told it is withdrawn,
    the new one gets the order, with the deadline as it stands. What the first enterprise had
    sent for it (a request for more time, a plan) was its own and goes with it."""
    note = check_reason(reason)

    async def change(tx: Session, case: Case) -> Change:
        if case.enterprise_id is None:
            raise NoOrder(number=case.number)
        before = await tx.enterprises.get(case.enterprise_id)
        after = await tx.enterprises.get(enterprise_id)
        if after is None:
            raise NotAllowed()
        if after.id == case.enterprise_id:
            raise SameEnterprise(number=case.number, enterprise=after.name)

        async def announce(n: Notifier, updated: Case, event: int) -> None:
            # Keyed apart: one person may be a contact of both enterprises.
            await n.enterprise(case, f"ev:{event}:withdrawn", notices.order_withdrawn(case))
            # The order as first issued: its wording and only the photos the officer chose.
            photos = await orders.order_photos(n.tx, updated)
            order = notices.rectification_order(services, updated, photos)
            await n.enterprise(updated, f"ev:{event}", order)

        values: dict[str, Any] = {
            "enterprise_id": after.id,
            "extension_until": None,
            "extension_reason": None,
            "plan": None,
        }
        was = before.name if before is not None else "—"
        return Change(values, note=f"{was} → {after.name}: {note}", announce=announce)

    return await transition(
        services, actor, case_id, version, Action.REASSIGN, is_case_officer, change
    )


async def change_deadline(
    services: Services,
    actor: Account,
    case_id: int,
    version: int,
    deadline: dt.datetime,
    reason: str,
) -> Case:
    """Set another deadline: whoever must fix it is told (the enterprise; the department doing
    it itself knows), and a request for more time still waiting is answered by it."""
    note = check_reason(reason)
    show = cards(services)

    async def change(tx: Session, case: Case) -> Change:
        date = show.date(deadline)
        if show.date(case.deadline) == date:
            raise SameDeadline(date=date)

        async def announce(n: Notifier, updated: Case, event: int) -> None:
            await n.enterprise(updated, f"ev:{event}", notices.deadline_changed(updated, date))

        values: dict[str, Any] = {
            "deadline": deadline,
            "deadline_set_at": services.clock.now(),
            "extension_until": None,
            "extension_reason": None,
        }
        was = show.date(case.deadline)
        return Change(values, note=f"{was} → {date}: {note}", announce=announce)

    return await transition(
        services, actor, case_id, version, Action.CHANGE_DEADLINE, is_case_officer, change
    )


async def change_category(
    services: Services,
    actor: Account,
    case_id: int,
    version: int,
    category: str,
    reason: str,
) -> Case:
    """File the case under another category. The city's routing follows: when the category
    belongs to another department (in the case's district), the case goes there, as a transfer
    would take it. The reporter and those following the case are told."""
    note = check_reason(reason)
    if services.city.category(category) is None:
        raise NotAllowed()

    async def change(tx: Session, case: Case) -> Change:
        if case.category == category:
            raise SameCategory(number=case.number)
        department = services.city.route(category, case.district)
        moved = department != case.department
        values: dict[str, Any] = {"category": category}
        if moved:
            values.update(department=department, routed_at=services.clock.now())

        async def announce(n: Notifier, updated: Case, event: int) -> None:
            if moved:
                photos = await n.tx.cases.photo_hashes(updated.id)
                passed = notices.transferred_in(services, updated, photos, case.department, note)
                await n.officers(updated, f"ev:{event}", passed)
            told = notices.category_changed(services, updated, moved=moved)
            await n.participants(updated, f"ev:{event}", told)

        return Change(values, note=note, announce=announce)

    return await transition(
        services, actor, case_id, version, Action.CHANGE_CATEGORY, is_case_officer, change
    )
