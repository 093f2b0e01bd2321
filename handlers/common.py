"""What every user has: the account loader, /start, /help, /cancel, fallbacks, the error handler."""

from __future__ import annotations

import contextlib
import html
import logging

from telegram import Bot, InlineKeyboardMarkup, Update
from telegram.error import BadRequest, TelegramError
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot import accounts, subscriptions
from bot.accounts import Account
from bot.buttons import Button, Keyboard, Space, button
from bot.errors import NotAllowed
from bot.i18n import resolve_language
from bot.menu import commands_for
from bot.tg.context import Context
from bot.tg.keyboards import keyboard
from bot.vocabulary.roles import Role

log = logging.getLogger(__name__)

__all__ = ["Context", "commands", "fallbacks", "load_account", "on_error"]


async def load_account(update: Update, context: Context) -> None:
    """Load the user's roles and language, and record that they were here."""
    user = update.effective_user
    if user is None or user.is_bot:
        return
    context.account = await accounts.visit(context.services, user.id, user.language_code)


def role_name(context: Context, role: Role) -> str:
    _ = context.gettext
    names = {
        Role.CITIZEN: _("citizen"),
        Role.ENTERPRISE: _("enterprise safety officer"),
        Role.OFFICER: _("department officer"),
        Role.SUPERVISOR: _("supervisor"),
        Role.ADMIN: _("administrator"),
    }
    return names[role]


def command_list(context: Context, account: Account) -> str:
    """One line per command this user may use."""
    return "\n".join(
        f"/{c.name} — {html.escape(context.gettext(c.description))}"
        for c in commands_for(account.roles)
    )


def menu(context: Context) -> Keyboard:
    _ = context.gettext
    return [
        [button(_("📣 Report a hazard"), Space.REPORT, "start")],
        [button(_("📋 My reports"), Space.TRACK, "page", 0), button(_("Language"), Space.LANGUAGE)],
    ]


def menu_keyboard(context: Context) -> InlineKeyboardMarkup | None:
    return keyboard(menu(context))


async def answer(update: Update, text: str | None = None, *, alert: bool = False) -> None:
    """Answer a button press. A replayed press (after a restart) was answered already, or is
    too old to answer: that is no failure, so it is not reported as one."""
    query = update.callback_query
    if query is None:
        return
    try:
        await query.answer(text, show_alert=alert)
    except BadRequest as exc:
        log.info("could not answer callback query %s: %s", query.id, exc.message)


async def start(update: Update, context: Context) -> None:
    """Greet the user, say what the bot does and show what they may do."""
    _ = context.gettext
    account = context.account
    city = html.escape(context.city.city.name.get(account.language))
    text = _(
        "Welcome to Shaozi, the hazard whistle of {city}.\n\n"
        "See a safety hazard — a blocked fire exit, a leaking gas hose, a cracking wall? "
        "Report it here with a photo and its place. The responsible department checks it, "
        "orders it fixed by a deadline, and you can follow it until it is closed. "
        "You may stay anonymous."
    ).format(city=city)
    staff = sorted(account.roles - {Role.CITIZEN})
    if staff:
        roles = ", ".join(role_name(context, r) for r in staff)
        text += "\n\n" + _("You are signed in as: {roles}.").format(roles=html.escape(roles))
    text += "\n\n" + _("What you can do:") + "\n" + command_list(context, account)
    rows = menu(context)
    # A citizen is asked once whether they want reminders; staff get theirs by role anyway.
    # The question ends the welcome (not a message of its own), so the menu stays the last
    # message; handlers/subscriptions.py takes the yes/no row off once it is answered.
    ask = not staff and not account.user.subscription_asked
    if ask:
        text += "\n\n" + _("Do you want reminders on safety days and warnings for your area?")
        rows.append(subscription_question(context))
    message = update.effective_message
    assert message is not None
    await message.reply_text(text, reply_markup=keyboard(rows))
    if ask:
        await subscriptions.mark_asked(context.services, account.id)


def subscription_question(context: Context) -> list[Button]:
    """The yes/no row of the question at /start; handlers/subscriptions.py answers it."""
    _ = context.gettext
    return [
        button(_("🔔 Yes, remind me"), Space.SUBSCRIBE, "yes"),
        button(_("No, thanks"), Space.SUBSCRIBE, "no"),
    ]


