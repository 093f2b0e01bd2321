"""The outbox's webhook sender: POSTs partners' events, signed, at least once, with backoff.

``X-Shaozi-Signature: t=TIMESTAMP,v1=HEX``, HEX being HMAC-SHA256 keyed by the partner's API
key over ``TIMESTAMP.BODY``: the partner checks it was us, and the timestamp bounds a replay.
A 2xx answer settles a row; anything else (an error answer, a timeout, a refused address) is
retried with a growing pause, up to MAX_ATTEMPTS.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import aiohttp

from bot.clock import Clock
from bot.open311.net import HOOK_TIMEOUT, client_session
from bot.partners import derive_key
from bot.vocabulary.models import OutboxRow
from storage.db import Database

log = logging.getLogger(__name__)

HEADER = "X-Shaozi-Signature"
MAX_ATTEMPTS = 20
MAX_BACKOFF = dt.timedelta(hours=1)


def signature(key: str, timestamp: int, body: bytes) -> str:
    """The header's value for a body sent at ``timestamp`` (seconds since the epoch)."""
    signed = f"{timestamp}.".encode() + body
    digest = hmac.new(key.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def backoff(attempts: int) -> dt.timedelta:
    """The pause before the next try, after ``attempts`` failed ones: 2 s, 4 s … an hour."""
    return min(MAX_BACKOFF, dt.timedelta(seconds=2 ** min(attempts + 1, 20)))


@dataclass
class WebhookSender:
    """Sends due webhook rows of the outbox; ``run_once`` for one pass, ``run_forever`` as a
    background task, ``close`` at shutdown."""

    db: Database
    clock: Clock
    secret: bytes  # the server's partner secret (bot/partners.key_secret)
    allow_private: bool = False
    # Whether this process sends now: with several workers, only the leader does (webhook rows
    # are not claimed row by row; one sender keeps each partner's events in order).
    sends: Callable[[], bool] = lambda: True
    batch: int = 100
    concurrency: int = 8
    _session: aiohttp.ClientSession | None = field(default=None, init=False)

    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = client_session(self.allow_private, HOOK_TIMEOUT)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def run_once(self) -> int:
        """Send every webhook due now; return how many rows were settled or retried.

        Partners are sent to at once, each partner's events one after another in the order
        they were queued; a failure holds that partner's later events back to the next pass."""
        rows = await self.db.read.outbox.due_webhooks(self.clock.now(), self.batch)
        queues: dict[int, list[OutboxRow]] = {}
        for row in rows:
            assert row.webhook_key is not None
            queues.setdefault(row.webhook_key, []).append(row)
        semaphore = asyncio.Semaphore(self.concurrency)

        async def partner(queue: list[OutboxRow]) -> int:
            done = 0
            async with semaphore:
                for row in queue:
                    done += 1
                    if await self.deliver(row) == "postponed":
                        break
            return done

        return sum(await asyncio.gather(*(partner(q) for q in queues.values())))

    async def deliver(self, row: OutboxRow) -> str:
        """POST one row and record the outcome: sent, postponed, failed or dropped."""
        assert row.webhook_key is not None
        partner = await self.db.read.partners.get(row.webhook_key)
        if partner is None or partner.revoked_at is not None or not partner.webhook_url:
            async with self.db.transaction() as tx:
                await tx.outbox.give_up(row.id, "dropped", "the partner's key was revoked")
            return "dropped"
        body = json.dumps(row.payload["event"], ensure_ascii=False, sort_keys=True).encode()
        timestamp = int(self.clock.now().timestamp())
        headers = {
            "Content-Type": "application/json",
            HEADER: signature(derive_key(self.secret, partner.key_salt), timestamp, body),
        }
        try:
            async with self.session().post(
                partner.webhook_url, data=body, headers=headers, allow_redirects=False
            ) as answer:
                error = None if 200 <= answer.status < 300 else f"HTTP {answer.status}"
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            error = f"{type(exc).__name__}: {exc}"
        if error is None:
            async with self.db.autocommit() as session:
                await session.outbox.mark_sent(row.id, self.clock.now())
            return "sent"
        log.warning("webhook %s to %s failed: %s", row.id, partner.name, error)
        async with self.db.transaction() as tx:
            if row.attempts + 1 >= MAX_ATTEMPTS:
                await tx.outbox.give_up(row.id, "failed", error)
                return "failed"
            until = self.clock.now() + backoff(row.attempts)
            await tx.outbox.postpone(row.id, until, error)
        return "postponed"

    async def run_forever(
        self, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep, idle: float = 1.0
    ) -> None:
        while True:
            if not self.sends():
                await sleep(idle)
                continue
            try:
                done = await self.run_once()
            except Exception:  # a database hiccup must not end delivery for good
                log.exception("webhook pass failed")
                done = 0
            await sleep(0 if done else idle)
