"""What run_bot.py's subcommands do; run_bot.py itself only parses the command line."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from urllib.parse import urlsplit

from telegram import Update

from bot.app import InstallHandlers, build_application
from bot.city import CityConfig
from bot.clock import SystemClock
from bot.invites import InviteSpec, create_invite
from bot.roles import Role
from bot.settings import Mode, Settings
from storage.db import Database, backup

log = logging.getLogger(__name__)


class CommandError(Exception):
    """A command-line mistake, reported as one line."""


def configure_logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level_number,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # httpx logs every request at INFO, which drowns the bot's own lines while polling.
    logging.getLogger("httpx").setLevel(max(logging.WARNING, settings.log_level_number))


def run(settings: Settings, city: CityConfig, install_handlers: InstallHandlers) -> None:
    """Run the bot until interrupted: long polling, or a webhook when configured."""
    app = build_application(settings, install_handlers, city=city)
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


async def _migrate(path: Path) -> list[str]:
    async with Database(path) as db:
        return await db.migrate()


def migrate(settings: Settings) -> list[str]:
    return asyncio.run(_migrate(settings.database))


def check_invite(city: CityConfig, spec: InviteSpec) -> None:
    if spec.role is Role.OFFICER and not spec.department:
        raise CommandError("an officer invite needs --department CODE")
    if spec.role is Role.ENTERPRISE and spec.enterprise_id is None:
        raise CommandError("an enterprise invite needs --enterprise ID")
    if spec.role in (Role.ADMIN, Role.OFFICER, Role.SUPERVISOR) and spec.enterprise_id is not None:
        raise CommandError(f"--enterprise does not apply to the {spec.role} role")
    if spec.role in (Role.ADMIN, Role.ENTERPRISE) and spec.department:
        raise CommandError(f"--department does not apply to the {spec.role} role")
    if spec.department and city.department(spec.department) is None:
        known = ", ".join(d.code for d in city.departments)
        raise CommandError(f"unknown department {spec.department!r}; known: {known}")


async def _invite(settings: Settings, spec: InviteSpec) -> str:
    async with Database(settings.database) as db:
        await db.migrate()
        enterprise_id = spec.enterprise_id
        if enterprise_id is not None and await db.read.enterprises.get(enterprise_id) is None:
            raise CommandError(f"no enterprise with id {spec.enterprise_id}")
        return await create_invite(db, spec, SystemClock().now())


def invite(settings: Settings, city: CityConfig, spec: InviteSpec) -> str:
    """Make a one-time invite code for a role."""
    check_invite(city, spec)
    return asyncio.run(_invite(settings, spec))


def backup_database(settings: Settings, target: Path) -> None:
    if target.resolve() == settings.database.resolve():
        raise CommandError("the backup target is the live database itself")
    try:
        backup(settings.database, target)
    except FileNotFoundError:
        raise CommandError(f"no database at {settings.database}") from None
