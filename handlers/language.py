"""/language: the user picks the language the bot speaks to them."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from functools import partial

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import TelegramError
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, filters

from bot.accounts import set_language
from bot.buttons import Space, decode, encode, pattern
from bot.i18n import LANGUAGE_NAMES, Language
from bot.tg.app import set_chat_commands
from bot.tg.context import Context
from handlers.common import answer

log = logging.getLogger(__name__)

# What a feature does once the user speaks another language: ask its question again in it.
AskAgain = Callable[[Context], Awaitable[None]]


def keyboard(current: Language) -> InlineKeyboardMarkup:
    rows = [
        [
            InlineKeyboardButton(
                ("✓ " if language is current else "") + name,
                callback_data=encode(Space.LANGUAGE, language.value),
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


async def choose_language(
    update: Update, context: Context, code: str, ask_again: tuple[AskAgain, ...]
) -> None:
    """Store the chosen language and confirm in it."""
    query = update.callback_query
    assert query is not None
    try:
        language = Language(code)
    except ValueError:
        await answer(update, context.gettext("This button is no longer valid."), alert=True)
        return
    account = context.account
    context.account = await set_language(context.services, account, language)
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
    for again in ask_again:
        await again(context)


async def on_press(update: Update, context: Context, ask_again: tuple[AskAgain, ...] = ()) -> None:
    """Show the languages (lang:1), or take the one chosen (lang:1:CODE)."""
    query = update.callback_query
    assert query is not None
    press = decode(query.data)
    if press is None or not press.action:
        await ask_language(update, context)
    else:
        await choose_language(update, context, press.action, ask_again)


def handlers(*ask_again: AskAgain) -> list[BaseHandler[Update, Context, object]]:
    """``ask_again``: what features do once the user speaks another language."""
    pressed = partial(on_press, ask_again=ask_again)
    return [
        CommandHandler("language", ask_language, filters.ChatType.PRIVATE),
        CallbackQueryHandler(pressed, pattern=pattern(Space.LANGUAGE)),
    ]
