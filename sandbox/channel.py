"""Another channel than Telegram in the sandbox: the Open311 API mounted on the sandbox's own
server, and a partner key of the sample city, so the page can post a report as a 12345 line or
a WeChat bridge would.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from bot.open311.app import build_api
from bot.partners import add_key, key_secret, renew_key
from sandbox.core import Sandbox

# Where the API lives on the sandbox's server, as on the bot's own (GeoReport v2's base URL).
API_PREFIX = "/open311/v2/"
PARTNER = "sandbox"


@dataclass(frozen=True)
class Channel:
    """The Open311 API application and the partner key the page posts with."""

    api: web.Application
    key: str
    partner: str = PARTNER


OpenChannel = Callable[[Sandbox], Awaitable[Channel | None]]


async def open_channel(sandbox: Sandbox) -> Channel | None:
    """The sandbox's other channel, made once the bot runs (its database migrated): the real
    Open311 API and a key of the "sandbox" partner. A key is shown once (hashed at rest), so
    with a kept database (``--data``) the partner made before gets a new key instead: its old
    one no longer works, its cases keep their channel."""
    services = sandbox.services
    secret = key_secret(services.settings)
    if await services.db.read.partners.by_name(PARTNER) is None:
        key = await add_key(services.db, secret, PARTNER, services.clock.now(), webhook_url=None)
    else:
        key = await renew_key(services.db, secret, PARTNER)
    return Channel(build_api(services), key)


def mount_api(root: web.Application, api: web.Application | None) -> None:
    """Serve ``api`` under /open311/v2/ on the sandbox's server (nothing while it is None)."""
    if api is not None:
        root.add_subapp(API_PREFIX, api)


def channel_state(sandbox: Sandbox, channel: Channel | None) -> dict[str, Any]:
    """What the page's "Another channel" panel needs: the key, where to post, the services."""
    if channel is None:
        return {"available": False}
    language = sandbox.display_language
    return {
        "available": True,
        "partner": channel.partner,
        "key": channel.key,
        "base": API_PREFIX,
        "endpoint": API_PREFIX + "requests.json",
        # GeoReport's service_code is the city's category code.
        "services": [
            {"service_code": c.code, "service_name": c.name.get(language)}
            for c in sandbox.city.categories
        ],
    }
