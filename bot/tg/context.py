"""The typed callback context: settings, city, database, clock and translator, no string keys."""

from __future__ import annotations

import asyncio
from typing import Any

from telegram.ext import Application, CallbackContext, ExtBot

from bot.accounts import Account
from bot.city import CityConfig
from bot.clock import Clock
from bot.i18n import Translator
from bot.open311.server import Channel
from bot.schedule import Leader
from bot.services import Services
from storage.db import Database


class BotData:
    """The Application's bot_data: holds the services, set when the application is built."""

    services: Services
    worker_task: asyncio.Task[None] | None = None
    open311: Channel | None = None  # the API and the webhook sender (bot/open311/server.py)
    # Several workers (SHAOZI_WORKER): this worker's part in choosing the leader, and the
    # background tasks of the leader's lease and the inbox's pump.
    leader: Leader | None = None
    worker_tasks: tuple[asyncio.Task[None], ...] = ()


class Context(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], BotData]):
    """One update's context; ``account`` is loaded by the first handler group."""

    def __init__(
        self,
        application: Application[Any, Any, Any, Any, Any, Any],
        chat_id: int | None = None,
        user_id: int | None = None,
    ) -> None:
        super().__init__(application=application, chat_id=chat_id, user_id=user_id)
        self._account: Account | None = None

    @property
    def services(self) -> Services:
        return self.bot_data.services

    @property
    def db(self) -> Database:
        return self.services.db

    @property
    def city(self) -> CityConfig:
        return self.services.city

    @property
    def clock(self) -> Clock:
        return self.services.clock

    @property
    def account(self) -> Account:
        if self._account is None:
            raise RuntimeError("the account is loaded only for updates from a user")
        return self._account

    @account.setter
    def account(self, value: Account) -> None:
        self._account = value

    @property
    def has_account(self) -> bool:
        return self._account is not None

    @property
    def tr(self) -> Translator:
        language = self._account.language if self._account else None
        return self.services.translator_for(language)

    def gettext(self, message: str) -> str:
        return self.tr.gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self.tr.ngettext(singular, plural, n)
