"""The periodic sweep: the database says what is due, so downtime is caught up by itself.

No job is kept in memory per case or per user. Every minute each sweep looks at the database,
queues what has come due in the outbox under a key that makes it once-only, and returns how many
messages it queued.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable

from bot import awareness, broadcasts, digest, reminders, rewards
from bot.services import Services

log = logging.getLogger(__name__)

RETENTION = dt.timedelta(days=30)
# Telegram keeps an unconfirmed update for 24 hours at most, so no replay comes later than that.
INBOX_RETENTION = dt.timedelta(days=2)


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
