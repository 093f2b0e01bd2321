"""A partner of the Open311 API in a test: its key, an HTTP client on the running bot's API
that keeps every answer (to scan them for reporters' data), and a webhook receiver."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import FormData, web
from aiohttp.test_utils import TestClient, TestServer

from bot.open311.server import PREFIX, root_app
from bot.open311.webhooks import HEADER, WebhookSender, signature
from bot.partners import add_key, key_secret
from tests.support.chat import Bot


@dataclass
class Answer:
    status: int
    text: str

    def json(self) -> Any:
        return json.loads(self.text)

    def xml(self) -> ET.Element:
        return ET.fromstring(self.text)


@dataclass
class Partner:
    """A partner speaking to the API over HTTP; every answer it got is in ``answers``."""

    client: TestClient[web.Request, web.Application]
    key: str | None
    answers: list[Answer] = field(default_factory=list)

    async def get(self, path: str, *, key: bool = True, **params: str) -> Answer:
        if key and self.key is not None:
            params.setdefault("api_key", self.key)
        async with self.client.get(PREFIX + path, params=params) as response:
            found = Answer(response.status, await response.text())
        self.answers.append(found)
        return found

    async def post(self, path: str, data: dict[str, Any] | FormData, *, key: bool = True) -> Answer:
        if key and self.key is not None and isinstance(data, dict):
            data = {"api_key": self.key, **data}
        async with self.client.post(PREFIX + path, data=data) as response:
            found = Answer(response.status, await response.text())
        self.answers.append(found)
        return found

    async def fetch(self, url: str) -> bytes:
        """What an address the API gave serves (a photo)."""
        async with self.client.session.get(url) as response:
            assert response.status == 200, response.status
            return await response.read()

    def everything(self) -> str:
        return "\n".join(a.text for a in self.answers)


async def new_key(
    bot: Bot, name: str, webhook: str | None = None, *, all_cases: bool = False
) -> str:
    secret = key_secret(bot.settings)
    return await add_key(bot.db, secret, name, bot.clock.now(), webhook, all_cases)


@asynccontextmanager
async def api_client(bot: Bot) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    """An HTTP client on the running bot's API (a real port on 127.0.0.1)."""
    async with TestClient(TestServer(root_app(bot.services))) as client:
        yield client


@dataclass
class Receiver:
    """A partner's webhook endpoint: what it received, with the signature checked."""

    url: str
    key: str = ""  # the partner's API key, set once the key is made with this url
    received: list[tuple[str, bytes]] = field(default_factory=list)
    answer_status: int = 200

    def events(self) -> list[dict[str, Any]]:
        """The events whose signature is right, as JSON; a wrong one fails the test."""
        found = []
        for header, body in self.received:
            parts = dict(part.split("=", 1) for part in header.split(","))
            assert header == signature(self.key, int(parts["t"]), body), "bad signature"
            found.append(json.loads(body))
        return found


@asynccontextmanager
async def receiver() -> AsyncIterator[Receiver]:
    """A webhook receiver on 127.0.0.1."""
    app = web.Application()
    holder: list[Receiver] = []

    async def hook(request: web.Request) -> web.Response:
        me = holder[0]
        me.received.append((request.headers.get(HEADER, ""), await request.read()))
        return web.Response(status=me.answer_status)

    app.router.add_post("/hook", hook)
    async with TestServer(app) as server:
        holder.append(Receiver(str(server.make_url("/hook"))))
        yield holder[0]


async def send_webhooks(bot: Bot, *, allow_private: bool = True) -> int:
    """One pass of the webhook sender, as the running bot makes."""
    sender = WebhookSender(bot.db, bot.clock, key_secret(bot.settings), allow_private)
    try:
        return await sender.run_once()
    finally:
        await sender.close()
