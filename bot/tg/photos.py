"""Stored photos sent from a handler, which speaks to Services and never to the database."""

from __future__ import annotations

from telegram import Bot

from bot.services import Services
from bot.tg import delivery


async def send_stored(bot: Bot, services: Services, chat_id: int, hashes: list[str]) -> None:
    """Send stored photos as the outbox does (albums, Telegram's file ids learned once)."""
    await delivery.send_photos(bot, services.db, services.settings.photos_dir, chat_id, hashes)
