"""/subscribe and /unsubscribe: safety-day reminders and warnings, optionally for one district.

The question at /start ("Do you want reminders …?") is answered with the same buttons; the
buttons act on whoever presses them, so there is nothing to forge.
"""

from __future__ import annotations

import html
import logging
import re

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, filters

from bot.tg.context import Context
from handlers.common import SUBSCRIBE_PREFIX as PREFIX
from handlers.common import answer, menu_keyboard

log = logging.getLogger(__name__)

BUTTON = re.compile(rf"^{PREFIX}:(?:(yes|no)|d:([a-z][a-z0-9_]{{0,31}}|\*))$")
WHOLE_CITY = "*"


def area_keyboard(context: Context) -> InlineKeyboardMarkup:
    """One button per district of the city, two a row, then the whole city."""
    _ = context.gettext
    language = context.tr.language
    buttons = [
        InlineKeyboardButton(
            _("📍 My area: {district}").format(district=d.name.get(language)),
            callback_data=f"{PREFIX}:d:{d.code}",
        )
        for d in context.city.districts
    ]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    rows.append(
        [InlineKeyboardButton(_("🏙 The whole city"), callback_data=f"{PREFIX}:d:{WHOLE_CITY}")]
    )
    return InlineKeyboardMarkup(rows)


async def set_subscribed(context: Context, subscribed: bool) -> None:
    async with context.db.transaction() as tx:
        await tx.users.set_subscribed(context.account.id, subscribed)


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
    await set_subscribed(context, True)
    await offer_areas(context)


async def unsubscribe(update: Update, context: Context) -> None:
    """Stop the user's reminders and warnings."""
    _ = context.gettext
    await set_subscribed(context, False)
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


async def on_button(update: Update, context: Context) -> None:
    """Answer the question at /start, or store the chosen area."""
    _ = context.gettext
    query = update.callback_query
    assert query is not None
    match = BUTTON.match(query.data or "")
    if match is None:
        await answer(update, _("This button is no longer valid."), alert=True)
        return
    choice, area = match.groups()
    if choice == "yes":
        await answer(update)
        await set_subscribed(context, True)
        await drop_question(update, context)
        await offer_areas(context)
        return
    if choice == "no":
        await answer(update)
        await set_subscribed(context, False)
        await drop_question(update, context)
        await context.bot.send_message(
            context.account.id,
            _("All right, no reminders. Send /subscribe if you change your mind."),
        )
        return
    district = None if area == WHOLE_CITY else context.city.district(area)
    if area != WHOLE_CITY and district is None:
        await answer(update, _("This button is no longer valid."), alert=True)
        return
    # Choosing an area is asking for its warnings: it subscribes, even from an old message.
    async with context.db.transaction() as tx:
        await tx.users.set_subscribed(context.account.id, True)
        await tx.users.set_district(context.account.id, district.code if district else None)
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


def handlers() -> list[BaseHandler[Update, Context, object]]:
    private = filters.ChatType.PRIVATE
    return [
        CommandHandler("subscribe", subscribe, private),
        CommandHandler("unsubscribe", unsubscribe, private),
        CallbackQueryHandler(on_button, pattern=f"^{PREFIX}:"),
    ]
