"""Shared fixtures: settings on tmp_path, a migrated database, the Application on a fake API."""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from telegram import Update

import handlers
from bot.city import CityConfig, load_city
from bot.clock import ManualClock
from bot.schedule import run_sweeps
from bot.settings import SAMPLE_CITY, Settings
from bot.tg.app import ShaoziApp, outbox_worker, shutdown
from bot.tg.delivery import DeliveryReport
from fakebotapi import FakeBotAPI, FakeUser
from sandbox.core import offline_settings, start_on_fake_api
from storage.db import Database
from tests.images import has_metadata
from tests.support import tables

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
    return offline_settings(tmp_path, TOKEN)


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
        app = await start_on_fake_api(
            self.api, self.settings, handlers.install, city=self.city, clock=self.clock
        )
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

    async def drain(self) -> DeliveryReport:
        """Send every notification that is due now, as the outbox worker would."""
        assert self.app is not None
        return await outbox_worker(self.app).drain()

    async def sweep(self) -> dict[str, int]:
        """Run the periodic sweep once at the clock's time."""
        assert self.app is not None
        return await run_sweeps(self.app.bot_data.services)

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


async def check_confidentiality(bot: Bot) -> tuple[int, int]:
    """Fail if anything sent to an enterprise contact names a reporter or carries metadata.

    Returns how many (messages, photos) sent to enterprise contacts were examined. Runs after
    every chat-level test, so the whole scenario suite is checked.
    """
    assert bot.app is not None
    contacts = {
        r[0]
        for r in tables.rows(bot.db, "SELECT user_id FROM memberships WHERE role = 'enterprise'")
    }
    secrets: set[str] = set()
    for row in tables.rows(
        bot.db,
        "SELECT reporter_id, reporter_name, reporter_phone FROM cases WHERE self_reported = 0"
        " UNION SELECT f.user_id, NULL, NULL FROM case_followers f",
    ):
        reporter_id, name, phone = row
        if reporter_id in contacts:
            continue  # a contact who also reported as a citizen sees their own words
        secrets.update(x for x in (name, phone) if x)
        chat = bot.api.chat(reporter_id) or {}
        secrets.update(str(chat[k]) for k in ("username", "first_name", "last_name") if chat.get(k))
        secrets.discard("Test")  # the fake users' default first name
        secrets.add(f"id:{reporter_id}")
    messages = photos = 0
    for sent in bot.api.sent:
        if sent.chat_id not in contacts:
            continue
        messages += 1
        words = set(re.findall(r"\w+", sent.plain)) | {sent.plain}
        for secret in secrets:
            if secret.startswith("id:"):
                assert secret[3:] not in words, f"reporter id reached an enterprise: {sent.plain}"
            else:
                assert secret not in sent.plain, f"{secret!r} reached an enterprise: {sent.plain}"
        if sent.photo is not None:
            photos += 1
            assert not has_metadata(sent.photo), "a photo with metadata reached an enterprise"
    return messages, photos


@pytest.fixture
async def bot(
    api: FakeBotAPI, settings: Settings, clock: ManualClock, city: CityConfig
) -> AsyncIterator[Bot]:
    running = Bot(api, settings, clock, city)
    await running.start()
    yield running
    if running.app is not None:
        await check_confidentiality(running)
    await running.stop()
