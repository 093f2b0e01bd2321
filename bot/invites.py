"""Invite codes: made by an admin (or the command line), redeemed once with /join."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from bot.accounts import Account
from bot.departments import department_of
from bot.enterprises import EnterpriseUnknown, enterprise
from bot.errors import InviteExpired, InviteJoined, InviteUnknown, InviteUsed
from bot.services import Services
from bot.vocabulary.models import Enterprise, Invite
from bot.vocabulary.roles import Role
from storage.db import Database

# No 0/O, 1/I/L: codes are read aloud and typed on phones.
ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
GROUPS, GROUP_LENGTH = 3, 4
DEFAULT_VALIDITY = dt.timedelta(days=7)


def new_code() -> str:
    groups = ("".join(secrets.choice(ALPHABET) for _ in range(GROUP_LENGTH)) for _ in range(GROUPS))
    return "-".join(groups)


def normalise(code: str) -> str:
    return "".join(ch for ch in code.upper() if ch.isalnum())


def code_hash(code: str) -> str:
    return hashlib.sha256(normalise(code).encode("ascii", "ignore")).hexdigest()


@dataclass(frozen=True)
class InviteSpec:
    role: Role
    department: str | None = None
    enterprise_id: int | None = None


async def create_invite(
    db: Database,
    spec: InviteSpec,
    now: dt.datetime,
    *,
    created_by: int | None = None,
    validity: dt.timedelta = DEFAULT_VALIDITY,
) -> str:
    """Store a new invite and return its code (only its hash is kept)."""
    code = new_code()
    async with db.transaction() as tx:
        await tx.invites.create(
            code_hash(code),
            spec.role.value,
            spec.department,
            spec.enterprise_id,
            created_by,
            now,
            now + validity,
        )
    return code


async def redeem(db: Database, code: str, user_id: int, now: dt.datetime) -> Invite:
    """Bind the user to the invite's role, once; raise a ShaoziError saying why not."""
    async with db.transaction() as tx:
        invite = await tx.invites.by_hash(code_hash(code)) if normalise(code) else None
        if invite is None:
            raise InviteUnknown()
        if invite.used_by == user_id:
            raise InviteJoined()  # their own code again (sent twice, or a replayed update)
        if invite.used_by is not None:
            raise InviteUsed()
        if invite.expires_at <= now:
            raise InviteExpired()
        if not await tx.invites.mark_used(invite.id, user_id, now):
            raise InviteUsed()
        await tx.users.add_membership(
            user_id, invite.role.value, invite.department, invite.enterprise_id, invite.id, now
        )
        return invite


@dataclass(frozen=True)
class Issued:
    code: str  # shown once: only its hash is kept
    expires_at: dt.datetime
    enterprise: Enterprise | None  # of an enterprise invite


async def issue(services: Services, actor: Account, spec: InviteSpec) -> Issued:
    """An admin's invite for a staff role in a department or an enterprise that exists."""
    actor.require(Role.ADMIN)
    if spec.department is not None:
        department_of(services.city, spec.department)
    company = None
    if spec.enterprise_id is not None:
        company = await enterprise(services, spec.enterprise_id)
        if company is None:
            raise EnterpriseUnknown(id=spec.enterprise_id)
    now = services.clock.now()
    code = await create_invite(services.db, spec, now, created_by=actor.id)
    return Issued(code, now + DEFAULT_VALIDITY, company)


@dataclass(frozen=True)
class Joined:
    invite: Invite
    account: Account  # with the role just granted
    enterprise: Enterprise | None  # of an enterprise role


async def join(
    services: Services,
    actor: Account,
    code: str,
    *,
    name: str | None = None,
    username: str | None = None,
) -> Joined:
    """Redeem an invite code for the actor; raise a ShaoziError saying why not. ``name`` and
    ``username`` are how they go by, for admins to know who holds which role."""
    invite = await redeem(services.db, code, actor.id, services.clock.now())
    if name or username:
        async with services.db.transaction() as tx:
            await tx.users.name_member(actor.id, (name or "")[:64] or None, username)
    memberships = await services.db.read.users.memberships(actor.id)
    account = Account(actor.user, memberships, actor.default_language)
    company = None
    if invite.enterprise_id is not None:
        company = await enterprise(services, invite.enterprise_id)
    return Joined(invite, account, company)
