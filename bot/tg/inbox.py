"""The durable inbox: the Application's update queue, which writes each update to the database
before Telegram may be told it arrived.

python-telegram-bot's Updater awaits ``update_queue.put`` for every update of a getUpdates batch
and only then asks for the next batch, with the offset that confirms this one; its webhook
handler awaits the same ``put`` before it answers Telegram's POST. So a ``put`` that commits
first makes every update durable before Telegram forgets it. What was received and not handled
when the process stopped (a crash) is queued again on start; an update already in the inbox
(Telegram sends an unconfirmed batch again, a webhook call is retried) is not queued twice.

Several workers on one database (``holder`` set, issue 18): any worker receives an update (a
webhook call the proxy gave it, or the leader's polling), and the worker that claims the
update's conversation handles it. A worker claims an idle conversation when an update of it
arrives, handles every waiting update of it in update-id order (read after the claim, so nothing
another worker handled is handled again), and lets the conversation go when it has none left;
an update that arrives while another worker holds its conversation waits in the inbox for that
worker, which looks again after letting go. ``pump`` renews this worker's claims and takes the
conversations nobody holds: those of a worker that died (its claims expire after CLAIM) and
any update left behind. The order kept is Telegram's: it sends a chat's next update once the
webhook call of the one before is answered, which ``put`` does after the commit (polling: one
worker puts each update in turn). Two updates of a chat arriving at two workers at the same
moment would have no order between them: each is still handled once.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging

from telegram import Bot, Update

from bot.services import Services
from bot.tg.processing import conversation_of

log = logging.getLogger(__name__)

# Seconds between attempts to commit an update while the database refuses, doubling to the most.
RETRY_FIRST = 0.1
RETRY_MOST = 5.0
# How long a worker's claim on a conversation lasts unless renewed (``pump``, every PUMP).
CLAIM = dt.timedelta(seconds=30)
PUMP = 1.0


def conversation_key(update: Update) -> str:
    """The conversation's name in the inbox: "chat:user", or the update's own for an update of
    nobody (which waits for no one)."""
    key = conversation_of(update)
    if key is None:
        return f"update:{update.update_id}"
    chat, user = key
    return f"{'' if chat is None else chat}:{'' if user is None else user}"


class Inbox(asyncio.Queue[object]):
    """The update queue of the Application (``ApplicationBuilder.update_queue``)."""

    def __init__(self, services: Services, holder: str | None = None) -> None:
        super().__init__()
        self._services = services
        self.holder = holder
        # Several workers: the updates queued here and not yet handled, by conversation; a
        # conversation is held (claimed) while it is here.
        self._local: dict[str, set[int]] = {}
        self._claims = asyncio.Lock()
        self._bot: Bot | None = None

    async def put(self, item: object) -> None:
        """Queue an update once it is committed, unless it came before; anything else (PTB's
        stop signal) at once. Several workers: queue it here if this worker claims its
        conversation, else leave it to the worker that holds it."""
        if isinstance(item, Update):
            if not await self.keep(item):
                log.info("update %d came again; it is handled once", item.update_id)
                return
            if self.holder is not None:
                try:
                    await self.take(conversation_key(item))
                except Exception:  # it is kept: the pump takes it
                    log.exception("could not claim the conversation of update %d", item.update_id)
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
                return await self.receive(update.update_id, payload, conversation_key(update))
            except Exception:
                log.exception("could not keep update %d; trying again", update.update_id)
            await asyncio.sleep(delay)
            delay = min(2 * delay, RETRY_MOST)

    async def receive(self, update_id: int, payload: str, conversation: str | None = None) -> bool:
        """Write an update's JSON to the inbox; False when it was there already."""
        services = self._services
        async with services.db.autocommit() as session:
            return await session.inbox.add(update_id, payload, services.clock.now(), conversation)

    async def requeue(self, bot: Bot) -> int:
        """Queue, in arrival order, what was received and not handled before the last stop;
        return how many. Run it before updates are fetched, so they come after these.
        Several workers: what this worker's name held before is let go (this process holds
        nothing yet), then what nobody holds is taken (``pump``)."""
        self._bot = bot
        if self.holder is not None:
            async with self._services.db.autocommit() as session:
                await session.leases.release_all(self.holder)
            return await self.pump()
        waiting = await self._services.db.read.inbox.waiting()
        for row in waiting:
            await super().put(Update.de_json(json.loads(row.payload), bot))
        if waiting:
            log.info("%d update(s) received before the last stop are handled now", len(waiting))
        return len(waiting)

    async def handled(self, update: object) -> None:
        """Record that an update's handlers have finished (the update processor calls this),
        then, several workers, let its conversation go if nothing of it is queued here."""
        if not isinstance(update, Update):
            return
        await self.record(update)
        await self.let_go_if_idle(update)

    async def record(self, update: Update) -> None:
        """Record the update handled: it is not handled again, by any worker."""
        services = self._services
        async with services.db.autocommit() as session:
            await session.inbox.mark_handled([update.update_id], services.clock.now())

    async def let_go_if_idle(self, update: Update) -> None:
        """Several workers: let the update's conversation go when nothing of it is queued
        here (and look once more for what came meanwhile)."""
        if self.holder is None:
            return
        key = conversation_key(update)
        # Under the lock: a ``_take`` that read the conversation's waiting updates before this
        # one was recorded would otherwise find it neither here nor handled, and queue it again.
        async with self._claims:
            local = self._local.get(key)
            if local is not None:
                local.discard(update.update_id)
            if not local:
                await self._settle(key)

    # Several workers ----------------------------------------------------------------------

    async def take(self, key: str) -> int:
        """Claim a conversation and queue its waiting updates not queued here yet; return how
        many were queued (0 when another worker holds it, or nothing waits)."""
        async with self._claims:
            return await self._take(key)

    async def _take(self, key: str) -> int:
        assert self.holder is not None
        services = self._services
        now = services.clock.now()
        async with services.db.autocommit() as session:
            if not await session.leases.claim(key, self.holder, now, now + CLAIM):
                return 0
        # Read after the claim: what the last holder handled before letting go is handled.
        waiting = await services.db.lookup.inbox.waiting_in(key)
        local = self._local.setdefault(key, set())
        fresh = [row for row in waiting if row.update_id not in local]
        for row in fresh:
            local.add(row.update_id)
            update = Update.de_json(json.loads(row.payload), self._bot)
            await super().put(update)
        if not local:
            del self._local[key]
            async with services.db.autocommit() as session:
                await session.leases.release(key, self.holder)
        return len(fresh)

    async def _settle(self, key: str) -> None:
        """A conversation has nothing queued here: let it go, then look once more, as an
        update that came meanwhile to another worker found it held and was left to us.
        (The caller holds ``_claims``.)"""
        assert self.holder is not None
        self._local.pop(key, None)
        services = self._services
        async with services.db.autocommit() as session:
            await session.leases.release(key, self.holder)
        if await services.db.lookup.inbox.has_waiting(key):
            await self._take(key)

    async def pump(self) -> int:
        """Renew this worker's claims and take the conversations with updates waiting that
        no live worker holds; return how many updates were queued."""
        assert self.holder is not None
        services = self._services
        now = services.clock.now()
        async with services.db.autocommit() as session:
            await session.leases.renew_claims(self.holder, now + CLAIM)
        keys = await services.db.read.inbox.unclaimed(self.holder, now)
        queued = 0
        for key in keys:
            if key not in self._local:
                queued += await self.take(key)
        if queued:
            log.info("%d waiting update(s) taken over", queued)
        return queued

    async def pump_forever(self) -> None:
        """The background task of a worker among several."""
        while True:
            try:
                await self.pump()
            except Exception:  # a database hiccup must not end the takeover for good
                log.exception("inbox pump failed")
            await asyncio.sleep(PUMP)

    async def let_go(self) -> None:
        """A clean stop: let go of every conversation this worker holds, so another worker
        takes at once what waits of them."""
        assert self.holder is not None
        async with self._services.db.autocommit() as session:
            await session.leases.release_all(self.holder)
