"""Run the bot against Telegram: long polling, or a webhook when configured."""

from __future__ import annotations

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
    else:
        app.run_polling(allowed_updates=Update.ALL_TYPES)
