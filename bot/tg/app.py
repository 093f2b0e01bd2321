"""Builds the Application from settings; run_bot.py, the tests and the benchmarks all use it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Set
from typing import Any

from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeChat,
    BotCommandScopeDefault,
    LinkPreviewOptions,
)
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder, ContextTypes, Defaults
from telegram.request import BaseRequest

from bot.accounts import Account
from bot.city import CityConfig, load_city
from bot.clock import Clock, SystemClock
from bot.i18n import Catalogs, Language, Translator
from bot.menu import commands_for
from bot.offload import Offload
from bot.open311.server import start_channel, stop_channel
from bot.quiet import allowed_from
from bot.reports import drop_stale_drafts
from bot.schedule import Leader, run_sweeps
from bot.services import Services
from bot.settings import Settings
from bot.tg.context import BotData, Context
from bot.tg.delivery import Limits, OutboxWorker, stop_task
from bot.tg.http import SpreadRequest
from bot.tg.inbox import Inbox
from bot.tg.processing import ConversationProcessor
from bot.vocabulary.roles import Role
from storage.db import Database

log = logging.getLogger(__name__)

ShaoziApp = Application[Any, Context, dict[Any, Any], dict[Any, Any], BotData, Any]
InstallHandlers = Callable[[ShaoziApp], None]

# Telegram's setMyCommands takes two-letter language codes only, so Traditional Chinese
# clients see the default (Simplified) list; per-chat lists fix that once a user has spoken.
_COMMAND_LANGUAGES: tuple[tuple[str | None, Language], ...] = (
    (None, Language.ZH_HANS),
    ("zh", Language.ZH_HANS),
    ("en", Language.EN),
)


def bot_commands(translator: Translator, roles: Set[Role]) -> list[BotCommand]:
    return [BotCommand(c.name, translator.gettext(c.description)) for c in commands_for(roles)]


async def set_default_commands(app: ShaoziApp) -> None:
    """Register the citizens' command list once per language."""
    services: Services = app.bot_data.services
    for code, language in _COMMAND_LANGUAGES:
        commands = bot_commands(services.catalogs.translator(language), {Role.CITIZEN})
        await app.bot.set_my_commands(commands, scope=BotCommandScopeDefault(), language_code=code)


async def set_chat_commands(bot: Bot, catalogs: Catalogs, account: Account) -> None:
    """Give one user the command list of their roles, in their language."""
    translator = catalogs.translator(account.language)
    await bot.set_my_commands(
        bot_commands(translator, account.roles), scope=BotCommandScopeChat(account.id)
    )


async def startup(app: ShaoziApp) -> None:
    """Open the database, apply migrations and register the command menu."""
    services: Services = app.bot_data.services
    await services.db.connect()
    applied = await services.db.migrate()
    if applied:
        log.info("database %s migrated: %s", services.db.location, ", ".join(applied))
    if app.job_queue is not None:
        app.job_queue.run_repeating(sweep_drafts, interval=3600, first=60, name="sweep-drafts")
    try:
        await set_default_commands(app)
    except TelegramError as exc:  # the bot still works without a command menu
        log.warning("could not register the command menu: %s", exc)


async def sweep_drafts(context: Context) -> None:
    """Drop report drafts nobody has touched within the city's draft lifetime."""
    services = context.bot_data.services
    leader = context.bot_data.leader
    if leader is not None and not leader.leading:
        return
    dropped = await drop_stale_drafts(
        services.db, services.clock.now(), services.city.limits.draft_ttl_days
    )
    if dropped:
        log.info("dropped %d stale report draft(s)", dropped)


def outbox_worker(app: ShaoziApp) -> OutboxWorker:
    """The outbox sender of this application, with the limits its settings ask for."""
    services: Services = app.bot_data.services
    settings = services.settings
    limits = (
        Limits(overall_per_second=settings.send_rate)
        if settings.rate_limit
        else (Limits.unlimited())
    )
    city, zone = services.city, settings.zone
    return OutboxWorker(
        app.bot,
        services.db,
        services.clock,
        settings.photos_dir,
        limits,
        window=lambda moment: allowed_from(moment, city.quiet_hours, zone),
        holder=settings.worker,
    )


