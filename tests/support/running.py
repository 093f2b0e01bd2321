"""The bot left running on a moving clock, as the reminder tests watch it."""

from __future__ import annotations

import datetime as dt

from bot.city import CityConfig
from fakebotapi import SentMessage
from tests.support.chat import Bot
from tests.support.moments import SHANGHAI


def local(message: SentMessage) -> dt.datetime:
    """When a message was sent, in the city's time."""
    return message.date.astimezone(SHANGHAI)


def when(message: SentMessage) -> str:
    return local(message).strftime("%m-%d %H:%M")


async def run_until(bot: Bot, until: dt.datetime, step: dt.timedelta) -> None:
    """Move the clock in steps, sweeping and sending at each, as the running bot would."""
    while bot.clock.now() < until:
        bot.clock.advance(step)
        await bot.sweep()
        await bot.drain()


async def with_city(bot: Bot, section: str, **values: object) -> CityConfig:
    """Change settings of one section of the city file (``reminders``, ``majors`` …) and
    restart the bot with it."""
    changed = getattr(bot.city, section).model_copy(update=values)
    bot.city = bot.city.model_copy(update={section: changed})
    await bot.restart()
    return bot.city
