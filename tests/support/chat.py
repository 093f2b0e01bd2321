"""The running bot of a chat test, and what the tests read in what it sent."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

from telegram import Update
from telegram.request import BaseRequest

import handlers
from bot.buttons import decode
from bot.city import CityConfig
from bot.clock import ManualClock
from bot.schedule import run_sweeps
from bot.services import Services
from bot.settings import Settings
from bot.tg.app import ShaoziApp, outbox_worker, shutdown
from bot.tg.delivery import DeliveryReport
from fakebotapi import FakeBotAPI, FakeUser, SentMessage
from sandbox.core import start_on_fake_api
from storage.db import Database

TOKEN = "123456:TEST-TOKEN"
# What the bot says, as the tests look for it.
NUMBER = re.compile(r"YH-\d{8}-\d{4}")  # a case number
INVITE_CODE = re.compile(r"\b[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}\b")
NOT_ALLOWED = "You are not allowed to do that."
SORRY = "Sorry, something went wrong"


class Bot:
    """The running bot of a test: its Application, and users who talk to it."""

    def __init__(
        self,
        api: FakeBotAPI,
        settings: Settings,
        clock: ManualClock,
        city: CityConfig,
        *,
        request: BaseRequest | None = None,
    ) -> None:
        """``request`` carries the bot's Bot API calls another way (a network's round trip)."""
        self.api, self.settings, self.clock, self.city = api, settings, clock, city
        self.request = request
        self.app: ShaoziApp | None = None
        self._next_user = 1000

    async def start(self) -> ShaoziApp:
        app = await start_on_fake_api(
            self.api,
            self.settings,
            handlers.install,
            city=self.city,
            clock=self.clock,
            request=self.request,
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
        return await run_sweeps(self.services)

    async def deliver(self, update: dict[str, Any]) -> None:
        assert self.app is not None, "the bot is not running"
        await self.app.process_update(Update.de_json(update, self.app.bot))

    def user(
        self,
        user_id: int | None = None,
        *,
        language: str | None = "zh-hans",
        first_name: str = "Test",
        last_name: str | None = None,
        username: str | None = None,
    ) -> FakeUser:
        if user_id is None:
            self._next_user += 1
            user_id = self._next_user
        return FakeUser(
            self.api,
            user_id,
            language_code=language,
            first_name=first_name,
            last_name=last_name,
            username=username,
            deliver=self.deliver,
        )

    @property
    def services(self) -> Services:
        """The running application's services (a new one after each restart)."""
        assert self.app is not None
        return self.app.bot_data.services

    @property
    def db(self) -> Database:
        return self.services.db


def since(user: FakeUser, mark: int) -> list[SentMessage]:
    return user.transcript[mark:]


def texts(messages: list[SentMessage]) -> str:
    return "\n---\n".join(m.plain for m in messages if m.plain)


def links(message: SentMessage) -> list[str]:
    """The addresses the links of a message's text or caption open."""
    return [str(e["url"]) for e in message.entities if e.get("type") == "text_link"]


def map_points(message: SentMessage) -> list[tuple[float, float]]:
    """The (latitude, longitude) of each map link in a message, as a user's map would show."""
    points = []
    for url in links(message):
        query = parse_qs(urlsplit(url).query)
        if urlsplit(url).netloc == "uri.amap.com" and query.get("coordinate") == ["wgs84"]:
            longitude, latitude = (float(v) for v in query["position"][0].split(","))
            points.append((latitude, longitude))
    return points


def case_buttons(message: SentMessage) -> list[str]:
    return [label for row in message.buttons for label, _ in row if NUMBER.fullmatch(label)]


def listed(message: SentMessage) -> list[str]:
    return NUMBER.findall(message.plain)


async def pages(officer: FakeUser, first: SentMessage) -> list[list[str]]:
    """The case buttons of each page, turning with "Next »" from the first page."""
    seen = [case_buttons(first)]
    while first.has_button("Next »"):
        await officer.press("Next »", message=first)
        seen.append(case_buttons(first))
    return seen


def data_for(message: SentMessage, space: str, action: str, *args: str) -> str:
    """The data of the message's first button of a feature's ``space`` and ``action`` (with
    these among its arguments): a button pressed whatever language its label is in."""
    for row in message.buttons:
        for _label, data in row:
            pressed = decode(data)
            if (
                pressed is not None
                and pressed.space.value == space
                and pressed.action == action
                and all(arg in pressed.args for arg in args)
            ):
                assert data is not None
                return data
    raise AssertionError(f"no {space}:{action} button in {message.buttons}")


async def press_for(
    user: FakeUser, space: str, action: str, *args: str, message: SentMessage | None = None
) -> None:
    """Press the button of ``space`` and ``action`` on the message (the newest with buttons)."""
    target = message or next(m for m in user.newest_first() if m.buttons and not m.deleted)
    await user.press(data_for(target, space, action, *args), message=target)
