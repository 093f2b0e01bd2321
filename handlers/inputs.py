"""Typed input the bot asked a user for (a reason, a question, a date, fix photos …).

What is awaited is stored in ``pending_inputs`` (bot/pending.py: one input per party a user acts
as), so it survives restarts like report drafts do. Features register a handler per kind; the
message router hands a message to the input it is for: the one the bot's message it replies to
asked for, else the newest.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any, TypeVar

from telegram import Message, Update

from bot import pending
from bot.errors import InputMistake, ShaoziError
from bot.tg.context import Context
from bot.vocabulary.models import PendingInput

T = TypeVar("T")

InputHandler = Callable[[Update, Context, PendingInput], Awaitable[None]]
_HANDLERS: dict[str, InputHandler] = {}

# The input the message being handled was given to: what ``settle`` and ``done`` close. A
# context variable, so each update (its own task) sees only its own.
_HANDLING: ContextVar[PendingInput | None] = ContextVar("handling_input", default=None)


def handles(kind: str) -> Callable[[InputHandler], InputHandler]:
    """Register the handler of one kind of pending input."""

    def register(handler: InputHandler) -> InputHandler:
        if kind in _HANDLERS:
            raise ValueError(f"two handlers for pending input {kind!r}")
        _HANDLERS[kind] = handler
        return handler

    return register


def kinds() -> frozenset[str]:
    """Every kind of input a handler is registered for."""
    return frozenset(_HANDLERS)


async def expect(
    context: Context,
    user_id: int,
    kind: str,
    *,
    case_id: int | None = None,
    version: int | None = None,
    data: dict[str, Any] | None = None,
) -> None:
    """Remember that the user owes this input (replacing the one their party owed before)."""
    await pending.expect(
        context.services, user_id, kind, case_id=case_id, version=version, data=data
    )


async def asked(context: Context, user_id: int, kind: str, prompt: Message) -> None:
    """``prompt`` is the bot's message asking for the input of this kind: a reply to it goes
    to that input, whatever the user was asked for since."""
    await pending.asked_with(context.services, user_id, kind, prompt.message_id)


async def done(context: Context, user_id: int, kind: str | None = None) -> bool:
    """Stop waiting for an input: the one of ``kind`` when named, else the one the message
    being handled was given to, else the newest. False when none was waiting."""
    if kind is not None:
        return await pending.drop(context.services, user_id, kind)
    handling = _HANDLING.get()
    if handling is not None and handling.user_id == user_id:
        return await pending.settled(context.services, handling)
    newest = await pending.owed(context.services, user_id)
    return newest is not None and await pending.settled(context.services, newest)


async def forget_all(context: Context, user_id: int) -> bool:
    """Stop waiting for anything the user was asked; False when nothing was waiting."""
    return await pending.clear(context.services, user_id)


async def owed(context: Context, kind: str | None = None) -> PendingInput | None:
    """The input of this kind the user of this update owes, or (no kind) the newest."""
    return await pending.owed(context.services, context.account.id, kind)


def replied_to(message: Message | None) -> int | None:
    """The bot's message that ``message`` replies to (Telegram's Reply), if it is one."""
    replied = message.reply_to_message if message is not None else None
    if replied is None or replied.from_user is None or not replied.from_user.is_bot:
        return None
    return replied.message_id


async def addressed(update: Update, context: Context) -> PendingInput | None:
    """The input the user's message goes to: the one the bot's message it replies to asked
    for, else the newest."""
    reply_to = replied_to(update.effective_message)
    return await pending.addressed(context.services, context.account.id, reply_to)


async def on_message(update: Update, context: Context) -> bool:
    """Give the message to the input it is for; False when the user owes none."""
    if not context.has_account:
        return False
    asked = await addressed(update, context)
    if asked is None:
        return False
    if asked.kind not in _HANDLERS:  # a kind from an older version of the bot
        await pending.settled(context.services, asked)
        return False
    await handle(update, context, asked)
    return True


async def handle(update: Update, context: Context, asked: PendingInput) -> None:
    """Give the message to the handler of this input."""
    handler = _HANDLERS[asked.kind]
    token = _HANDLING.set(asked)
    try:
        await handler(update, context, asked)
    finally:
        _HANDLING.reset(token)


async def settle(
    context: Context,
    message: Message,
    apply: Callable[[], Awaitable[T]],
    *,
    asked: PendingInput | None = None,
) -> T | None:
    """Apply what the user typed. A mistake they can correct keeps the input open; any other
    refusal, or success, closes it: ``asked``, else the input this message was given to (none:
    a reply that answers the department's question, handlers/track.py). The other inputs the
    user owes still wait. Returns the result, or None when it was refused."""
    _ = context.gettext
    closing = asked or _HANDLING.get()
    try:
        result = await apply()
    except InputMistake as exc:
        await message.reply_text(exc.render(_) + "\n" + _("(Send /cancel to give up.)"))
        return None
    except ShaoziError as exc:
        if closing is not None:
            await pending.settled(context.services, closing)
        await message.reply_text(exc.render(_))
        return None
    if closing is not None:
        await pending.settled(context.services, closing)
    return result


async def cancel(update: Update, context: Context) -> PendingInput | None:
    """/cancel: stop waiting for the input the command is addressed to, as a message would be
    (a reply to the bot's question cancels that one, else the newest); the others still wait.
    None when the user owed nothing."""
    asked = await addressed(update, context)
    if asked is None or not await pending.settled(context.services, asked):
        return None
    return asked
