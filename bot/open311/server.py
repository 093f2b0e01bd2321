"""The Open311 channel in the bot's process: the API on its own port (when SHAOZI_API_PORT is
set) and the webhook sender, both on the bot's event loop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web

from bot.open311.app import MAX_REQUEST, build_api
from bot.open311.webhooks import WebhookSender
from bot.partners import key_secret
from bot.services import Services

log = logging.getLogger(__name__)

PREFIX = "/open311/v2/"


def root_app(services: Services) -> web.Application:
    """The web application: the API mounted under /open311/v2/. A request's size limit is the
    root application's (aiohttp), so it must take a photo upload: a root that mounts the API
    needs the same ``client_max_size``."""
    root = web.Application(client_max_size=MAX_REQUEST)
    root.add_subapp(PREFIX, build_api(services))
    return root


@dataclass
class Channel:
    sender: WebhookSender
    task: asyncio.Task[None]
    runner: web.AppRunner | None


async def start_channel(services: Services, sends: Callable[[], bool] = lambda: True) -> Channel:
    """Start the webhook sender (sending while ``sends()``: with several workers, the leader),
    and the API if a port is set."""
    settings = services.settings
    sender = WebhookSender(
        services.db, services.clock, key_secret(settings), settings.hooks_allow_private, sends=sends
    )
    task = asyncio.create_task(sender.run_forever())
    runner = None
    if settings.api_port is not None:
        # No access log: a GET carries its api_key in the query string.
        runner = web.AppRunner(root_app(services), access_log=None)
        await runner.setup()
        await web.TCPSite(runner, settings.api_listen, settings.api_port).start()
        log.info("Open311 API on http://%s:%s%s", settings.api_listen, settings.api_port, PREFIX)
    return Channel(sender, task, runner)


async def stop_channel(channel: Channel | None) -> None:
    if channel is None:
        return
    channel.task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await channel.task
    if channel.runner is not None:
        await channel.runner.cleanup()
    await channel.sender.close()
