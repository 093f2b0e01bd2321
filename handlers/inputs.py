"""Typed input the bot asked a user for (a reason, a question, a date, fix photos …).

What is awaited is stored in ``pending_inputs``, so it survives restarts like report drafts do.
Features register a handler per kind; the message router hands the next message to it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from telegram import Message, Update

from bot import pending
from bot.errors import InputMistake, ShaoziError
from bot.tg.context import Context
from bot.vocabulary.models import PendingInput

T = TypeVar("T")

InputHandler = Callable[[Update, Context, PendingInput], Awaitable[None]]
_HANDLERS: dict[str, InputHandler] = {}


def handles(kind: str) -> Callable[[InputHandler], InputHandler]:
    """Register the handler of one kind of pending input."""

    def register(handler: InputHandler) -> InputHandler:
        if kind in _HANDLERS:
            raise ValueError(f"two handlers for pending input {kind!r}")
        _HANDLERS[kind] = handler
        return handler

    return register


async def expect(
    context: Context,
    user_id: int,
    kind: str,
    *,
    case_id: int | None = None,
    version: int | None = None,
    data: dict[str, Any] | None = None,
) -> None:
    """Remember that the user's next message is this input (replacing any other)."""
    await pending.expect(
        context.services, user_id, kind, case_id=case_id, version=version, data=data
    )


async def done(context: Context, user_id: int) -> bool:
    return await pending.clear(context.services, user_id)


async def owed(context: Context) -> PendingInput | None:
    """The input the user of this update owes, if any."""
    return await pending.owed(context.services, context.account.id)


async def on_message(update: Update, context: Context) -> bool:
    """Give the message to the input the user owes; False when they owe none."""
    if not context.has_account:
        return False
    asked = await owed(context)
    if asked is None:
        return False
    handler = _HANDLERS.get(asked.kind)
    if handler is None:  # a kind from an older version of the bot
        await done(context, context.account.id)
        return False
    await handler(update, context, asked)
    return True


async def settle(context: Context, message: Message, apply: Callable[[], Awaitable[T]]) -> T | None:
    """Apply what the user typed. A mistake they can correct keeps the input open; any other
    refusal, or success, closes it. Returns the result, or None when it was refused."""
    _ = context.gettext
    try:
        result = await apply()
    except InputMistake as exc:
        await message.reply_text(exc.render(_) + "\n" + _("(Send /cancel to give up.)"))
        return None
    except ShaoziError as exc:
        await done(context, context.account.id)
        await message.reply_text(exc.render(_))
        return None
    await done(context, context.account.id)
    return result
