"""/subscribe and /unsubscribe: safety-day reminders and warnings, optionally for one district.

The question at /start ("Do you want reminders …?") is answered with the same buttons; the
buttons act on whoever presses them, so there is nothing to forge.
"""

from __future__ import annotations

import html
import logging

from telegram import InlineKeyboardMarkup, Update
from telegram.error import BadRequest
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, filters

from bot import subscriptions
from bot.buttons import Space, button, decode, pattern
from bot.errors import NotAllowed
from bot.tg.context import Context
from bot.tg.keyboards import keyboard
from handlers.common import answer, menu_keyboard

log = logging.getLogger(__name__)

AREA = "d"  # sub:1:d:DISTRICT, or sub:1:d:* for the whole city
WHOLE_CITY = "*"


def area_keyboard(context: Context) -> InlineKeyboardMarkup | None:
    """One button per district of the city, two a row, then the whole city."""
    _ = context.gettext
    language = context.tr.language
    buttons = [
        button(
            _("📍 My area: {district}").format(district=d.name.get(language)),
            Space.SUBSCRIBE,
            AREA,
            d.code,
        )
        for d in context.city.districts
    ]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    rows.append([button(_("🏙 The whole city"), Space.SUBSCRIBE, AREA, WHOLE_CITY)])
    return keyboard(rows)


async def offer_areas(context: Context) -> None:
    """Confirm the subscription and offer the districts."""
    _ = context.gettext
    await context.bot.send_message(
        context.account.id,
        _("You are subscribed to reminders before safety days and to safety warnings.")
        + "\n\n"
        + _(
            "Warnings can also be for one district. Which area do you want them for? "
            "(Optional: you can also just ignore this.)"
        ),
        reply_markup=area_keyboard(context),
    )


async def subscribe(update: Update, context: Context) -> None:
    """Subscribe the user and offer the districts."""
    await subscriptions.set_subscribed(context.services, context.account.id, True)
    await offer_areas(context)


async def unsubscribe(update: Update, context: Context) -> None:
    """Stop the user's reminders and warnings."""
    _ = context.gettext
    await subscriptions.set_subscribed(context.services, context.account.id, False)
    await context.bot.send_message(
        context.account.id,
        _(
            "You will no longer get safety-day reminders or warnings. "
            "Send /subscribe to get them again."
        ),
    )


async def drop_question(update: Update, context: Context) -> None:
    """Take the yes/no buttons off the welcome message once answered; keep its menu."""
    query = update.callback_query
    assert query is not None
    try:
        await query.edit_message_reply_markup(menu_keyboard(context))
    except BadRequest as exc:  # an old message, or a second press: nothing to take off
        log.info("could not edit the subscription question: %s", exc.message)


async def answer_question(update: Update, context: Context, yes: bool) -> None:
    """Store the answer to the question at /start and say what follows from it."""
    _ = context.gettext
    await answer(update)
    await subscriptions.set_subscribed(context.services, context.account.id, yes)
    await drop_question(update, context)
    if yes:
        await offer_areas(context)
        return
    await context.bot.send_message(
        context.account.id,
        _("All right, no reminders. Send /subscribe if you change your mind."),
    )


async def choose_area(update: Update, context: Context, area: str) -> None:
    """Store the chosen area (subscribing) and say what the user will get."""
    _ = context.gettext
    query = update.callback_query
    assert query is not None
    code = None if area == WHOLE_CITY else area
    try:
        district = await subscriptions.choose_area(context.services, context.account.id, code)
    except NotAllowed:  # a district the city does not have: only a forged button
        await answer(update, _("This button is no longer valid."), alert=True)
        return
    await answer(update)
    if district is None:
        text = _(
            "Done. You will get safety-day reminders and warnings for the whole city. "
            "Send /unsubscribe to stop them."
        )
    else:
        text = _(
            "Done. You will get safety-day reminders, and warnings for {district} and for "
            "the whole city. Send /unsubscribe to stop them."
        ).format(district=html.escape(district.name.get(context.tr.language)))
    try:
        await query.edit_message_text(text)
    except BadRequest:
        await context.bot.send_message(context.account.id, text)


async def on_button(update: Update, context: Context) -> None:
    """Answer the question at /start, or store the chosen area."""
    _ = context.gettext
    query = update.callback_query
    assert query is not None
    pressed = decode(query.data)
    if pressed is not None and pressed.action in ("yes", "no") and not pressed.args:
        await answer_question(update, context, pressed.action == "yes")
    elif pressed is not None and pressed.action == AREA and len(pressed.args) == 1:
        await choose_area(update, context, pressed.args[0])
    else:
        await answer(update, _("This button is no longer valid."), alert=True)


def handlers() -> list[BaseHandler[Update, Context, object]]:
    private = filters.ChatType.PRIVATE
    return [
        CommandHandler("subscribe", subscribe, private),
        CommandHandler("unsubscribe", unsubscribe, private),
        CallbackQueryHandler(on_button, pattern=pattern(Space.SUBSCRIBE)),
    ]
