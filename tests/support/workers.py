"""Several bot workers on one database, SQLite or PostgreSQL, in the test's own event loop

Each worker is a whole Application built as run_bot.py builds it with SHAOZI_WORKER set: its
own connections to the database, its own inbox, update processor and outbox sender. An update
goes to the worker a reverse proxy would have given it (``to``), as a webhook call does: through
the worker's inbox. Their background tasks (the leader's lease, the inbox's pump, the outbox
loop) are not left running: a test moves the clock and runs them itself, so nothing waits for
real time.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, TypeHandler

import handlers
from bot.city import CityConfig
from bot.clock import ManualClock
from bot.schedule import Leader
from bot.settings import Settings
from bot.tg.app import ShaoziApp, build_application, outbox_worker
from bot.tg.delivery import OutboxWorker, stop_task
from bot.tg.inbox import Inbox
from fakebotapi import FakeBotAPI, FakeRequest, FakeUser
from tests.support import tables

FIRST_GROUP = -2


async def initialize_in_hand(app: ShaoziApp) -> None:
    """Initialize a worker's Application as run_bot.py does (its post_init: the database, the
    inbox's requeue, the leader), but with its background work (the leader's lease, the
    inbox's pump, the outbox loop) stopped: the caller runs that itself, on its own clock."""
    await app.initialize()
    assert app.post_init is not None
    await app.post_init(app)
    for task in (*app.bot_data.worker_tasks, app.bot_data.worker_task):
        await stop_task(task)
    app.bot_data.worker_tasks, app.bot_data.worker_task = (), None


class Worker:
    """One worker process's life."""

    def __init__(self, name: str, app: ShaoziApp) -> None:
        self.name, self.app = name, app
        self.alive = True

    @property
    def inbox(self) -> Inbox:
        inbox = self.app.update_queue
        assert isinstance(inbox, Inbox)
        return inbox

    @property
    def leader(self) -> Leader:
        leader = self.app.bot_data.leader
        assert leader is not None
        return leader

    def outbox(self) -> OutboxWorker:
        return outbox_worker(self.app)

    async def receive(self, update: dict[str, Any]) -> None:
        """Telegram's webhook call, given to this worker: answered once this returns."""
        await self.inbox.put(Update.de_json(update, self.app.bot))

    async def die(self) -> None:
        """The process is killed: nothing more is handled or let go; its connections close."""
        self.alive = False
        app = self.app
        if app.running:
            # What is queued and not yet handled dies with the process (it stays in the inbox).
            while not self.inbox.empty():
                self.inbox.get_nowait()
                self.inbox.task_done()
            await app.stop()
        await app.bot_data.services.db.close()
        await app.shutdown()

    async def stop(self) -> None:
        """A clean stop (SIGTERM)."""
        self.alive = False
        app = self.app
        if app.running:
            await app.stop()
        assert app.post_shutdown is not None
        await app.post_shutdown(app)
        await app.shutdown()


class Workers:
    """N workers on one database, one fake Bot API and one clock."""

    def __init__(
        self, api: FakeBotAPI, settings: Settings, clock: ManualClock, city: CityConfig
    ) -> None:
        self.api, self.settings, self.clock, self.city = api, settings, clock, city
        self.workers: dict[str, Worker] = {}
        self.first: list[BaseHandler[Update, Any, None]] = []
        self._next_user = itertools.count(7000)
        self._turn = itertools.count()

    async def start(self, name: str, *, fetch: bool = True) -> Worker:
        """Start worker ``name`` as run_bot.py would (``fetch=False``: it takes updates and
        never gets to handle them, as a process killed at once)."""
        settings = self.settings.model_copy(update={"worker": name})
        app = build_application(
            settings,
            handlers.install,
            city=self.city,
            clock=self.clock,
            request=FakeRequest(self.api),
        )
        for n, handler in enumerate(self.first):
            app.add_handler(handler, group=FIRST_GROUP - n)
        await initialize_in_hand(app)
        if fetch:
            await app.start()
        worker = self.workers[name] = Worker(name, app)
        return worker

    def watch(self, handler: Callable[[Update, object], Any]) -> None:
        """A first handler in every worker started from now on (one handler runs per group)."""
        self.first.append(TypeHandler(Update, handler))

    def user(self, to: Callable[[], Worker] | None = None) -> FakeUser:
        """A user whose every update goes to the worker ``to`` picks (by default, each
        alive worker in turn: a proxy's round robin)."""
        pick = to or self.round_robin

        async def deliver(update: dict[str, Any]) -> None:
            await pick().receive(update)

        return FakeUser(self.api, next(self._next_user), language_code="en", deliver=deliver)

    def round_robin(self) -> Worker:
        alive = [w for w in self.workers.values() if w.alive]
        return alive[next(self._turn) % len(alive)]

    def waiting(self) -> int:
        sql = "SELECT COUNT(*) FROM inbox WHERE handled_at IS NULL"
        return int(tables.value(self.settings.database, sql))

    def held(self) -> int:
        """How many conversations a worker holds."""
        return int(tables.count(self.settings.database, "conversation_claims"))

    async def settled(self, pump: bool = False, leaving: int = 0, let_go: bool = False) -> None:
        """Wait until no update waits in the inbox but ``leaving`` (``pump``: the workers look
        for conversations nobody holds, as their background task does every second;
        ``let_go``: and no worker holds a conversation, as a worker lets one go only after it
        recorded its last update handled, on PostgreSQL a round trip later)."""
        async with asyncio.timeout(10):
            while self.waiting() > leaving or (let_go and self.held()):
                if pump:
                    for worker in self.workers.values():
                        if worker.alive:
                            await worker.inbox.pump()
                await asyncio.sleep(0.005)

    async def close(self) -> None:
        for worker in self.workers.values():
            if worker.alive:
                await worker.stop()
