"""Telegram-facing handlers, one module per feature, registered here in one ordered list."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from telegram import Update
from telegram.ext import BaseHandler, MessageHandler, TypeHandler, filters

from bot.tg.app import ShaoziApp
from bot.tg.context import Context
from handlers import (
    admin,
    broadcast,
    common,
    department,
    enterprise,
    inputs,
    join,
    language,
    membership,
    report,
    rewards,
    subscriptions,
    supervisor,
    track,
)

# Group -1 runs first for every update: it loads who is speaking and their language.
ACCOUNT_GROUP = -1

# Features waiting for a user's message, asked in this order; each returns True when the
# message was theirs. A reply to the department's question answers it; an input asked for by
# a button (a reason, an answer) is the most recent thing the user was asked, so it goes before
# a report draft; a photo that none of them takes starts a report.
MessageConsumer = Callable[[Update, Context], Awaitable[bool]]
CONSUMERS: tuple[MessageConsumer, ...] = (
    track.on_reply,
    inputs.on_message,
    report.on_message,
    report.on_first_photo,
)


async def route_message(update: Update, context: Context) -> None:
    """Give a private message to the feature waiting for it, else say it was not expected."""
    for consumer in CONSUMERS:
        if await consumer(update, context):
            return
    await common.unexpected_message(update, context)


def install(app: ShaoziApp) -> None:
    """Register every handler; in group 0 the first match wins, so order matters."""
    app.add_handler(TypeHandler(Update, common.load_account), group=ACCOUNT_GROUP)
    ordered: list[BaseHandler[Update, common.Context, object]] = [
        # First: a press without data would match any handler with a pattern.
        common.dataless_press(),
        *membership.handlers(),
        *common.commands(),
        # A report in progress asks its step again in the language just chosen.
        *language.handlers(report.ask_again),
        *join.handlers(),
        *admin.handlers(),
        *subscriptions.handlers(),
        *broadcast.handlers(),
        # Before the fallbacks: /cancel of a report in progress, and every edited message.
        *report.handlers(),
        *track.handlers(),
        *track.reporter_handlers(),
        # The enterprise's case buttons (fix, ext) before the officers' catch-all "cs:1:".
        *enterprise.handlers(),
        *department.handlers(),
        *rewards.handlers(),
        *supervisor.handlers(),
        MessageHandler(
            filters.ChatType.PRIVATE & ~filters.COMMAND & ~filters.StatusUpdate.ALL,
            route_message,
        ),
        # Last: anything no feature claimed gets a helpful answer, never silence.
        *common.fallbacks(),
    ]
    for handler in ordered:
        app.add_handler(handler)
    app.add_error_handler(common.on_error)
