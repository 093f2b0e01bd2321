"""The periodic sweep: the database says what is due, so downtime is caught up by itself.

No job is kept in memory per case or per user. Every minute each sweep looks at the database,
queues what has come due in the outbox under a key that makes it once-only, and returns how many
messages it queued.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable

from bot import awareness, broadcasts, digest, reminders, rewards
from bot.services import Services

log = logging.getLogger(__name__)

RETENTION = dt.timedelta(days=30)
# Telegram keeps an unconfirmed update for 24 hours at most, so no replay comes later than that.
INBOX_RETENTION = dt.timedelta(days=2)
# The send budget counts a second, or a group's minute; older periods count for nothing.
BUDGET_RETENTION = dt.timedelta(minutes=5)

# Several workers (issue 18): the leader runs the sweeps. It renews its lease every RENEW; a
# leader that stops renewing (it died) is replaced once LEASE has passed, by the next worker
# to try: within LEASE + RENEW, under a minute.
LEADER = "leader"
LEASE = dt.timedelta(seconds=45)
RENEW = dt.timedelta(seconds=15)
SWEEP_EVERY = dt.timedelta(seconds=60)


async def forget_old_texts(services: Services, now: dt.datetime) -> int:
    """A sweep: sent notifications older than a month keep their keys, not their words."""
    async with services.db.transaction(bulk=True) as tx:
        await tx.outbox.forget_payloads(now - RETENTION)
    return 0  # queues nothing


async def forget_handled_updates(services: Services, now: dt.datetime) -> int:
    """A sweep: a handled update's id is kept while Telegram might still send it again, then
    the inbox lets it go (the inbox never grows without bound)."""
    async with services.db.transaction(bulk=True) as tx:
        await tx.inbox.prune(now - INBOX_RETENTION)
    return 0  # queues nothing


async def forget_workers_leftovers(services: Services, now: dt.datetime) -> int:
    """A sweep: what several workers leave behind goes: the send budget's past periods (one
    row a chat written to) and the claims of workers that died with them."""
    async with services.db.transaction(bulk=True) as session:
        await session.budget.forget(now - BUDGET_RETENTION)
        await session.leases.forget_claims(now - BUDGET_RETENTION)
    return 0  # queues nothing


Sweep = Callable[[Services, dt.datetime], Awaitable[int]]


def sweeps() -> tuple[Sweep, ...]:
    """Every sweep, in the order they run."""
    return (
        reminders.sweep_deadlines,
        # The summary first: a report coming due as a department's summary goes is in it.
        reminders.sweep_triage_summary,
        reminders.sweep_triage,
        # Subscriptions, awareness days, broadcasts and digests (bot/awareness.py, …) go here.
        awareness.sweep_awareness,
        # Queue the rest of a large broadcast before looking at whether it is all delivered.
        broadcasts.sweep_broadcast_queue,
        broadcasts.sweep_broadcast_reports,
        digest.sweep_digest,
        rewards.sweep_rewards,
        forget_old_texts,
        forget_handled_updates,
        forget_workers_leftovers,
    )


async def run_sweeps(services: Services) -> dict[str, int]:
    """Run every sweep once at the clock's time; a failing sweep does not stop the others."""
    now = services.clock.now()
    queued: dict[str, int] = {}
    for sweep in sweeps():
        try:
            queued[sweep.__name__] = await sweep(services, now)
        except Exception:
            log.exception("sweep %s failed", sweep.__name__)
    return queued


class Leader:
    """One worker's part in choosing the leader among several (a lease by compare-and-set).

    ``tick`` every RENEW: take or renew the lease, and, leading, run the sweeps when SWEEP_EVERY
    has passed since this worker's last (at once when it has just become the leader: what came
    due while the old one was dying is queued now). Two leaders can overlap only when one stops
    renewing without dying (a stalled process past LEASE); the sweeps queue under once-only
    keys, so even then nothing is queued twice.
    """

    def __init__(self, services: Services, holder: str) -> None:
        self.services = services
        self.holder = holder
        self.leading = False
        self.last_sweep: dt.datetime | None = None
        self.on_change: Callable[[bool], Awaitable[None]] | None = None

    async def hold(self) -> bool:
        """Take or renew the lease; whether this worker leads now."""
        services = self.services
        now = services.clock.now()
        async with services.db.autocommit() as session:
            leading = await session.leases.hold(LEADER, self.holder, now, now + LEASE)
        changed = leading != self.leading
        self.leading = leading
        if changed:
            log.info("worker %s %s", self.holder, "leads" if leading else "no longer leads")
            if not leading:
                self.last_sweep = None
            if self.on_change is not None:
                await self.on_change(leading)
        return leading

    async def tick(self) -> dict[str, int] | None:
        """Renew the lease and, leading, sweep when due; what the sweep queued (None when it
        did not run)."""
        if not await self.hold() or not self.sweep_due():
            return None
        return await run_sweeps(self.services)

    def sweep_due(self) -> bool:
        """Whether the leader sweeps now (and so counts it as its last sweep)."""
        now = self.services.clock.now()
        if self.last_sweep is not None and now - self.last_sweep < SWEEP_EVERY:
            return False
        self.last_sweep = now
        return True

    async def run_forever(self, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        """The background task: renew every RENEW, sweep in a task of its own (a long sweep
        must not keep the lease from being renewed), one sweep at a time."""
        sweeping: asyncio.Task[dict[str, int]] | None = None
        try:
            while True:
                try:
                    leading = await self.hold()
                except Exception:  # a database hiccup: try again at the next renewal
                    log.exception("could not renew the leader's lease")
                    leading = False
                idle = sweeping is None or sweeping.done()
                if leading and idle and self.sweep_due():
                    sweeping = asyncio.create_task(self._sweep())
                await sleep(RENEW.total_seconds())
        finally:
            if sweeping is not None:
                sweeping.cancel()

    async def _sweep(self) -> dict[str, int]:
        queued = await run_sweeps(self.services)
        if any(queued.values()):
            log.info("sweep queued %s", queued)
        return queued

    async def step_down(self) -> None:
        """A clean stop: let the lease go so another worker leads at once."""
        if self.leading:
            async with self.services.db.autocommit() as session:
                await session.leases.give_up(LEADER, self.holder)
            self.leading = False
