"""Several Shaozi workers on one database in one process, for bench/city_month.py --workers.

Each worker is a whole Application built as run_bot.py builds it with SHAOZI_WORKER set, with
its own connections to the database, its own inbox, update processor, leader and outbox
sender; they share the fake Bot API and the simulated clock. An update goes to a random live
worker, as a reverse proxy would give it (through the worker's inbox, as a webhook call). A
worker is killed at a random Bot API call of its own: the call is answered (the message went
out) and nothing of the worker runs after it, as with SIGKILL: what it was handling is not
marked handled, what it was sending not recorded; its claims stay until they run out.

Why one process, not three: the city month is a simulation on a clock it moves itself, with
users that act only once the bot has answered; child processes would each need that clock
and the fake Bot API over HTTP. Here the workers share nothing but the database (each
its own connections, claims, leases and budget rows, as processes would).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import random
from collections import Counter
from typing import Any

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import TypeHandler
from telegram.request import BaseRequest, RequestData

import handlers
from bot.city import CityConfig
from bot.clock import ManualClock
from bot.open311.server import stop_channel
from bot.settings import Settings
from bot.tg import delivery, inbox
from bot.tg.app import ShaoziApp, build_application
from bot.tg.delivery import Limits, OutboxWorker, Part
from bot.tg.inbox import Inbox
from bot.tg.processing import ConversationProcessor
from bot.vocabulary.models import OutboxRow
from fakebotapi import FakeBotAPI, FakeRequest
from storage.db import to_db
from tests.support import tables
from tests.support.workers import initialize_in_hand

FIRST_GROUP = -5
# Real seconds without an update recorded handled before the simulation looks why.
QUIET = 0.05


class Killed(BaseException):
    """The worker's process is gone: nothing of it runs any more. ``accepted``: the call that
    killed it was answered first (its message went out)."""

    def __init__(self, accepted: bool) -> None:
        super().__init__("killed")
        self.accepted = accepted


class WorkerRequest(FakeRequest):
    """The fake Bot API as one worker reaches it: the pool may kill the worker at a call."""

    def __init__(self, api: FakeBotAPI, pool: Pool, name: str) -> None:
        super().__init__(api)
        self.pool, self.name = pool, name

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if self.name in self.pool.dead:
            raise Killed(accepted=False)
        answer = await super().do_request(
            url, method, request_data, read_timeout, write_timeout, connect_timeout, pool_timeout
        )
        if self.pool.strikes(self.name, url):
            raise Killed(accepted=True)
        return answer


class Sender(OutboxWorker):
    """The outbox sender of one worker, counting each part Telegram took, by row and second."""

    pool: Pool

    async def _send_part(
        self, row: OutboxRow, part: Part, buttons: InlineKeyboardMarkup | None
    ) -> list[str]:
        try:
            refused = await super()._send_part(row, part, buttons)
        except Killed as killed:
            if killed.accepted:
                self.pool.sent(row.id, part)
            raise
        self.pool.sent(row.id, part)
        return refused


class Worker:
    def __init__(self, name: str, app: ShaoziApp) -> None:
        self.name, self.app = name, app

    @property
    def inbox(self) -> Inbox:
        queue = self.app.update_queue
        assert isinstance(queue, Inbox)
        return queue


class Pool:
    """N workers on one database; kills and restarts; what the invariants count."""

    def __init__(
        self,
        api: FakeBotAPI,
        settings: Settings,
        city: CityConfig,
        clock: ManualClock,
        rng: random.Random,
        count: int,
    ) -> None:
        self.api, self.settings, self.city, self.clock = api, settings, city, clock
        self.rng, self.count = rng, count
        self.workers: dict[str, Worker] = {}
        self.dead: dict[str, Worker] = {}
        self.kills = 0
        self._victim: tuple[str, int] | None = None  # (worker, calls left before the kill)
        self.handled: Counter[int] = Counter()  # update id: times a worker began to handle it
        self.done: set[int] = set()  # updates a worker recorded handled
        self._progress = asyncio.Event()
        self.in_flight: set[int] = set()  # updates a killed worker was handling
        self.parts: Counter[tuple[int, Part]] = Counter()
        self.per_second: Counter[dt.datetime] = Counter()
        self._reading = contextlib.ExitStack()
        self._reader: tables.Connection | None = None
        self.kill_log: list[str] = []  # when, which worker, at which call

    def value(self, sql: str, params: Any = ()) -> Any:
        """One value read on the simulation's own connection to the database, SQLite or
        PostgreSQL (tests/support/tables.py's, kept open: it is read at every turn)."""
        if self._reader is None:
            self._reader = self._reading.enter_context(tables.reading(self.settings.database))
        row = self._reader.execute(sql, params).fetchone()
        return None if row is None else row[0]

    # --- life and death -----------------------------------------------------------------------

    async def start(self, name: str) -> Worker:
        settings = self.settings.model_copy(update={"worker": name, "rate_limit": True})
        app = build_application(
            settings,
            handlers.install,
            city=self.city,
            clock=self.clock,
            request=WorkerRequest(self.api, self, name),
        )
        app.add_handler(TypeHandler(Update, self._count), group=FIRST_GROUP)
        # Told of every update the worker has recorded handled (and let its conversation go
        # if idle): the simulation waits on that, not on reading the inbox again and again.
        processor = app.update_processor
        assert isinstance(processor, ConversationProcessor)
        queue = app.update_queue
        assert isinstance(queue, Inbox)

        async def finished(update: object) -> None:  # Inbox.handled, telling the simulation
            if not isinstance(update, Update):
                return
            await queue.record(update)
            # The user has the answer: the simulation goes on while the worker lets go.
            self.done.add(update.update_id)
            self._progress.set()
            await queue.let_go_if_idle(update)

        processor._finished = finished
        worker = self.workers[name] = Worker(name, app)  # alive from its first update on
        await initialize_in_hand(app)  # the simulation runs the leader and the outbox (tick)
        await app.start()
        return worker

    async def start_all(self) -> None:
        for n in range(1, self.count + 1):
            await self.start(str(n))

    def alive(self) -> list[Worker]:
        return list(self.workers.values())

    def any(self) -> Worker:
        return next(iter(self.workers.values()))

    def doom(self) -> None:
        """Kill a random worker at one of its next Bot API calls (when it has one)."""
        if self._victim is None and len(self.workers) > 1:
            self._victim = (self.rng.choice(sorted(self.workers)), self.rng.randint(1, 12))

    def strikes(self, name: str, url: str = "") -> bool:
        """Whether this call of the worker is its last."""
        if self._victim is None or self._victim[0] != name:
            return False
        left = self._victim[1] - 1
        if left > 0:
            self._victim = (name, left)
            return False
        self._victim = None
        worker = self.workers.pop(name)
        self.dead[name] = worker
        self.kills += 1
        method = url.rsplit("/", 1)[-1]
        self.kill_log.append(f"{self.clock.now():%m-%d %H:%M} worker {name} at {method}")
        for queued in worker.inbox._local.values():
            self.in_flight.update(queued)
        # What it had taken and not begun dies with it (it stays in the inbox).
        with contextlib.suppress(asyncio.QueueEmpty):
            while True:
                worker.inbox.get_nowait()
        return True

    async def restart_dead(self) -> None:
        """systemd starts the killed workers again (their old connections closed)."""
        for name, worker in list(self.dead.items()):
            del self.dead[name]
            app = worker.app
            # Its update fetcher ends (nothing else of it runs: what it held ended at a call),
            # and its webhook sender, which would go on polling a closed database.
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(app.stop(), 5)
            with contextlib.suppress(BaseException):
                await stop_channel(app.bot_data.open311)
            with contextlib.suppress(BaseException):
                await app.bot_data.services.db.close()
            with contextlib.suppress(BaseException):
                await app.shutdown()
            await self.start(name)

    async def close(self) -> None:
        self._reading.close()
        self._reader = None
        for worker in self.alive():
            app = worker.app
            with contextlib.suppress(BaseException):
                await app.stop()
                assert app.post_shutdown is not None
                await app.post_shutdown(app)
                await app.shutdown()
        self.workers.clear()

    # --- updates ------------------------------------------------------------------------------

    async def _count(self, update: Update, context: Any) -> None:
        """Every worker's first handler. A killed worker handles nothing more: SIGKILL ends a
        process at once, while here its coroutines would go on (a conversation let go and
        looked at again, a waiting update taken) until they reach a Bot API call."""
        if all(worker.app is not context.application for worker in self.alive()):
            raise Killed(accepted=False)
        self.handled[update.update_id] += 1

    async def deliver(self, update: dict[str, Any]) -> None:
        """A webhook call to a random live worker; return once the update is handled."""
        worker = self.rng.choice(self.alive())
        await worker.inbox.put(Update.de_json(update, worker.app.bot))
        await self.until_handled(int(update["update_id"]))

    def waiting(self, update_id: int) -> bool:
        return bool(
            self.value(
                "SELECT COUNT(*) FROM inbox WHERE update_id = ? AND handled_at IS NULL",
                (update_id,),
            )
        )

    async def until_handled(self, update_id: int) -> None:
        """Wait until a worker has recorded the update handled. When nothing has been
        handled for a moment, look why: a killed worker's claim holds its conversation (the
        claim's life passes), or the update waits for a worker's pump (every second)."""
        quiet = 0
        while update_id not in self.done:
            self._progress.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._progress.wait(), QUIET)
                continue
            quiet += 1
            if not self.waiting(update_id):
                return  # recorded; the worker is still letting its conversation go
            holder = self.value(
                "SELECT c.holder FROM conversation_claims c JOIN inbox i"
                " ON i.conversation = c.conversation WHERE i.update_id = ?",
                (update_id,),
            )
            if holder in self.dead:  # a killed worker holds it: its claim runs out
                self.clock.advance(inbox.CLAIM)
            for worker in self.alive():
                await worker.inbox.pump()
            if quiet > 3_000:
                raise RuntimeError(f"update {update_id} is never handled")

    # --- the leader and the outbox ------------------------------------------------------------

    async def tick(self) -> None:
        """Every live worker renews its lease at once, as processes do (the leader sweeps),
        then they send together."""
        leaders = [w.app.bot_data.leader for w in self.alive()]
        outcomes = await asyncio.gather(
            *(leader.tick() for leader in leaders if leader is not None), return_exceptions=True
        )
        for outcome in outcomes:
            if isinstance(outcome, BaseException) and not isinstance(outcome, Killed):
                raise outcome
        await self.drain()

    def sender(self, worker: Worker) -> Sender:
        services = worker.app.bot_data.services
        sender = Sender(
            worker.app.bot,
            services.db,
            self.clock,
            services.settings.photos_dir,
            Limits(overall_per_second=services.settings.send_rate),
            holder=worker.name,
        )
        sender.pool = self
        return sender

    def sent(self, row_id: int, part: Part) -> None:
        self.parts[(row_id, part)] += 1
        self.per_second[self.clock.now().replace(microsecond=0)] += 1

    def due(self, claimed_by_dead: bool = False) -> int:
        sql = "SELECT COUNT(*) FROM outbox WHERE status = 'pending' AND not_before <= ?"
        params: list[Any] = [to_db(self.clock.now())]
        if claimed_by_dead:
            marks = ",".join("?" * len(self.dead))
            sql += f" AND claimed_until > ? AND claimed_by IN ({marks})"
            params += [to_db(self.clock.now()), *self.dead]
        return int(self.value(sql, params))

    async def drain(self) -> None:
        """Pass after pass by every live worker at once; a second passes when the budget
        holds rows back, a claim's life when a killed worker holds them."""
        for _ in range(100_000):
            if not self.due():  # nothing to send: no pass would claim anything
                return
            senders = [self.sender(w) for w in self.alive()]
            outcomes = await asyncio.gather(
                *(s.run_once() for s in senders), return_exceptions=True
            )
            reports = [o for o in outcomes if isinstance(o, delivery.DeliveryReport)]
            for outcome in outcomes:
                if isinstance(outcome, BaseException) and not isinstance(outcome, Killed):
                    raise outcome
            if any(r.sent + r.failed + r.dropped for r in reports):
                continue
            if any(r.waiting for r in reports):
                self.clock.advance(dt.timedelta(seconds=1))
            elif self.dead and self.due(claimed_by_dead=True):
                self.clock.advance(delivery.CLAIM)
            else:
                return

    # --- figures ------------------------------------------------------------------------------

    def figures(self) -> dict[str, int]:
        twice = sum(n - 1 for u, n in self.handled.items() if n > 1 and u not in self.in_flight)
        in_flight_twice = sum(
            n - 1 for u, n in self.handled.items() if n > 1 and u in self.in_flight
        )
        sent_twice = sum(n - 1 for n in self.parts.values() if n > 1)
        lost = int(self.value("SELECT COUNT(*) FROM inbox WHERE handled_at IS NULL"))
        return {
            "workers": self.count,
            "kills": self.kills,
            "lost": lost + self.due(),
            "handled_twice": twice,
            "duplicates": in_flight_twice + twice + sent_twice,
            "sent_twice": sent_twice,
            "max_send_rate": max(self.per_second.values(), default=0),
        }
