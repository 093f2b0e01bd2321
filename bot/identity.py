"""The reporter's identity: the one way a person is shown who reported a case (#16 item 4;
DESIGN.md, "Confidentiality").

Who reported a case sits apart from it (storage/reporters.py, migration 0020). A person sees the
reporter's name and phone only

- as an officer of the case's department, when the reporter chose real name (``for_officer``);
- as a supervisor of the case's scope paying out its approved reward (``for_payout``);

and each time they do, the audit log (identity_reads) gets a row in the same transaction:
who, which case, why, when. Supervisors read that log in the case file (``audit_log``). Nobody is
ever shown a reporter's account.

The system's own uses (telling the reporter about their case, /my, the daily limit, duplicates,
reward bookkeeping) read only the account link, through ``Session.reporters.account`` and the
case queries (and a partner's reporter's limit, ``count_by_contact_since``), and show it to no
one: they are not reads of the identity and are not logged.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Collection
from dataclasses import dataclass

from bot.accounts import Account
from bot.errors import CaseNotFound, NotAllowed
from bot.permissions import is_case_officer, supervises
from bot.services import Services
from bot.vocabulary.models import (
    Case,
    IdentityPurpose,
    IdentityRead,
    Membership,
    NewReporter,
    ReporterContact,
)
from bot.vocabulary.roles import Role
from storage.db import Session

__all__ = [
    "IdentityPurpose",
    "NewReporter",
    "ReporterContact",
    "audit_log",
    "audit_log_of",
    "for_officer",
    "for_payout",
    "record",
]


async def record(tx: Session, case_id: int, reporter: NewReporter, now: dt.datetime) -> None:
    """Record who filed a new case, in the transaction that creates it: every case has its
    reporter recorded (a Telegram user, or a partner channel's contact without an account)."""
    await tx.reporters.add(case_id, reporter, now)


async def for_officer(services: Services, actor: Account, case_id: int) -> ReporterContact:
    """The reporter of a real-name case, for one of its officers to see; logged."""
    now = services.clock.now()
    async with services.db.transaction() as tx:
        case = await tx.cases.get(case_id)
        if case is None or not case.named or not is_case_officer(actor, case):
            raise NotAllowed()
        shown = await tx.reporters.reveal([case.id], actor.id, IdentityPurpose.CASE, now)
    if case.id not in shown:
        raise NotAllowed()
    return shown[case.id]


@dataclass(frozen=True)
class Payable:
    """A reward of the ledger, as far as its payout needs: whose case, where, in what state."""

    case_id: int
    department: str
    anonymous: bool
    payable: bool  # approved or paid: the supervisor hands over, or has handed over, money


async def for_payout(
    services: Services, actor: Account, rewards: Collection[Payable]
) -> dict[int, ReporterContact]:
    """The real-name reporters of the payable rewards a supervisor pays out, by case; each one
    logged. Rewards not yet approved, refused or lapsed name nobody: no money goes to them."""
    wanted = [
        reward.case_id
        for reward in rewards
        if reward.payable and not reward.anonymous and supervises(actor, reward.department)
    ]
    if not wanted:
        return {}
    async with services.db.transaction() as tx:
        return await tx.reporters.reveal(
            wanted, actor.id, IdentityPurpose.PAYOUT, services.clock.now()
        )


@dataclass(frozen=True)
class Reader:
    """An entry of a case's audit log: when, why, and the staff member who was shown it."""

    read: IdentityRead
    member: Membership | None  # one of their memberships (its name); None: no longer staff


def may_audit(actor: Account, case: Case) -> bool:
    """Who reads a case's log: its supervisors, and the admins (who see nothing else of it)."""
    return supervises(actor, case.department) or actor.has(Role.ADMIN)


async def audit_log(services: Services, actor: Account, case: Case) -> list[Reader] | None:
    """Who was shown the case's reporter, oldest first, for a supervisor of its scope or an
    admin (None for anyone else: they are not shown the log)."""
    if not may_audit(actor, case):
        return None
    read = services.db.read
    entries = []
    for entry in await read.reporters.reads(case.id):
        memberships = await read.users.memberships(entry.reader_id)
        named_first = sorted(memberships, key=lambda m: (m.name is None, m.username is None))
        entries.append(Reader(entry, named_first[0] if named_first else None))
    return entries


async def audit_log_of(
    services: Services, actor: Account, number: str
) -> tuple[Case, list[Reader]]:
    """A case's log by its number (/identitylog); to anyone who may not read it the case does
    not exist."""
    wanted = number.strip().upper()
    case = await services.db.read.cases.by_number(wanted) if wanted else None
    reads = await audit_log(services, actor, case) if case is not None else None
    if case is None or reads is None:
        raise CaseNotFound(number=html.escape(wanted))
    return case, reads
