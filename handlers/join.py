"""/join CODE: an invite binds the user to a staff role."""

from __future__ import annotations

import html
import logging

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import BaseHandler, CommandHandler, filters

from bot.errors import ShaoziError
from bot.invites import join as redeem_invite
from bot.tg.app import set_chat_commands
from bot.tg.context import Context
from bot.vocabulary.roles import Role
from handlers.common import command_list, role_name

log = logging.getLogger(__name__)


async def join(update: Update, context: Context) -> None:
    """Redeem an invite code and tell the user their new role."""
    _ = context.gettext
    message = update.effective_message
    assert message is not None
    if not context.args:
        await message.reply_text(
            _("Send /join followed by your invite code, e.g. /join ABCD-EFGH-JKMN.")
        )
        return
    account = context.account
    try:
        user = update.effective_user
        joined = await redeem_invite(
            context.services,
            account,
            "".join(context.args),
            name=user.full_name if user else None,
            username=user.username if user else None,
        )
    except ShaoziError as exc:
        await message.reply_text(exc.render(_))
        return
    context.account = joined.account
    invite = joined.invite
    where = ""
    if invite.department:
        department = context.city.department(invite.department)
        where = department.name.get(account.language) if department else invite.department
    elif joined.enterprise is not None:
        where = joined.enterprise.name
    role = role_name(context, invite.role)
    if where:
        text = _("You are now {role} of {where}.").format(
            role=html.escape(role), where=html.escape(where)
        )
    else:
        text = _("You are now {role}.").format(role=html.escape(role))
    if invite.role is Role.SUPERVISOR and not invite.department:
        text += " " + _("Your scope is the whole city.")
    text += "\n\n" + _("What you can do:") + "\n" + command_list(context, context.account)
    await message.reply_text(text)
    try:
        await set_chat_commands(context.bot, context.services.catalogs, context.account)
    except TelegramError as exc:
        log.warning("could not update the command menu of %s: %s", account.id, exc)


def handlers() -> list[BaseHandler[Update, Context, object]]:
    return [CommandHandler("join", join, filters.ChatType.PRIVATE)]
