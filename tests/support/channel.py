"""A stand-in for the Open311 API, for the sandbox's tests only: it keeps what was posted to
requests.json, checks the partner key, and tells the sample department's officers, as the real
API does through the core (so the test sees the page's post arrive in the Officer's chat).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from aiohttp import web

from bot.cards import Outgoing
from bot.notify import Notifier
from sandbox.channel import Channel
from sandbox.core import Sandbox

KEY = "stand-in-partner-key"
REQUEST_ID = "YH-20261122-0042"


async def no_channel(sandbox: Sandbox) -> None:
    """A sandbox without another channel (the API not mounted), whatever open_channel does."""


def arrival(description: str) -> str:
    """What the stand-in tells the officers."""
    return f"From another channel: {description}"


@dataclass
class StandInAPI:
    """``POST /requests.json`` and ``GET /requests/{id}.json``, mounted by the sandbox like the
    real API."""

    sandbox: Sandbox
    key: str = KEY
    posts: list[dict[str, str]] = field(default_factory=list)
    photos: list[bytes] = field(default_factory=list)

    def channel(self) -> Channel:
        api = web.Application()
        api.router.add_post("/requests.json", self._post)
        api.router.add_get("/requests/{id}.json", self._get)
        return Channel(api, self.key)

    async def open(self, sandbox: Sandbox) -> Channel:
        assert sandbox is self.sandbox
        return self.channel()

    async def _post(self, request: web.Request) -> web.Response:
        form = await request.post()
        fields: dict[str, str] = {}
        for name, value in form.items():
            if isinstance(value, web.FileField):
                self.photos.append(value.file.read())
                fields[name] = f"<file {value.content_type}>"
            else:
                assert isinstance(value, str), value
                fields[name] = value
        fields["content-type"] = request.content_type
        self.posts.append(fields)
        if fields.get("api_key") != self.key:
            error = {"code": 403, "description": "api_key is missing or not a partner's key"}
            return web.json_response([error], status=403)
        services = self.sandbox.services
        async with services.db.transaction() as tx:
            await Notifier(tx, services, services.clock.now()).department(
                self.sandbox.department.code,
                f"stand-in:{next(_serial)}",
                lambda tr: Outgoing(arrival(fields.get("description", ""))),
            )
        return web.json_response([{"service_request_id": REQUEST_ID, "service_notice": ""}])

    async def _get(self, request: web.Request) -> web.Response:
        if request.match_info["id"] != REQUEST_ID:
            error = {"code": 404, "description": "no such request"}
            return web.json_response([error], status=404)
        return web.json_response([{"service_request_id": REQUEST_ID, "status": "open"}])


_serial = itertools.count()
