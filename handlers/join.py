"""/join CODE: an invite binds the user to a staff role."""

from __future__ import annotations

import html
import logging

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import BaseHandler, CommandHandler, filters

from bot.accounts import Account
from bot.errors import ShaoziError
from bot.invites import redeem
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
    code = "".join(context.args)
    account = context.account
    try:
        invite = await redeem(context.db, code, account.id, context.clock.now())
    except ShaoziError as exc:
        await message.reply_text(exc.render(_))
        return
    memberships = await context.db.read.users.memberships(account.id)
    context.account = Account(account.user, memberships, account.default_language)
    where = ""
    if invite.department:
        department = context.city.department(invite.department)
        name = department.name.get(account.language) if department else invite.department
        where = name
    elif invite.enterprise_id is not None:
        enterprise = await context.db.read.enterprises.get(invite.enterprise_id)
        where = enterprise.name if enterprise else ""
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
