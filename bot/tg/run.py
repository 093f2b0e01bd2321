"""Run the bot against Telegram: long polling, or a webhook when configured."""

from __future__ import annotations

import asyncio
import signal
from urllib.parse import urlsplit

from telegram import Update
from telegram.error import InvalidToken, NetworkError

from bot.city import CityConfig
from bot.commands import CommandError
from bot.settings import Mode, Settings
from bot.tg.app import InstallHandlers, ShaoziApp, build_application


def run(settings: Settings, city: CityConfig, install_handlers: InstallHandlers) -> None:
    """Run the bot until interrupted: long polling, or a webhook when configured."""
    app = build_application(settings, install_handlers, city=city)
    try:
        _serve(app, settings)
    except InvalidToken:
        raise CommandError(
            "Telegram refused the bot token (SHAOZI_TOKEN). Check it, or get a new one from "
            "@BotFather with /token."
        ) from None
    except NetworkError as exc:
        raise CommandError(f"cannot reach the Bot API at {settings.api_url}: {exc}") from None


def _serve(app: ShaoziApp, settings: Settings) -> None:
    if settings.mode is Mode.WEBHOOK:
        assert settings.webhook_url is not None
        secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
        app.run_webhook(
            listen=settings.webhook_listen,
            port=settings.webhook_port,
            url_path=urlsplit(settings.webhook_url).path.lstrip("/"),
            webhook_url=settings.webhook_url,
            secret_token=secret,
            allowed_updates=Update.ALL_TYPES,
        )
    elif settings.worker is not None:
        asyncio.run(poll_while_leading(app))
    else:
        app.run_polling(allowed_updates=Update.ALL_TYPES)


async def poll_while_leading(app: ShaoziApp, stop: asyncio.Event | None = None) -> None:
    """One of several workers in polling mode: every worker handles updates, only the leader
    asks Telegram for them (two getUpdates at once are refused). Runs the Application's life as
    run_polling does, until SIGINT/SIGTERM (or ``stop``)."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    updater = app.updater
    assert updater is not None
    await app.initialize()
    if app.post_init is not None:
        await app.post_init(app)
    leader = app.bot_data.leader
    assert leader is not None

    async def follow(leading: bool) -> None:
        if leading and not updater.running:
            await updater.start_polling(allowed_updates=Update.ALL_TYPES)
        elif not leading and updater.running:
            await updater.stop()

    leader.on_change = follow
    await follow(leader.leading)
    await app.start()
    try:
        await stop.wait()
    finally:
        if updater.running:
            await updater.stop()
        if app.running:
            await app.stop()
        if app.post_stop is not None:
            await app.post_stop(app)
        await app.shutdown()
        if app.post_shutdown is not None:
            await app.post_shutdown(app)
