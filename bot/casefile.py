"""A case as staff open it: who may, what they see with it (its enterprise, photos, reward,
history), and whether the card a button was pressed on is still the case's current one.

Each function that takes a case id or number checks the reader first; the others take a case
such a check returned.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from bot import identity
from bot.accounts import Account
from bot.errors import CaseMoved, CaseNotFound, NotAllowed
from bot.permissions import audience_of, can_view, is_case_officer
from bot.rewards import Reward
from bot.services import Services
from bot.visibility import Audience, Field, photo_kinds, sees
from bot.vocabulary.models import Case, CaseEvent


@dataclass(frozen=True)
class StaffView:
    """What a staff card shows besides the case itself."""

    case: Case
    audience: Audience
    enterprise_name: str | None
    photo_count: int
    reward: Reward | None  # only for officers and supervisors: an enterprise never learns of it


@dataclass(frozen=True)
class CaseFile:
    view: StaffView
    events: list[CaseEvent]
    # Who was shown the reporter's identity (bot/identity.py): for its supervisors, of a
    # real-name case; None for anyone else.
    identity_reads: list[identity.Reader] | None = None


async def staff_view(services: Services, case: Case, audience: Audience) -> StaffView:
    read = services.db.read
    name = None
    if case.enterprise_id is not None:
        enterprise = await read.enterprises.get(case.enterprise_id)
        name = enterprise.name if enterprise else None
    photo_count = len(await photos(services, case, audience))
    reward = None
    if sees(audience, Field.REWARD):
        reward = await read.rewards.for_case(case.id)
    return StaffView(case, audience, name, photo_count, reward)


async def pressed(
    services: Services, actor: Account, case_id: int, version: int, *, viewing: bool
) -> Case:
    """The case of a staff button: to look at it (``viewing``) staff in its scope, for anything
    else its officers; a card made for an earlier version of the case acts no more (CaseMoved),
    though it may still be looked at."""
    case = await services.db.read.cases.get(case_id)
    allowed = can_view if viewing else is_case_officer
    if case is None or not allowed(actor, case):
        raise NotAllowed()
    if case.version != version and not viewing:
        raise CaseMoved(case)
    return case


async def officer_case(services: Services, actor: Account, case_id: int) -> Case:
    """A case the actor is an officer of."""
    case = await services.db.read.cases.get(case_id)
    if case is None or not is_case_officer(actor, case):
        raise NotAllowed()
    return case


async def changed_since(services: Services, case_id: int, version: int | None) -> bool:
    """Whether the case is no longer at ``version``: when the bot asked an officer for input
    on the case at that version, a refusal of it now means someone else acted first."""
    case = await services.db.read.cases.get(case_id)
    return case is not None and version is not None and case.version != version


async def case_file(services: Services, actor: Account, number: str) -> CaseFile:
    """A case by its number, with its whole history, for staff whose scope it is in; to anyone
    else it does not exist."""
    wanted = number.strip().upper()
    read = services.db.read
    case = await read.cases.by_number(wanted)
    if case is None or not can_view(actor, case):
        # The number is shown back in an HTML message.
        raise CaseNotFound(number=html.escape(wanted))
    view = await staff_view(services, case, audience_of(actor, case))
    reads = await identity.audit_log(services, actor, case) if case.named else None
    return CaseFile(view, await read.cases.events(case.id), reads)


async def photos(services: Services, case: Case, audience: Audience) -> list[str]:
    """The stored (stripped) photos of a case the audience may be sent: to its officers the
    report's, the fix's, the reporter's "not fixed"; to its enterprise those of its order and
    its own fix (bot/visibility.py)."""
    read = services.db.read.cases
    hashes: list[str] = []
    for kind in photo_kinds(audience):
        hashes.extend(sha for sha in await read.photo_hashes(case.id, kind) if sha not in hashes)
    return hashes
