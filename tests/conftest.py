"""Shared fixtures: settings on tmp_path, a migrated database, the Application on a fake API.

The helpers the tests share are in tests/support/; a test imports them from there, not from here.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from bot.city import CityConfig, load_city
from bot.clock import ManualClock
from bot.settings import SAMPLE_CITY, Settings
from fakebotapi import FakeBotAPI
from sandbox.core import offline_settings
from storage.db import Database

# A failed assert in a shared helper explains itself as one in a test does (before their import).
pytest.register_assert_rewrite("tests.support")

from tests.support import postgres  # noqa: E402
from tests.support.chat import TOKEN, Bot  # noqa: E402
from tests.support.confidentiality import check_confidentiality  # noqa: E402

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


def pytest_report_header() -> str:
    where = "PostgreSQL, a database per test" if postgres.URL else "SQLite"
    return f"database: {where} (SHAOZI_TEST_DATABASE)"


def pytest_sessionfinish() -> None:
    if postgres.URL:
        postgres.drop_template()


@pytest.fixture
def settings(tmp_path: Path) -> Iterator[Settings]:
    """The bot's settings; their database is an SQLite file under tmp_path, or, with
    SHAOZI_TEST_DATABASE, a fresh PostgreSQL database of this test's own (migrated). Exports and
    charts run in a thread: a worker process takes a second to start (test_export.py runs the
    real pool)."""
    if postgres.URL is None:
        yield offline_settings(tmp_path, TOKEN, offload_processes=0)
        return
    url = postgres.fresh_database()
    try:
        yield offline_settings(tmp_path, TOKEN, database=url, offload_processes=0)
    finally:
        postgres.drop(url)


@pytest.fixture
async def db(settings: Settings) -> AsyncIterator[Database]:
    async with Database(settings.database) as database:
        await database.migrate()
        yield database


@pytest.fixture
def api(clock: ManualClock) -> FakeBotAPI:
    return FakeBotAPI(token=TOKEN, now=clock.now)


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
