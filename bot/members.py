"""Staff members: who holds which role, listed and removed by admins.

A role is granted by an invite (bot/invites.py) and taken away here. Only another admin may
remove an admin, so the bot is never left without one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bot.accounts import Account
from bot.enterprises import enterprise
from bot.errors import ShaoziError
from bot.i18n import N_
from bot.paging import clamp_offset
from bot.services import Services
from bot.vocabulary.models import Enterprise, Membership
from bot.vocabulary.roles import Role

log = logging.getLogger(__name__)

PAGE = 20


class MemberGone(ShaoziError):
    message = N_("This member was already removed.")


class OwnAdminRole(ShaoziError):
    message = N_(
        "You cannot remove your own administrator role: ask another administrator to do it, "
        "so the bot is never left without one."
    )


@dataclass(frozen=True)
class Member:
    membership: Membership
    enterprise: Enterprise | None = None  # of an enterprise role, while it is registered


@dataclass(frozen=True)
class StaffPage:
    members: list[Member]
    offset: int  # of the first member shown, among all
    total: int
    size: int = PAGE

    @property
    def previous(self) -> int | None:
        """The offset of the page before, if there is one."""
        return max(0, self.offset - self.size) if self.offset > 0 else None

    @property
    def next(self) -> int | None:
        following = self.offset + self.size
        return following if following < self.total else None


def member_name(membership: Membership) -> str:
    """The member as they go by in Telegram (their id, for those who joined before names were
    kept); plain text."""
    name = membership.name or ""
    if membership.username:
        name = f"{name} (@{membership.username})" if name else f"@{membership.username}"
    return name or str(membership.user_id)


async def _member(services: Services, membership: Membership) -> Member:
    if membership.enterprise_id is None:
        return Member(membership)
    return Member(membership, await enterprise(services, membership.enterprise_id))


def _check_removable(actor: Account, membership: Membership | None) -> Membership:
    if membership is None:
        raise MemberGone()
    if membership.role is Role.ADMIN and membership.user_id == actor.id:
        raise OwnAdminRole()
    return membership


async def staff_page(
    services: Services, actor: Account, offset: int = 0, size: int = PAGE
) -> StaffPage:
    """The staff memberships from ``offset`` (kept within the list), by role and department."""
    actor.require(Role.ADMIN)
    memberships = await services.db.read.users.all_memberships()
    offset = clamp_offset(offset, len(memberships), size)
    shown = [await _member(services, m) for m in memberships[offset : offset + size]]
    return StaffPage(shown, offset, len(memberships), size)


async def removable(services: Services, actor: Account, membership_id: int) -> Member:
    """The membership the actor may remove; MemberGone or OwnAdminRole when not."""
    actor.require(Role.ADMIN)
    membership = await services.db.read.users.membership(membership_id)
    return await _member(services, _check_removable(actor, membership))


async def remove(services: Services, actor: Account, membership_id: int) -> Member:
    """Take the role away at once; MemberGone or OwnAdminRole when it cannot be."""
    actor.require(Role.ADMIN)
    async with services.db.transaction() as tx:
        membership = _check_removable(actor, await tx.users.membership(membership_id))
        await tx.users.remove_membership(membership_id)
    log.info("admin %s removed membership %s", actor.id, membership)
    return await _member(services, membership)
