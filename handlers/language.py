"""/language: the user picks the language the bot speaks to them."""

from __future__ import annotations

import logging

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import TelegramError
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, filters

from bot.accounts import Account
from bot.i18n import LANGUAGE_NAMES, Language
from bot.reports import load_draft
from bot.tg.app import set_chat_commands
from bot.tg.context import Context
from handlers import report
from handlers.common import answer

log = logging.getLogger(__name__)

PREFIX = "lang:1"


def keyboard(current: Language) -> InlineKeyboardMarkup:
    rows = [
        [
            InlineKeyboardButton(
                ("✓ " if language is current else "") + name,
                callback_data=f"{PREFIX}:{language.value}",
            )
        ]
        for language, name in LANGUAGE_NAMES.items()
    ]
    return InlineKeyboardMarkup(rows)


async def ask_language(update: Update, context: Context) -> None:
    """Show the languages to choose from."""
    _ = context.gettext
    text = _("Choose the language I speak to you.")
    if update.callback_query is not None:
        await answer(update)
    await context.bot.send_message(
        context.account.id, text, reply_markup=keyboard(context.account.language)
    )


async def choose_language(update: Update, context: Context) -> None:
    """Store the chosen language and confirm in it."""
    query = update.callback_query
    assert query is not None
    assert query.data is not None
    code = query.data.removeprefix(PREFIX + ":")
    try:
        language = Language(code)
    except ValueError:
        await answer(update, context.gettext("This button is no longer valid."), alert=True)
        return
    account = context.account
    async with context.db.transaction() as tx:
        await tx.users.set_language(account.id, language.value)
        user = await tx.users.get(account.id)
    assert user is not None
    context.account = Account(user, account.memberships, account.default_language)
    _ = context.gettext
    await answer(update)
    await query.edit_message_text(
        _("I will speak {language} to you from now on.").format(language=LANGUAGE_NAMES[language])
    )
    try:
        await set_chat_commands(context.bot, context.services.catalogs, context.account)
    except TelegramError as exc:
        log.warning("could not update the command menu of %s: %s", account.id, exc)
    # A report in progress: its question again, buttons and keyboard in the new language.
    settings = context.city.limits
    draft = await load_draft(context.db, account.id, context.clock.now(), settings.draft_ttl_days)
    if draft is not None:
        await report.ask(context, draft)


def handlers() -> list[BaseHandler[Update, Context, object]]:
    return [
        CommandHandler("language", ask_language, filters.ChatType.PRIVATE),
        CallbackQueryHandler(ask_language, pattern=f"^{PREFIX}$"),
        CallbackQueryHandler(choose_language, pattern=f"^{PREFIX}:"),
    ]
