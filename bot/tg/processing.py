"""Update processing: one conversation's updates in arrival order, different conversations at once.

The Application starts a task per update in arrival order and each passes PTB's semaphore (the
bound on updates handled at once) in that order before it reaches ``do_process_update``. There
the first update of an idle conversation is handled in its own task, which then handles the
updates of that conversation that arrived meanwhile, one after another; those only join its line
and return. So a conversation holds one place of the bound however many updates it has waiting,
and another conversation never waits for it. A conversation is forgotten when its line is empty.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

log = logging.getLogger(__name__)

Conversation = tuple[int | None, int | None]  # (chat id, user id)
Finished = Callable[[object], Awaitable[None]]


def conversation_of(update: object) -> Conversation | None:
    """The conversation an update belongs to: its user in its chat. A button press is its
    presser's, a my_chat_member update the user's who changed the bot's membership (in a private
    chat, the user's own chat). None for an update of nobody, which waits for no one."""
    if not isinstance(update, Update):
        return None
    chat, user = update.effective_chat, update.effective_user
    if chat is None and user is None:
        return None
    return (chat.id if chat else None, user.id if user else None)


class ConversationProcessor(BaseUpdateProcessor):
    """Handles each conversation's updates in order, one at a time, and up to
    ``max_concurrent_updates`` conversations at once; ``finished`` is told of every update whose
    handlers have run (the inbox marks it handled)."""

    def __init__(self, max_concurrent_updates: int, finished: Finished | None = None) -> None:
        super().__init__(max_concurrent_updates)
        self._finished = finished
        # A conversation is here while one of its updates is handled; the line holds the rest.
        self._lines: dict[Conversation, deque[tuple[object, Awaitable[Any]]]] = {}

    @property
    def conversations(self) -> int:
        """How many conversations are being handled now (none are kept once idle)."""
        return len(self._lines)

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Handle the update now, or after the earlier ones of its conversation."""
        key = conversation_of(update)
        if key is None:
            await self._handle(update, coroutine)
            return
        line = self._lines.get(key)
        if line is not None:
            line.append((update, coroutine))
            return
        line = self._lines[key] = deque()
        try:
            await self._handle(update, coroutine)
            while line:
                await self._handle(*line.popleft())
        finally:
            del self._lines[key]
            # Left only when cancelled (shutdown): they stay in the inbox for the next start.
            for _, waiting in line:
                if isinstance(waiting, Coroutine):
                    waiting.close()

    async def _handle(self, update: object, coroutine: Awaitable[Any]) -> None:
        try:
            await coroutine
        except Exception:
            # Application.process_update gives handler errors to the error handler; this is
            # whatever escaped it, and must not stop the conversation's next update.
            log.exception("an update could not be processed")
        if self._finished is not None:
            try:
                await self._finished(update)
            except Exception:
                # The update is handled again on the next start: better than not at all.
                log.exception("could not record an update as handled")

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release: the Application has waited for every update by now."""
