"""The outbox's delivery: sends queued notifications, at least once, in the order queued.

A row is marked sent only after Telegram accepted all of it, so a crash mid-row sends that one
row again after the restart; nothing else is sent twice and nothing is lost.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from pathlib import Path

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, InputMediaPhoto
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

from bot.clock import Clock
from bot.photos import read_photo
from storage.db import Database
from storage.models import OutboxRow

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 10
MAX_BACKOFF = dt.timedelta(minutes=10)
# Telegram's answers that mean this chat can no longer be written to.
GONE = ("chat not found", "bot was blocked", "user is deactivated", "bot was kicked")


@dataclass
class DeliveryReport:
    sent: int = 0
    postponed: int = 0
    failed: int = 0
    dropped: int = 0


def markup(row: OutboxRow) -> InlineKeyboardMarkup | None:
    buttons = row.payload.get("buttons") or []
    if not buttons:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=data) for label, data in r] for r in buttons]
    )


async def send_row(bot: Bot, row: OutboxRow, photos_dir: Path) -> None:
    """Send one queued notification: its photos, its map point, then its text and buttons."""
    payload = row.payload
    photos = [read_photo(photos_dir, sha) for sha in payload.get("photos") or []]
    if len(photos) == 1:
        await bot.send_photo(row.chat_id, photos[0])
    elif photos:
        for start in range(0, len(photos), 10):
            group = [InputMediaPhoto(data) for data in photos[start : start + 10]]
            if len(group) == 1:
                await bot.send_photo(row.chat_id, photos[start])
            else:
                await bot.send_media_group(row.chat_id, group)
    location = payload.get("location")
    if location:
        await bot.send_location(row.chat_id, latitude=location[0], longitude=location[1])
    if payload.get("text"):
        await bot.send_message(row.chat_id, payload["text"], reply_markup=markup(row))


def _seconds(value: float | dt.timedelta) -> float:
    return value.total_seconds() if isinstance(value, dt.timedelta) else float(value)


async def deliver_due(
    bot: Bot, db: Database, clock: Clock, photos_dir: Path, *, limit: int = 50
) -> DeliveryReport:
    """Send what is due now; return what happened."""
    report = DeliveryReport()
    now = clock.now()
    for row in await db.read.outbox.due(now, limit):
        try:
            await send_row(bot, row, photos_dir)
        except RetryAfter as exc:
            wait = dt.timedelta(seconds=_seconds(exc.retry_after))
            async with db.transaction() as tx:
                await tx.outbox.postpone(row.id, clock.now() + wait, str(exc))
            report.postponed += 1
            break  # Telegram asks the whole bot to wait
        except Forbidden as exc:
            await _chat_gone(db, clock, row, str(exc))
            report.dropped += 1
        except BadRequest as exc:
            if any(reason in exc.message.lower() for reason in GONE):
                await _chat_gone(db, clock, row, exc.message)
                report.dropped += 1
            else:
                log.error("outbox row %s refused by Telegram: %s", row.id, exc.message)
                async with db.transaction() as tx:
                    await tx.outbox.give_up(row.id, "failed", exc.message)
                report.failed += 1
        except (NetworkError, OSError) as exc:  # includes TimedOut; a missing photo file too
            backoff = min(MAX_BACKOFF, dt.timedelta(seconds=2 ** (row.attempts + 1)))
            async with db.transaction() as tx:
                if row.attempts + 1 >= MAX_ATTEMPTS:
                    await tx.outbox.give_up(row.id, "failed", str(exc))
                    report.failed += 1
                else:
                    await tx.outbox.postpone(row.id, clock.now() + backoff, str(exc))
                    report.postponed += 1
        except TelegramError as exc:
            log.error("outbox row %s failed: %s", row.id, exc)
            async with db.transaction() as tx:
                await tx.outbox.give_up(row.id, "failed", str(exc))
            report.failed += 1
        else:
            async with db.transaction() as tx:
                await tx.outbox.mark_sent(row.id, clock.now())
            report.sent += 1
    return report


async def _chat_gone(db: Database, clock: Clock, row: OutboxRow, reason: str) -> None:
    """Stop writing to a chat that blocked the bot or no longer exists."""
    async with db.transaction() as tx:
        await tx.outbox.give_up(row.id, "dropped", reason)
        await tx.outbox.drop_pending_for_chat(row.chat_id, reason)
        if row.chat_id > 0:
            await tx.users.mark_blocked(row.chat_id, clock.now())
