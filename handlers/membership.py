"""A user blocks or unblocks the bot: Telegram says so at once (a my_chat_member update), so
they leave every audience then, not at the next message that fails to reach them."""

from __future__ import annotations

from telegram import ChatMember, Update
from telegram.constants import ChatType
from telegram.ext import BaseHandler, ChatMemberHandler

from bot import accounts
from bot.tg.context import Context


async def on_my_chat_member(update: Update, context: Context) -> None:
    """Mark the user blocked when they blocked the bot, and unblocked when they let it back."""
    changed = update.my_chat_member
    # In a group this is the bot added or removed, not a user's choice about messages.
    if changed is None or changed.chat.type != ChatType.PRIVATE:
        return
    status = changed.new_chat_member.status
    if status in (ChatMember.BANNED, ChatMember.LEFT):
        await accounts.blocked(context.services, changed.chat.id)
    elif status == ChatMember.MEMBER:
        await accounts.unblocked(context.services, changed.chat.id)


def handlers() -> list[BaseHandler[Update, Context, object]]:
    return [ChatMemberHandler(on_my_chat_member, ChatMemberHandler.MY_CHAT_MEMBER)]
