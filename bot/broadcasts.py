"""Messages to many subscribers: an admin's warning (/broadcast), and the paging they share.

A mass sending pages through the subscribers by id, a chunk per transaction, so other writers
get the database between chunks and memory stays flat however many subscribers there are. Each
subscriber's row has the key ``f"{key}:{user_id}"``, so a sending interrupted by a crash resumes
where it stopped, and a replay queues nothing twice.

A broadcast is a draft until its author confirms it with the audience they saw in the preview.
The confirmation queues it; the sweep finishes the queuing if a crash interrupted it and, when
none of its rows is pending any more, sends the author a delivery report: sent, failed, blocked.
What they say is bot/broadcast_notices.py's.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from bot.accounts import Account
from bot.broadcast_notices import broadcast_message, delivery_report
from bot.errors import InputMistake, NotAllowed, ShaoziError
from bot.i18n import N_, Language, resolve_language
from bot.notify import Notifier, Render
from bot.quiet import allowed_from
from bot.services import Services
from bot.subscriptions import district_of
from bot.vocabulary.roles import Role
from storage.broadcasts import Broadcast

__all__ = ["Broadcast"]  # the draft and its sending, as the functions below return them

log = logging.getLogger(__name__)

# Subscribers per transaction: large enough to be quick, small enough not to hold up others.
CHUNK = 2000
MAX_TEXT = 3000


class BroadcastEmpty(InputMistake):
    message = N_("Please send the warning as text, or as a photo with the text as its caption.")


class BroadcastTooLong(InputMistake):
    message = N_("Please keep the warning under {maximum} characters.")


class AlreadySent(ShaoziError):
    message = N_("This broadcast has been sent already.")


# Mass sending --------------------------------------------------------------------------------


def mass_send_time(
    services: Services, now: dt.datetime, not_before: dt.datetime | None = None
) -> dt.datetime:
    """When a message to subscribers may go: never urgent, so inside the sending window."""
    moment = max(now, not_before or now)
    return allowed_from(moment, services.city.quiet_hours, services.settings.zone)


async def queue_to_subscribers(
    services: Services,
    now: dt.datetime,
    key: str,
    render: Render,
    *,
    district: str | None = None,
    send_at: dt.datetime | None = None,
    broadcast_id: int | None = None,
    max_chunks: int | None = None,
) -> int:
    """Queue one message to every subscriber (of one district, or all) who has not had it.

    Renders once per language. Returns how many rows were queued.
    """
    read = services.db.read.users
    first = await read.subscribers_page(0, 1, district=district, missing_key=key)
    if not first:
        return 0  # the usual case once a sending is complete: no write lock taken
    when = send_at or mass_send_time(services, now)
    default = services.city.city.default_language
    payloads: dict[Language, dict[str, Any]] = {}
    cursor, queued, chunks = first[0].id - 1, 0, 0
    while True:  # to the last page, or ``max_chunks`` of them
        async with services.db.transaction(bulk=True) as tx:
            page = await tx.users.subscribers_page(
                cursor, CHUNK, district=district, missing_key=key
            )
            rows = []
            for subscriber in page:
                language = resolve_language(
                    subscriber.language, subscriber.telegram_language, default
                )
                payload = payloads.get(language)
                if payload is None:
                    translator = services.catalogs.translator(language)
                    payload = payloads[language] = render(translator).payload()
                # The key of Notifier.user, so either way a message is queued once per user.
                rows.append((subscriber.id, payload, f"{key}:{subscriber.id}"))
            added = await tx.outbox.add_many(rows, now, when, broadcast_id, quiet=True)
        chunks += 1
        queued += added
        last = len(page) < CHUNK or chunks == max_chunks
        # A sending of more than a chunk refreshes the outbox's planner figures after its first
        # chunk (the senders claim it meanwhile) and after its last (OutboxRepo.analyze).
        if (chunks == 1 and not last) or (chunks > 1 and last):
            async with services.db.transaction() as tx:
                await tx.outbox.analyze()
        if last:
            break
        cursor = page[-1].id
    return queued


# Broadcasts ----------------------------------------------------------------------------------


def check_text(text: str | None) -> str:
    text = (text or "").strip()
    if not text:
        raise BroadcastEmpty()
    if len(text) > MAX_TEXT:
        raise BroadcastTooLong(maximum=MAX_TEXT)
    return text


async def create_draft(
    services: Services, actor: Account, text: str | None, photo: str | None
) -> Broadcast:
    """Keep what the admin wrote (the photo already stripped) until they confirm it."""
    actor.require(Role.ADMIN)
    body = check_text(text)
    async with services.db.transaction() as tx:
        return await tx.broadcasts.create(actor.id, body, photo, services.clock.now())


async def draft_for(services: Services, actor: Account, broadcast_id: int) -> Broadcast:
    """The actor's own unsent draft; anyone else's, or a made-up id, is not allowed."""
    actor.require(Role.ADMIN)
    broadcast = await services.db.read.broadcasts.get(broadcast_id)
    if broadcast is None or broadcast.created_by != actor.id:
        raise NotAllowed()
    if broadcast.sent_at is not None:
        raise AlreadySent()
    return broadcast


async def audience_counts(services: Services) -> dict[str | None, int]:
    """Subscribers by district (None: the whole city), not counting those who blocked the bot."""
    return await services.db.read.users.subscriber_counts()


def _audience_size(counts: dict[str | None, int], district: str | None) -> int:
    return sum(counts.values()) if district is None else counts.get(district, 0)


async def audience_size(services: Services, district: str | None) -> int:
    return _audience_size(await audience_counts(services), district)


async def confirm(
    services: Services, actor: Account, broadcast_id: int, district: str | None
) -> Broadcast:
    """Send the draft to the audience of the preview, once: a second press raises AlreadySent."""
    actor.require(Role.ADMIN)
    district_of(services, district)
    now = services.clock.now()
    async with services.db.transaction() as tx:
        broadcast = await tx.broadcasts.get(broadcast_id)
        if broadcast is None or broadcast.created_by != actor.id:
            raise NotAllowed()
        total = _audience_size(await tx.users.subscriber_counts(), district)
        if not await tx.broadcasts.confirm(broadcast_id, district, total, now):
            raise AlreadySent()
        confirmed = await tx.broadcasts.get(broadcast_id)
    assert confirmed is not None
    # All of it now (100,000 subscribers take a couple of seconds, in chunks other writers can
    # get between), so the whole audience shares one sending time; after a crash midway the
    # sweep queues the rest.
    await queue_broadcast(services, confirmed, now)
    return confirmed


async def cancel(services: Services, actor: Account, broadcast_id: int) -> None:
    await draft_for(services, actor, broadcast_id)
    async with services.db.transaction() as tx:
        if not await tx.broadcasts.delete_draft(broadcast_id):
            raise AlreadySent()


async def queue_broadcast(
    services: Services, broadcast: Broadcast, now: dt.datetime, *, max_chunks: int | None = None
) -> int:
    return await queue_to_subscribers(
        services,
        now,
        f"bc:{broadcast.id}",
        broadcast_message(services, broadcast),
        district=broadcast.district,
        broadcast_id=broadcast.id,
        max_chunks=max_chunks,
    )


async def sweep_broadcast_queue(services: Services, now: dt.datetime) -> int:
    """Queue the subscribers a confirmed broadcast has not reached yet (after a crash while it
    was being queued, or who subscribed to its audience while it is going out)."""
    queued = 0
    for broadcast in await services.db.read.broadcasts.unreported():
        queued += await queue_broadcast(services, broadcast, now)
    return queued


async def sweep_broadcast_reports(services: Services, now: dt.datetime) -> int:
    """Tell each author how their broadcast went, once none of its messages is pending."""
    queued = 0
    read = services.db.read
    for broadcast in await read.broadcasts.unreported():
        missing = await read.users.subscribers_page(
            0, 1, district=broadcast.district, missing_key=f"bc:{broadcast.id}"
        )
        if missing:
            continue  # still being queued
        async with services.db.transaction() as tx:
            counts = await tx.broadcasts.delivery(broadcast.id)
            if counts.pending or not await tx.broadcasts.mark_reported(broadcast.id, now):
                continue
            render = delivery_report(services, broadcast, counts)
            if await Notifier(tx, services, now).user(
                broadcast.created_by, f"bcr:{broadcast.id}", render
            ):
                queued += 1
        log.info(
            "broadcast %d: %d delivered, %d failed, %d blocked",
            broadcast.id,
            counts.sent,
            counts.failed,
            counts.dropped,
        )
    return queued
