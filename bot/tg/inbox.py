"""The durable inbox: the Application's update queue, which writes each update to the database
before Telegram may be told it arrived.

python-telegram-bot's Updater awaits ``update_queue.put`` for every update of a getUpdates batch
and only then asks for the next batch, with the offset that confirms this one; its webhook
handler awaits the same ``put`` before it answers Telegram's POST. So a ``put`` that commits
first makes every update durable before Telegram forgets it. What was received and not handled
when the process stopped (a crash) is queued again on start; an update already in the inbox
(Telegram sends an unconfirmed batch again, a webhook call is retried) is not queued twice.
"""

from __future__ import annotations

import asyncio
import json
import logging

from telegram import Bot, Update

from bot.services import Services

log = logging.getLogger(__name__)

# Seconds between attempts to commit an update while the database refuses, doubling to the most.
RETRY_FIRST = 0.1
RETRY_MOST = 5.0


class Inbox(asyncio.Queue[object]):
    """The update queue of the Application (``ApplicationBuilder.update_queue``)."""

    def __init__(self, services: Services) -> None:
        super().__init__()
        self._services = services

    async def put(self, item: object) -> None:
        """Queue an update once it is committed, unless it came before; anything else (PTB's
        stop signal) at once."""
        if isinstance(item, Update) and not await self.keep(item):
            log.info("update %d came again; it is handled once", item.update_id)
            return
        await super().put(item)

    async def keep(self, update: Update) -> bool:
        """Commit the update, however long the database refuses: an error here would end PTB's
        polling for good, and until this returns Telegram keeps the update (polling is not
        confirmed, a webhook call not answered). False when it was there already."""
        payload = update.to_json()
        delay = RETRY_FIRST
        while True:
            try:
                return await self.receive(update.update_id, payload)
            except Exception:
                log.exception("could not keep update %d; trying again", update.update_id)
            await asyncio.sleep(delay)
            delay = min(2 * delay, RETRY_MOST)

    async def receive(self, update_id: int, payload: str) -> bool:
        """Write an update's JSON to the inbox; False when it was there already."""
        services = self._services
        async with services.db.autocommit() as session:
            return await session.inbox.add(update_id, payload, services.clock.now())

    async def requeue(self, bot: Bot) -> int:
        """Queue, in arrival order, what was received and not handled before the last stop;
        return how many. Run it before updates are fetched, so they come after these."""
        waiting = await self._services.db.read.inbox.waiting()
        for row in waiting:
            await super().put(Update.de_json(json.loads(row.payload), bot))
        if waiting:
            log.info("%d update(s) received before the last stop are handled now", len(waiting))
        return len(waiting)

    async def handled(self, update: object) -> None:
        """Record that an update's handlers have finished (the update processor calls this)."""
        if not isinstance(update, Update):
            return
        services = self._services
        async with services.db.autocommit() as session:
            await session.inbox.mark_handled([update.update_id], services.clock.now())