async def help_command(update: Update, context: Context) -> None:
    """List the user's commands and how staff join."""
    _ = context.gettext
    text = (
        _("Commands you can use:")
        + "\n"
        + command_list(context, context.account)
        + "\n\n"
        + _(
            "Staff of a department or an enterprise: ask your administrator for an invite code "
            "and send /join followed by the code."
        )
    )
    await update.effective_message.reply_text(text)  # type: ignore[union-attr]


async def cancel(update: Update, context: Context) -> None:
    """Say there is nothing to cancel (features with steps register their own /cancel first)."""
    _ = context.gettext
    await update.effective_message.reply_text(  # type: ignore[union-attr]
        _("There is nothing to cancel. Send /help to see what you can do.")
    )


async def unknown_command(update: Update, context: Context) -> None:
    """Answer a command the bot does not know."""
    _ = context.gettext
    await update.effective_message.reply_text(  # type: ignore[union-attr]
        _("I do not know that command. Send /help to see what you can do.")
    )


async def unexpected_message(update: Update, context: Context) -> None:
    """Answer a message that no step is waiting for."""
    _ = context.gettext
    await update.effective_message.reply_text(  # type: ignore[union-attr]
        _("I was not expecting that. Send /start to see what you can do.")
    )


async def stale_button(update: Update, context: Context) -> None:
    """Answer a button nobody handles: an old message, or forged data."""
    _ = context.gettext
    await answer(update, _("This button is no longer valid."), alert=True)


async def on_error(update: object, context: Context) -> None:
    """Log the failure and apologise to the user in their language."""
    log.error("error while handling an update", exc_info=context.error)
    if not isinstance(update, Update) or update.effective_user is None:
        return
    user = update.effective_user
    chosen = None
    try:
        account = await accounts.account_of(context.services, user.id)
        chosen = account.user.language if account else None
    except Exception:  # the database itself may be what failed
        log.warning("could not read the user's language", exc_info=True)
    default = context.city.city.default_language
    tr = context.services.translator_for(resolve_language(chosen, user.language_code, default))
    text = tr.gettext(
        "Sorry, something went wrong on our side. What you entered is kept; please try again."
    )
    try:
        if update.callback_query is not None:
            await answer(update, text, alert=True)
        elif update.effective_chat is not None:
            await context.bot.send_message(update.effective_chat.id, text)
    except TelegramError:
        log.warning("could not send the apology", exc_info=True)


def commands() -> list[BaseHandler[Update, Context, object]]:
    return [
        CommandHandler("start", start, filters.ChatType.PRIVATE),
        CommandHandler("help", help_command, filters.ChatType.PRIVATE),
    ]


class DatalessPress(BaseHandler[Update, Context, object]):
    """A button press that carries no data. PTB hands such a press to the first handler with a
    pattern (it was the language chooser's); no button of ours lacks data, so it is stale."""

    def check_update(self, update: object) -> bool:
        if not isinstance(update, Update) or update.callback_query is None:
            return False
        query = update.callback_query
        return not query.data and not query.game_short_name


def dataless_press() -> BaseHandler[Update, Context, object]:
    return DatalessPress(stale_button)


def fallbacks() -> list[BaseHandler[Update, Context, object]]:
    private = filters.ChatType.PRIVATE
    return [
        CommandHandler("cancel", cancel, private),
        MessageHandler(private & filters.COMMAND, unknown_command),
        CallbackQueryHandler(stale_button),
    ]


async def unbutton(bot: Bot, chat_id: int, message_id: int) -> None:
    """Take the buttons off a message of ours."""
    # Already without buttons, or too old to edit: nothing to undo.
    with contextlib.suppress(BadRequest):
        await bot.edit_message_reply_markup(
            chat_id=chat_id, message_id=message_id, reply_markup=None
        )


async def delete_or_unbutton(bot: Bot, chat_id: int, message_id: int) -> None:
    """Delete a spent message of ours; one too old to delete (48 h) loses its buttons."""
    try:
        await bot.delete_message(chat_id, message_id)
    except BadRequest:
        await unbutton(bot, chat_id, message_id)


async def refused(update: Update, context: Context) -> bool:
    """Tell a non-admin they may not do this; True when they were refused.

    The core's admin tools refuse a non-admin themselves; this answers before their input is
    even read, so a non-admin learns nothing of what an admin tool would have said to it.
    """
    try:
        context.account.require(Role.ADMIN)
    except NotAllowed as exc:
        text = exc.render(context.gettext)
    else:
        return False
    if update.callback_query is not None:
        await answer(update, text, alert=True)
    elif update.effective_message is not None:
        await update.effective_message.reply_text(text)
    return True