async def sweep(context: Context) -> None:
    """Queue the reminders, escalations and other scheduled messages that have come due."""
    queued = await run_sweeps(context.bot_data.services)
    if any(queued.values()):
        log.info("sweep queued %s", queued)


async def _post_init(app: ShaoziApp) -> None:
    """Start the bot's own work: the database, the updates a stop left unhandled, the sweep and
    the outbox sender."""
    await startup(app)
    inbox = app.update_queue
    if isinstance(inbox, Inbox):
        await inbox.requeue(app.bot)
    worker = app.bot_data.services.settings.worker
    # Webhooks are sent by one process: the leader when there are several workers.
    sends: Callable[[], bool] = _always
    if worker is not None:
        # One of several: the leader sweeps; every worker takes over what a dead one left.
        leader = app.bot_data.leader = Leader(app.bot_data.services, worker)
        tasks = [asyncio.create_task(leader.run_forever())]
        if isinstance(inbox, Inbox):
            tasks.append(asyncio.create_task(inbox.pump_forever()))
        app.bot_data.worker_tasks = tuple(tasks)
        sends = lambda: leader.leading  # noqa: E731
    elif app.job_queue is not None:
        app.job_queue.run_repeating(sweep, interval=60, first=5, name="sweep")
    app.bot_data.worker_task = asyncio.create_task(outbox_worker(app).run_forever())
    app.bot_data.open311 = await start_channel(app.bot_data.services, sends)


def _always() -> bool:
    return True


async def _post_shutdown(app: ShaoziApp) -> None:
    for task in (*app.bot_data.worker_tasks, app.bot_data.worker_task):
        await stop_task(task)
    await stop_channel(app.bot_data.open311)
    await let_go(app)
    await shutdown(app)


async def let_go(app: ShaoziApp) -> None:
    """A worker among several stopping cleanly: another leads, and takes its conversations, at
    once rather than when the leases run out."""
    leader = app.bot_data.leader
    inbox = app.update_queue
    try:
        if leader is not None:
            await leader.step_down()
        if isinstance(inbox, Inbox) and inbox.holder is not None:
            await inbox.let_go()
    except Exception:  # the leases run out by themselves
        log.exception("could not let the leases go")


async def shutdown(app: ShaoziApp) -> None:
    """End the worker processes and close the database."""
    services: Services = app.bot_data.services
    await services.offload.close()
    await services.db.close()


def build_application(
    settings: Settings,
    install_handlers: InstallHandlers,
    *,
    city: CityConfig | None = None,
    clock: Clock | None = None,
    request: BaseRequest | None = None,
    get_updates_request: BaseRequest | None = None,
) -> ShaoziApp:
    """Build the bot: services in bot_data, typed context, handlers installed."""
    if settings.token is None:
        raise ValueError("a bot token is required to build the application")
    services = Services(
        settings=settings,
        city=city or load_city(settings.city),
        db=Database(settings.database),
        clock=clock or SystemClock(),
        catalogs=Catalogs(),
        offload=Offload(settings.offload_processes),
    )
    inbox = Inbox(services, holder=settings.worker)
    builder = (
        ApplicationBuilder()
        .token(settings.token.get_secret_value())
        .base_url(settings.api_url)
        .base_file_url(settings.file_url)
        .context_types(ContextTypes(context=Context, bot_data=BotData))
        # No link previews: a card's map link would show a preview fetched from the map site.
        .defaults(
            Defaults(
                parse_mode=ParseMode.HTML,
                tzinfo=settings.zone,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            )
        )
        .update_queue(inbox)
        .concurrent_updates(
            ConversationProcessor(settings.concurrent_updates, finished=inbox.handled)
        )
        .post_init(_post_init)
        .post_shutdown(_post_shutdown)
    )
    if request is not None:
        builder = builder.request(request).get_updates_request(get_updates_request or request)
    else:
        builder = builder.request(SpreadRequest(settings.api_connections))
    if settings.rate_limit:
        # Notifications, the bot's volume, are paced by the outbox worker (bot/delivery.py);
        # PTB's limiter only retries direct replies that Telegram asks to wait (RetryAfter).
        limiter = AIORateLimiter(overall_max_rate=0, group_max_rate=0, max_retries=3)
        builder = builder.rate_limiter(limiter)  # type: ignore[arg-type]
    app: ShaoziApp = builder.build()
    app.bot_data.services = services
    install_handlers(app)
    return app
