"""The people of a chat test: staff bound by an invite, subscribers, and their accounts."""

from __future__ import annotations

from bot.accounts import Account
from bot.invites import InviteSpec, create_invite
from bot.vocabulary.roles import Role
from fakebotapi import FakeUser
from tests.support.chat import Bot


async def staff(
    bot: Bot, spec: InviteSpec, *, language: str = "en", username: str | None = None
) -> FakeUser:
    user = bot.user(language=language, username=username)
    code = await create_invite(bot.db, spec, bot.clock.now())
    await user.send(f"/join {code}")
    assert await bot.db.read.users.memberships(user.user_id), user.last.plain  # joined
    return user


async def make_admin(bot: Bot) -> FakeUser:
    code = await create_invite(bot.db, InviteSpec(Role.ADMIN), bot.clock.now())
    admin = bot.user(language="en")
    await admin.send(f"/join {code}")
    assert admin.last.plain.startswith("You are now administrator.")
    return admin


async def member(bot: Bot, role: Role, department: str | None, *, language: str) -> FakeUser:
    """A staff member who speaks ``language`` (``staff`` expects English answers)."""
    user = bot.user(language=language)
    await user.send("/start")
    async with bot.db.transaction() as tx:
        await tx.users.add_membership(
            user.user_id, role.value, department, None, None, bot.clock.now()
        )
    return user


async def subscriber(bot: Bot, language: str = "en", area: str = "sub:1:d:*") -> FakeUser:
    """A user who subscribed with /subscribe and chose an area."""
    user = bot.user(language=language)
    await user.send("/subscribe")
    await user.press(area)
    return user


async def account(bot: Bot, user: FakeUser) -> Account:
    """The user as the core sees them, to act through the core directly."""
    row = await bot.db.read.users.get(user.user_id)
    assert row is not None
    return Account(row, await bot.db.read.users.memberships(user.user_id))
