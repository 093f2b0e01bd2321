"""A user blocks the bot, or lets it back: Telegram tells the bot at once (my_chat_member), and
they leave every audience then, or come back to it with the subscription they chose."""

from __future__ import annotations

from bot.cards import Outgoing
from bot.invites import InviteSpec
from bot.notify import Notifier
from bot.vocabulary.roles import Role
from fakebotapi import FakeUser
from tests.support import tables
from tests.support.cases import report
from tests.support.chat import Bot, since
from tests.support.people import make_admin, staff, subscriber


async def audience(admin: FakeUser) -> str:
    """The audience an administrator is offered for a warning, as they read it."""
    await admin.send("/broadcast")
    await admin.send("Typhoon tonight.")
    [label] = [label for row in admin.last.buttons for label, _ in row if "All" in label]
    await admin.send("/cancel")
    return label


async def test_a_subscriber_who_blocks_the_bot_leaves_the_audience_at_once(bot: Bot) -> None:
    admin = await make_admin(bot)
    reader = await subscriber(bot)
    await subscriber(bot)
    assert await audience(admin) == "📢 All subscribers (2)"
    async with bot.db.transaction() as tx:  # a message waiting for them
        await Notifier(tx, bot.services, bot.clock.now()).user(
            reader.user_id, "tip", lambda _tr: Outgoing("A safety tip")
        )

    await reader.block_bot()
    assert await audience(admin) == "📢 All subscribers (1)"
    status = tables.value(bot.db, "SELECT status FROM outbox WHERE chat_id = ?", (reader.user_id,))
    assert status == "dropped"  # not tried against a chat that is closed to the bot
    await bot.drain()
    assert not [m for m in reader.transcript if m.plain == "A safety tip"]

    # Let back in, they are subscribed as they were, without writing to the bot first.
    await reader.unblock_bot()
    assert await audience(admin) == "📢 All subscribers (2)"
    user = await bot.db.read.users.get(reader.user_id)
    assert user is not None
    assert (user.subscribed, user.blocked_at) == (True, None)


async def test_an_officer_who_blocks_the_bot_gets_no_new_cases_until_back(bot: Bot) -> None:
    officer = await staff(bot, InviteSpec(Role.OFFICER, "fire"))
    citizen = bot.user(language="en")
    await officer.block_bot()
    await report(citizen)
    mark = len(officer.transcript)
    await bot.drain()
    assert since(officer, mark) == []
    assert bot.api.calls_of("sendPhoto") == []  # nothing tried either

    await officer.unblock_bot()
    number = await report(citizen, photo_seed=5)
    await bot.drain()
    assert [f"New report {number}" in m.plain for m in since(officer, mark)] == [True]
