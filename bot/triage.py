"""Triage: a new case reaches its department's officers, who accept it (with its grade),
reject it, pass it to another department, merge it into a case of the same hazard, or
acknowledge a self-report; then order an enterprise to fix it, or handle it themselves."""

from __future__ import annotations

import datetime as dt
import html
from typing import Any

from bot import notices, orders, review
from bot.accounts import Account
from bot.cards import cards
from bot.dates import end_of_day
from bot.errors import MergeTargetInvalid, NotAllowed, NotThisStep
from bot.escalation import escalate
from bot.labels import STATUS_LABELS
from bot.notify import Notifier
from bot.permissions import is_case_officer
from bot.reasons import check_reason
from bot.services import Services
from bot.transition import Change, transition
from bot.visibility import ORDER, REPORT
from bot.vocabulary.grading import Colour
from bot.vocabulary.lifecycle import Action, Level, Status
from bot.vocabulary.models import Case
from storage.db import Session


async def announce_new_case(services: Services, tx: Session, case: Case, now: dt.datetime) -> int:
    """Send a newly submitted case to its department's officers; return how many."""
    photos = await tx.cases.photo_hashes(case.id)
    render = notices.new_case(services, case, photos)
    return await Notifier(tx, services, now).officers(case, f"new:{case.id}:{case.version}", render)


async def accept(
    services: Services, actor: Account, case_id: int, version: int, colour: Colour, level: Level
) -> Case:
    now = services.clock.now()

    async def change(tx: Session, case: Case) -> Change:
        async def announce(n: Notifier, updated: Case, event: int) -> None:
            await n.participants(updated, f"ev:{event}", notices.accepted(services, updated))

        return Change({"colour": colour, "level": level, "accepted_at": now}, announce=announce)

    return await transition(
        services, actor, case_id, version, Action.ACCEPT, is_case_officer, change
    )


async def reject(
    services: Services, actor: Account, case_id: int, version: int, reason: str
) -> Case:
    """``reason`` is the officer's words, or a reason code ("@code", bot/cards.REJECT_REASONS)."""
    note = reason if reason.startswith("@") else check_reason(reason)

    async def change(tx: Session, case: Case) -> Change:
        async def announce(n: Notifier, updated: Case, event: int) -> None:
            await review.offer_after_rejection(n, updated, f"ev:{event}", note)

        return Change({}, note=note, announce=announce)

    return await transition(
        services, actor, case_id, version, Action.REJECT, is_case_officer, change
    )


async def transfer(
    services: Services,
    actor: Account,
    case_id: int,
    version: int,
    department: str,
    reason: str,
) -> Case:
    note = check_reason(reason)
    if services.city.department(department) is None:
        raise NotAllowed()

    async def change(tx: Session, case: Case) -> Change:
        if department == case.department:
            raise NotAllowed()

        async def announce(n: Notifier, updated: Case, event: int) -> None:
            photos = await n.tx.cases.photo_hashes(updated.id)
            passed = notices.transferred_in(services, updated, photos, case.department, note)
            await n.officers(updated, f"ev:{event}", passed)
            await n.participants(updated, f"ev:{event}", notices.transferred(services, updated))

        values = {"department": department, "routed_at": services.clock.now()}
        return Change(values, note=note, announce=announce)

    return await transition(
        services, actor, case_id, version, Action.TRANSFER, is_case_officer, change
    )


async def merge(
    services: Services, actor: Account, case_id: int, version: int, target_number: str
) -> Case:
    number = target_number.strip().upper()

    async def change(tx: Session, case: Case) -> Change:
        target = await tx.cases.by_number(number)
        # Only into an open case this officer may see: another department's case is as unknown
        # to them as a number that does not exist (its reporter's followers would read it).
        if (
            target is None
            or target.id == case.id
            or not is_case_officer(actor, target)
            or target.status in (Status.CLOSED, Status.REJECTED, Status.MERGED)
        ):
            raise MergeTargetInvalid(number=html.escape(number))
        now = services.clock.now()
        target_reporter = await tx.reporters.account(target.id)
        for user_id in await tx.cases.participants(case.id):
            if user_id != target_reporter:
                await tx.cases.add_follower(target.id, user_id, now)

        async def announce(n: Notifier, updated: Case, event: int) -> None:
            await n.participants(updated, f"ev:{event}", notices.merged(updated, target.number))

        return Change({"merged_into": target.id}, note=target.number, announce=announce)

    return await transition(
        services, actor, case_id, version, Action.MERGE, is_case_officer, change
    )


async def acknowledge(
    services: Services, actor: Account, case_id: int, version: int, deadline: dt.datetime | None
) -> Case:
    """Accept a self-report: the proposed deadline (None) or a corrected one."""
    now = services.clock.now()

    async def change(tx: Session, case: Case) -> Change:
        if not case.self_reported or case.enterprise_id is None:
            raise NotThisStep(status=STATUS_LABELS[case.status])
        final = deadline or case.proposed_deadline or end_of_day(services, 7)
        # The enterprise's own report: its words are the order's, its photos go with it.
        report = await tx.cases.photo_hashes(case.id, REPORT)
        await tx.cases.set_photos(case.id, ORDER, report, actor.id, now)

        async def announce(n: Notifier, updated: Case, event: int) -> None:
            photos = await orders.order_photos(n.tx, updated)
            order = notices.rectification_order(services, updated, photos)
            await n.enterprise(updated, f"ev:{event}", order)

        values = {"deadline": final, "deadline_set_at": now, "assigned_at": now, "accepted_at": now}
        note = None if deadline is None else cards(services).date(deadline)
        return Change(values, note=note, announce=announce)

    return await transition(
        services, actor, case_id, version, Action.ACKNOWLEDGE, is_case_officer, change
    )


async def assign(
    services: Services,
    actor: Account,
    case_id: int,
    version: int,
    enterprise_id: int | None,
    deadline: dt.datetime,
    order: orders.Order | None = None,
) -> Case:
    """Order an enterprise to fix it by the deadline, in the department's words with the photos
    the officer chose (``order``; by default the category's first template and every photo),
    or (None) let the department do it."""
    now = services.clock.now()
    action = Action.ASSIGN if enterprise_id is not None else Action.HANDLE

    async def change(tx: Session, case: Case) -> Change:
        name = None
        issued: dict[str, Any] = {}
        if enterprise_id is not None:
            enterprise = await tx.enterprises.get(enterprise_id)
            if enterprise is None:
                raise NotAllowed()
            name = enterprise.name
            chosen = order or orders.default_order(services.city, case)
            issued = await orders.issue(tx, services, actor, case, chosen)

        async def announce(n: Notifier, updated: Case, event: int) -> None:
            date = cards(services).date(deadline)
            if enterprise_id is not None:  # the order first: what follows refers to it
                photos = await orders.order_photos(n.tx, updated)
                notice = notices.rectification_order(services, updated, photos)
                await n.enterprise(updated, f"ev:{event}", notice)
            if updated.colour is Colour.RED and services.city.reminders.escalate_red_at_assignment:
                await escalate(services, n, updated, "red")
                refreshed = await n.tx.cases.get(updated.id)
                assert refreshed is not None
                updated = refreshed
            await n.participants(updated, f"ev:{event}", notices.ordered(updated, date))

        values: dict[str, Any] = {
            "enterprise_id": enterprise_id,
            "handled_by_department": enterprise_id is None,
            "deadline": deadline,
            "deadline_set_at": now,
            "assigned_at": now,
            **issued,
        }
        return Change(values, note=name, announce=announce)

    return await transition(services, actor, case_id, version, action, is_case_officer, change)
