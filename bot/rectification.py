"""Rectification: the enterprise (or the department handling it itself) fixes the hazard by the
deadline. A major hazard's enterprise first sends interim control measures (临时管控措施) and its
plan (治理方案), the plan before the fix (bot/plans.py); more time can be asked for,
and granted or refused by the officers; the fix goes to the officers with its photos checked."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from bot import notices
from bot.accounts import Account
from bot.cards import cards, telegram_len
from bot.errors import (
    CaseMovedOn,
    ExtensionPending,
    ExtensionTooShort,
    InputMistake,
    NotAllowed,
    NotThisStep,
)
from bot.i18n import N_
from bot.labels import STATUS_LABELS
from bot.notify import Notifier
from bot.permissions import is_case_enterprise, is_case_officer
from bot.photos import hamming
from bot.plans import (
    MeasuresSent,
    PlanSent,
    check_fix_allowed,
    needs_measures,
    needs_plan,
)
from bot.reasons import MAX_REASON, check_reason
from bot.reports import MIN_DESCRIPTION, check_plan, clean_text
from bot.services import Services
from bot.transition import Change, transition
from bot.vocabulary.lifecycle import Action, Status
from bot.vocabulary.models import Case
from storage.db import Session

# Fix photos this close to a hazard photo (in bits of the 64-bit hash) are flagged.
FIX_MATCH_BITS = 6
# Interim control measures (counted as Telegram counts): what is done to keep the place safe.
MAX_MEASURES = 800


async def submit_plan(services: Services, actor: Account, case_id: int, plan: str) -> Case:
    """The enterprise's rectification plan (治理方案) for a major hazard, to the officers."""
    return await _major_step(services, actor, case_id, "plan", check_plan(plan))


async def submit_measures(services: Services, actor: Account, case_id: int, text: str) -> Case:
    """The enterprise's interim control measures (临时管控措施) for a major hazard, to the
    officers."""
    return await _major_step(services, actor, case_id, "measures", check_measures(text))


class MeasuresTooShort(InputMistake):
    message = N_(
        "Please describe the interim control measures in at least {minimum} characters: what "
        "is done now to keep people safe until the hazard is fixed."
    )


class MeasuresTooLong(InputMistake):
    message = N_("That is {length} characters; the limit is {maximum}. Please shorten it.")


def check_measures(text: str) -> str:
    """Interim control measures as typed: at least as long as a description, short enough to
    sit in the case's card beside a plan."""
    text = clean_text(text)
    if len(text) < MIN_DESCRIPTION:
        raise MeasuresTooShort(minimum=MIN_DESCRIPTION)
    length = telegram_len(text)
    if length > MAX_MEASURES:
        raise MeasuresTooLong(length=length, maximum=MAX_MEASURES)
    return text


async def _major_step(
    services: Services, actor: Account, case_id: int, step: Literal["plan", "measures"], text: str
) -> Case:
    """Store what a major hazard's enterprise sent (the column and the event are named
    ``step``), once, and show it to the officers."""
    needs, already = (needs_plan, PlanSent) if step == "plan" else (needs_measures, MeasuresSent)
    now = services.clock.now()
    async with services.db.transaction() as tx:
        case = await tx.cases.get(case_id)
        if case is None or not is_case_enterprise(actor, case):
            raise NotAllowed()
        if case.status is not Status.ASSIGNED or not needs(case):
            raise NotThisStep(status=STATUS_LABELS[case.status])
        if getattr(case, step):  # another contact of the enterprise was first
            raise already(number=case.number)
        if not await tx.cases.update(case.id, case.version, now, {step: text}):
            raise CaseMovedOn(status=STATUS_LABELS[case.status])
        event = await tx.cases.add_event(case.id, now, actor.id, step, note=text)
        updated = await tx.cases.get(case.id)
        assert updated is not None
        name = await enterprise_name(tx, updated)
        sent = notices.plan_sent if step == "plan" else notices.measures_sent
        render = sent(services, updated, name)
        await Notifier(tx, services, now).officers(updated, f"ev:{event}", render)
    return updated


async def enterprise_name(tx: Session, case: Case) -> str | None:
    """The name of the enterprise ordered to fix the case, for the officers' cards."""
    if case.enterprise_id is None:
        return None
    company = await tx.enterprises.get(case.enterprise_id)
    return company.name if company is not None else None


