"""Verification: the officers check the fix and close the case (销号), asking the reporter once
whether the hazard is really gone, or return it with a new deadline; the reporter who says it
is not fixed sends it back to the officers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable

from bot import notices, orders
from bot.accounts import Account
from bot.cards import cards
from bot.errors import AlreadyVerified, NotThisStep, ShaoziError
from bot.i18n import N_
from bot.notify import Notifier
from bot.permissions import is_case_officer
from bot.reasons import check_reason
from bot.services import Services
from bot.transition import Change, transition
from bot.vocabulary.lifecycle import Action
from bot.vocabulary.models import Case
from storage.db import Session

# Runs inside a closing's transaction, after the case is closed: (notifier, closed case, event).
CloseHook = Callable[[Notifier, Case, int], Awaitable[None]]


async def close(
    services: Services,
    actor: Account,
    case_id: int,
    version: int,
    *,
    genuine: bool = True,
    also: CloseHook | None = None,
) -> Case:
    """Verify the fix and close the case (销号); ``also`` adds to the same transaction (the
    reward outcome, bot/rewards.py), so a closing and what it records are all or nothing.

    A report found not genuine (不属实, ``genuine`` False) is not "fixed": its reporter is
    neither asked whether the hazard is gone nor thanked for a fix; ``also`` tells them."""
    now = services.clock.now()

    async def change(tx: Session, case: Case) -> Change:
        # The reporter is asked once; closing again after "not fixed" just tells them.
        ask = not case.verify_asked and not case.self_reported and genuine

        async def announce(n: Notifier, updated: Case, event: int) -> None:
            closed = notices.closed(updated)
            await n.enterprise(updated, f"ev:{event}", closed)
            reporter = await n.tx.reporters.account(updated.id)
            if reporter is None or updated.self_reported or not genuine:
                pass
            elif ask:
                question = notices.closed_question(updated)
                await n.user(reporter, f"ev:{event}", question, quiet=True)
            else:
                await n.user(reporter, f"ev:{event}", closed, quiet=True)
            if not updated.self_reported:
                for follower in await n.tx.cases.followers(updated.id):
                    await n.user(follower, f"ev:{event}", closed, quiet=True)
            if also is not None:
                await also(n, updated, event)

        asked = case.verify_asked or ask
        return Change({"closed_at": now, "verify_asked": asked}, announce=announce)

    return await transition(
        services, actor, case_id, version, Action.CLOSE, is_case_officer, change
    )


async def return_fix(
    services: Services,
    actor: Account,
    case_id: int,
    version: int,
    reason: str,
    deadline: dt.datetime,
) -> Case:
    note = check_reason(reason)

    async def change(tx: Session, case: Case) -> Change:
        async def announce(n: Notifier, updated: Case, event: int) -> None:
            date = cards(services).date(deadline)
            photos = await orders.order_photos(n.tx, updated)
            order = notices.returned_order(services, updated, photos, note, date)
            await n.enterprise(updated, f"ev:{event}", order)
            await n.participants(updated, f"ev:{event}", notices.fix_returned(updated, date))

        now = services.clock.now()
        values = {"deadline": deadline, "deadline_set_at": now, "fix_flag": None, "reopened": False}
        return Change(values, note=note, announce=announce)

    return await transition(
        services, actor, case_id, version, Action.RETURN, is_case_officer, change
    )


class ReopenLapsed(ShaoziError):
    message = N_(
        "Case {number} was closed on {date}; it is too late to send it back. If the hazard is "
        "there again, report it with /report."
    )


def check_reopenable(services: Services, case: Case) -> None:
    """The reporter may say "not fixed" for the city's ``reopen_days`` after closing."""
    days = dt.timedelta(days=services.city.limits.reopen_days)
    if case.closed_at is not None and services.clock.now() > case.closed_at + days:
        raise ReopenLapsed(number=case.number, date=cards(services).date(case.closed_at))


async def reopen(
    services: Services, actor: Account, case_id: int, note: str | None, photo: str | None
) -> Case:
    """The reporter says it is not fixed: back to the officers' queue, flagged."""
    now = services.clock.now()
    text = check_reason(note) if note else None

    reporter = await services.db.read.reporters.account(case_id)  # never changes

    def may(account: Account, case: Case) -> bool:
        return reporter is not None and account.id == reporter

    async def change(tx: Session, case: Case) -> Change:
        check_reopenable(services, case)
        if photo is not None:
            position = await tx.cases.photo_count(case.id, "reopen")
            await tx.cases.add_photo(case.id, "reopen", position, photo, actor.id, now)

        async def announce(n: Notifier, updated: Case, event: int) -> None:
            reopened = notices.reopened(services, updated, photo, text)
            await n.officers(updated, f"ev:{event}", reopened)

        values = {"reopened": True, "reviewed": False, "closed_at": None}
        return Change(values, note=text, announce=announce)

    try:
        return await transition(services, actor, case_id, None, Action.REOPEN, may, change)
    except NotThisStep:
        # No longer closed: they sent it back already (pressed twice), or the officers moved on.
        raise AlreadyVerified() from None
