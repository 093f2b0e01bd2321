"""Shared fixtures: settings on tmp_path, a migrated database, the Application on a fake API."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from telegram import Update

import handlers
from bot.app import ShaoziApp, build_application, shutdown, startup
from bot.city import CityConfig, load_city
from bot.clock import ManualClock
from bot.settings import SAMPLE_CITY, Settings
from storage.db import Database
from tests.fakebot import FakeBotAPI, FakeRequest, FakeUser

TOKEN = "123456:TEST-TOKEN"
# PTB 22 warns on RetryAfter.retry_after as an int; opt in to the timedelta it will use.
os.environ.setdefault("PTB_TIMEDELTA", "1")


@pytest.fixture(autouse=True)
def _no_stray_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never read the developer's SHAOZI_* variables or .env."""
    for name in list(os.environ):
        if name.startswith("SHAOZI_"):
            monkeypatch.delenv(name)


@pytest.fixture(scope="session")
def city() -> CityConfig:
    return load_city(SAMPLE_CITY)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        token=TOKEN,
        database=tmp_path / "shaozi.db",
        data_dir=tmp_path / "data",
        rate_limit=False,
    )


@pytest.fixture
async def db(settings: Settings) -> AsyncIterator[Database]:
    async with Database(settings.database) as database:
        await database.migrate()
        yield database


@pytest.fixture
def api(clock: ManualClock) -> FakeBotAPI:
    return FakeBotAPI(token=TOKEN, now=clock.now)


class Bot:
    """The running bot of a test: its Application, and users who talk to it."""

    def __init__(self, api: FakeBotAPI, settings: Settings, clock: ManualClock, city: CityConfig):
        self.api, self.settings, self.clock, self.city = api, settings, clock, city
        self.app: ShaoziApp | None = None
        self._next_user = 1000

    async def start(self) -> ShaoziApp:
        app = build_application(
            self.settings,
            handlers.install,
            city=self.city,
            clock=self.clock,
            request=FakeRequest(self.api),
            get_updates_request=FakeRequest(self.api),
        )
        await app.initialize()
        await startup(app)
        self.app = app
        return app

    async def stop(self) -> None:
        if self.app is not None:
            await shutdown(self.app)
            await self.app.shutdown()
            self.app = None

    async def restart(self) -> ShaoziApp:
        await self.stop()
        return await self.start()

    async def deliver(self, update: dict[str, Any]) -> None:
        assert self.app is not None, "the bot is not running"
        await self.app.process_update(Update.de_json(update, self.app.bot))

    def user(
        self, user_id: int | None = None, *, language: str | None = "zh-hans", **kwargs: Any
    ) -> FakeUser:
        if user_id is None:
            self._next_user += 1
            user_id = self._next_user
        return FakeUser(self.api, user_id, language_code=language, deliver=self.deliver, **kwargs)

    @property
    def db(self) -> Database:
        assert self.app is not None
        return self.app.bot_data.services.db


@pytest.fixture
async def bot(
    api: FakeBotAPI, settings: Settings, clock: ManualClock, city: CityConfig
) -> AsyncIterator[Bot]:
    running = Bot(api, settings, clock, city)
    await running.start()
    yield running
    await running.stop()