async def request_extension(
    services: Services, actor: Account, case_id: int, until: dt.datetime, reason: str
) -> Case:
    note = check_reason(reason)

    async def change(tx: Session, case: Case) -> Change:
        if case.extension_until is not None:  # one request at a time: a second would replace it
            date = cards(services).date(case.extension_until)
            raise ExtensionPending(number=case.number, date=date)
        if case.deadline is not None and until <= case.deadline:
            raise ExtensionTooShort(date=cards(services).date(case.deadline))

        late = case.deadline is not None and services.clock.now() > case.deadline
        name = await enterprise_name(tx, case)

        async def announce(n: Notifier, updated: Case, event: int) -> None:
            render = notices.extension_requested(services, updated, name, late=late)
            await n.officers(updated, f"ev:{event}", render)

        return Change(
            {"extension_until": until, "extension_reason": note}, note=note, announce=announce
        )

    return await transition(
        services, actor, case_id, None, Action.REQUEST_EXTENSION, is_case_enterprise, change
    )


async def decide_extension(
    services: Services, actor: Account, case_id: int, version: int, grant: bool
) -> Case:
    action = Action.GRANT_EXTENSION if grant else Action.REFUSE_EXTENSION

    async def change(tx: Session, case: Case) -> Change:
        if case.extension_until is None:
            raise NotThisStep(status=STATUS_LABELS[case.status])
        values: dict[str, Any] = {"extension_until": None, "extension_reason": None}
        if grant:
            values["deadline"] = case.extension_until
            values["deadline_set_at"] = services.clock.now()
        date = cards(services).date(case.extension_until if grant else case.deadline)

        async def announce(n: Notifier, updated: Case, event: int) -> None:
            decided = notices.extension_decided(updated, grant, date)
            await n.enterprise(updated, f"ev:{event}", decided)
            if grant:
                extended = notices.deadline_extended(updated, date)
                await n.participants(updated, f"ev:{event}", extended)

        return Change(values, note=date, announce=announce)

    return await transition(services, actor, case_id, version, action, is_case_officer, change)


async def submit_fix(
    services: Services,
    actor: Account,
    case_id: int,
    photos: list[str],
    note: str,
) -> Case:
    """The enterprise (or the department handling it itself) says it is fixed."""
    now = services.clock.now()
    text = check_reason(note, MAX_REASON)

    def may(account: Account, case: Case) -> bool:
        if case.handled_by_department:
            return is_case_officer(account, case)
        return is_case_enterprise(account, case)

    async def change(tx: Session, case: Case) -> Change:
        check_fix_allowed(case)
        for position, sha in enumerate(photos, start=await tx.cases.photo_count(case.id, "fix")):
            await tx.cases.add_photo(case.id, "fix", position, sha, actor.id, now)
        flag = await fix_photo_flag(tx, case, photos)
        name = await enterprise_name(tx, case)

        async def announce(n: Notifier, updated: Case, event: int) -> None:
            render = notices.fix_submitted(services, updated, photos, name)
            await n.officers(updated, f"ev:{event}", render)
            await n.participants(updated, f"ev:{event}", notices.fix_in_review(updated))

        values = {"fix_submitted_at": now, "fix_note": text, "fix_flag": flag, "reopened": False}
        return Change(values, note=text, announce=announce)

    return await transition(services, actor, case_id, None, Action.SUBMIT_FIX, may, change)


async def fix_photo_flag(tx: Session, case: Case, photos: list[str]) -> str | None:
    """Say which fix photos look like the hazard photo itself or like another case's photo."""
    fix = [p.phash for p in await tx.photos.many(photos)]
    if not fix:
        return None
    own = [p.phash for p in await tx.photos.many(await tx.cases.photo_hashes(case.id))]
    problems = []
    if any(hamming(a, b) <= FIX_MATCH_BITS for a in fix for b in own):
        problems.append("same-as-report")
    reused = await tx.cases.cases_with_photos_like(case.id, fix, FIX_MATCH_BITS)
    if reused:
        problems.append("reused:" + ",".join(reused[:3]))
    return ";".join(problems) or None
