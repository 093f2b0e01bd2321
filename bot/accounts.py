"""A user as the bot sees them on one update: their settings, roles and language."""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass, field
from functools import cached_property

from bot.errors import NotAllowed
from bot.i18n import Language, resolve_language
from bot.services import Services
from bot.vocabulary.models import Membership, User
from bot.vocabulary.roles import Role
from storage.db import Session
from storage.users import touch_due

# Why the rows waiting for a user who blocked the bot were dropped (as Telegram says it).
BLOCKED = "bot was blocked by the user"


@dataclass(frozen=True)
class Account:
    user: User
    memberships: list[Membership] = field(default_factory=list)
    default_language: Language = Language.ZH_HANS

    @property
    def id(self) -> int:
        return self.user.id

    @cached_property  # asked for every text of an update; an Account lives for one update
    def language(self) -> Language:
        return resolve_language(
            self.user.language, self.user.telegram_language, self.default_language
        )

    @cached_property
    def roles(self) -> frozenset[Role]:
        return frozenset({Role.CITIZEN, *(m.role for m in self.memberships)})

    def has(self, role: Role) -> bool:
        return role in self.roles

    def require(self, role: Role) -> None:
        """Raise NotAllowed unless the user holds this role."""
        if not self.has(role):
            raise NotAllowed()

    @property
    def is_staff(self) -> bool:
        return bool(self.roles - {Role.CITIZEN})

    def departments(self, role: Role = Role.OFFICER) -> set[str]:
        return {m.department for m in self.memberships if m.role is role and m.department}

    def enterprises(self) -> set[int]:
        return {
            m.enterprise_id
            for m in self.memberships
            if m.role is Role.ENTERPRISE and m.enterprise_id is not None
        }


async def visit(services: Services, user_id: int, telegram_language: str | None) -> Account:
    """The account of whoever sent an update, recording that they were here.

    The lookups run inline (``db.lookup``); the write happens only for a new user, a changed
    Telegram language, a user marked blocked, or once ``storage.users.TOUCH_EVERY`` has passed.
    """
    db, now = services.db, services.clock.now()
    # Both at once: on PostgreSQL each is a round trip of its own, and every update waits here.
    user, memberships = await asyncio.gather(
        db.lookup.users.get(user_id), db.lookup.users.memberships(user_id)
    )
    if user is None or touch_due(user, telegram_language, now):
        async with db.autocommit() as session:
            user = await session.users.touch(user_id, telegram_language, now)
    return Account(user, memberships, services.city.city.default_language)


async def account_of(services: Services, user_id: int) -> Account | None:
    """A user's account as stored now (their roles may have just changed); None if unknown."""
    read = services.db.read.users
    user = await read.get(user_id)
    if user is None:
        return None
    memberships = await read.memberships(user_id)
    return Account(user, memberships, services.city.city.default_language)


async def set_language(services: Services, account: Account, language: Language) -> Account:
    """Store the user's choice; return the account as it now speaks."""
    async with services.db.transaction() as tx:
        await tx.users.set_language(account.id, language.value)
        user = await tx.users.get(account.id)
    assert user is not None
    return Account(user, account.memberships, account.default_language)


async def chat_gone(tx: Session, chat_id: int, now: dt.datetime, reason: str) -> None:
    """Stop writing to a chat that blocked the bot or no longer exists: what waits for it is
    dropped, and a user is left out of every audience until they are back (their subscription
    stays as they chose it)."""
    await tx.outbox.drop_pending_for_chat(chat_id, reason)
    if chat_id > 0:
        await tx.users.mark_blocked(chat_id, now)


async def blocked(services: Services, user_id: int) -> None:
    """The user blocked the bot (Telegram said so): nothing more goes to them."""
    async with services.db.transaction() as tx:
        await chat_gone(tx, user_id, services.clock.now(), BLOCKED)


async def unblocked(services: Services, user_id: int) -> None:
    """The user unblocked the bot: they are in their audiences again."""
    async with services.db.autocommit() as session:
        await session.users.mark_unblocked(user_id)
