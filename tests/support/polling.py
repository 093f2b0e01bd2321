"""The bot as run_bot.py runs it, in the test's own event loop: long polling the fake Bot API,
every update through the durable inbox and the update processor.

(tests/support/chat.py's Bot hands each update to the Application directly, one at a time.)
Users talk to it with ``deliver=None``: an update goes to the fake API, and the bot fetches it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, TypeHandler

import handlers
from bot.city import CityConfig
from bot.clock import ManualClock
from bot.settings import Settings
from bot.tg.app import ShaoziApp, build_application
from bot.tg.processing import ConversationProcessor
from fakebotapi import FakeBotAPI, FakeRequest, FakeUser

# Before everything else, even loading the account (handlers.ACCOUNT_GROUP).
FIRST_GROUP = -2


class Hold:
    """A first handler that keeps the updates ``chosen`` picks waiting until released, and
    counts how many updates are inside the handlers at once."""

    def __init__(self, chosen: Callable[[Update], bool] = lambda update: True) -> None:
        self.chosen = chosen
        self.released = asyncio.Event()
        self.running = 0
        self.peak = 0
        self._changed = asyncio.Event()

    def handler(self) -> BaseHandler[Update, Any, None]:
        return TypeHandler(Update, self._hold)

    async def _hold(self, update: Update, context: object) -> None:
        self.running += 1
        self.peak = max(self.peak, self.running)
        self._changed.set()
        try:
            if self.chosen(update):
                await self.released.wait()
        finally:
            self.running -= 1
            self._changed.set()

    async def until_running(self, count: int) -> None:
        """Wait until ``count`` updates are inside the handlers."""
        async with asyncio.timeout(10):
            while self.running != count:
                self._changed.clear()
                await self._changed.wait()


class Polling:
    """One bot process's life on the fake API and a database that outlive it."""

    def __init__(
        self, api: FakeBotAPI, settings: Settings, clock: ManualClock, city: CityConfig
    ) -> None:
        self.api, self.settings, self.clock, self.city = api, settings, clock, city
        self.app: ShaoziApp | None = None
        # The offset of each getUpdates call the bot made: what it confirmed to "Telegram".
        self.offsets: list[int] = []
        self.on_poll: Callable[[int], None] | None = None
        self._polled = asyncio.Event()
        self._holds: list[Hold] = []
        self._first: list[BaseHandler[Update, Any, None]] = []
        handle = api.handle

        def watching(method: str, params: Any, files: Any = None) -> tuple[int, Any]:
            if method.lower() == "getupdates":
                offset = int(params.get("offset") or 0)
                self.offsets.append(offset)
                if self.on_poll is not None:
                    self.on_poll(offset)
                self._polled.set()
            return handle(method, params, files)

        api.handle = watching  # type: ignore[method-assign]  # observes the bot's polling

    def user(self, user_id: int) -> FakeUser:
        return FakeUser(self.api, user_id, language_code="en")

    def hold(self, chosen: Callable[[Update], bool] = lambda update: True) -> Hold:
        """A Hold in the next start's handlers (released when the bot stops, so a failed test
        does not wait for it forever)."""
        hold = Hold(chosen)
        self._holds.append(hold)
        self._first.append(hold.handler())
        return hold

    def fail(self, chosen: Callable[[Update], bool]) -> None:
        """Make the next start's handlers raise on the updates ``chosen`` picks (a bug)."""

        async def broken(update: Update, context: object) -> None:
            if chosen(update):
                raise RuntimeError("a handler failed")

        self._first.append(TypeHandler(Update, broken))

    async def start(self, *, fetch: bool = True, webhook: int | None = None) -> ShaoziApp:
        """Start as run_polling does: post_init (which queues what a stop left unhandled),
        polling, then fetching from the queue (``fetch=False``: updates are received and kept,
        not handled). With ``webhook`` (a port), as run_webhook does: Telegram's POSTs come to
        http://127.0.0.1:PORT/hook."""
        app = build_application(
            self.settings,
            handlers.install,
            city=self.city,
            clock=self.clock,
            request=FakeRequest(self.api),
        )
        for n, handler in enumerate(self._first):  # one handler runs per group
            app.add_handler(handler, group=FIRST_GROUP - n)
        await app.initialize()
        assert app.post_init is not None
        await app.post_init(app)
        assert app.updater is not None
        if webhook is None:
            await app.updater.start_polling()
        else:
            await app.updater.start_webhook(
                listen="127.0.0.1",
                port=webhook,
                url_path="hook",
                webhook_url="https://bot.example.org/hook",  # the proxy in front of it
            )
        if fetch:
            await app.start()
        self.app = app
        return app

    @property
    def processor(self) -> ConversationProcessor:
        assert self.app is not None
        processor = self.app.update_processor
        assert isinstance(processor, ConversationProcessor)
        return processor

    async def confirmed(self, update_id: int) -> None:
        """Wait until the bot has asked for updates past ``update_id`` (confirming it)."""
        async with asyncio.timeout(10):
            while not self.offsets or self.offsets[-1] <= update_id:
                self._polled.clear()
                await self._polled.wait()

    async def idle(self) -> None:
        """Wait until every update queued so far has been handled (and marked so)."""
        assert self.app is not None
        async with asyncio.timeout(10):
            await self.app.update_queue.join()

    async def stop(self) -> None:
        """Stop as on SIGTERM: stop polling, handle what was queued, close."""
        app = self.app
        assert app is not None
        assert app.updater is not None
        for hold in self._holds:
            hold.released.set()
        async with asyncio.timeout(10):
            if app.updater.running:
                await app.updater.stop()
            if app.running:
                await app.stop()
        await self._close(app)

    async def crash(self) -> None:
        """End the process with updates received (committed, confirmed) but not handled: the
        Application has stopped fetching them, or was never fetching."""
        app = self.app
        assert app is not None
        assert app.updater is not None
        assert not app.running, "stop fetching first (app.stop()) or start with fetch=False"
        await app.updater.stop()
        await self._close(app)

    async def _close(self, app: ShaoziApp) -> None:
        assert app.post_shutdown is not None
        await app.post_shutdown(app)
        await app.shutdown()
        self.app = None
