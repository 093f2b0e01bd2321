#!/usr/bin/env python3
"""A broadcast to many subscribers through the real outbox worker and the in-process fake Bot API.

Modes:
  limited   100,000 subscribers, overall limit 1,000 messages/s: achieved rate as a fraction of
            the limit (target >= 0.95) and the process's peak memory (target < 150 MB);
  telegram  3,000 subscribers at Telegram's real 30 messages/s: the same fraction;
  unlimited the limit lifted: messages/s of the delivery loop itself.
--photo adds a 1600x1200 phone photo to the broadcast and counts the uploads it took: the
photo goes up once, then by Telegram's file id (target: uploads=1).
--database postgresql://…/DB runs it on PostgreSQL (DB empty; it is migrated here).
Run from the repository root: python bench/broadcast.py [--mode M] [--subscribers N] [--photo]
  [--database URL]
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import handlers
from bot.accounts import Account
from bot.broadcasts import confirm, create_draft, queue_broadcast
from bot.city import QuietHours, load_city
from bot.reports import store_photo
from bot.settings import SAMPLE_CITY
from bot.tg.app import ShaoziApp, outbox_worker, shutdown
from fakebotapi import FakeBotAPI
from sandbox.core import offline_settings, start_on_fake_api
from tests.support.images import jpeg

MODES = {"limited": (100_000, 1000.0), "telegram": (3_000, 30.0), "unlimited": (20_000, None)}
TOKEN = "123456:BENCH"


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def build(
    folder: Path, rate: float | None, database: str | None = None
) -> tuple[ShaoziApp, FakeBotAPI]:
    api = FakeBotAPI(token=TOKEN)
    api.any_private_chat = True  # 100,000 users need no chat objects of their own here
    api.history_limit = 1000
    where: dict[str, Any] = {"database": database} if database else {}
    settings = offline_settings(
        folder, TOKEN, rate_limit=rate is not None, send_rate=rate or 30.0, **where
    )
    # The bench runs at any hour: no quiet hours, or a night run would wait for 08:00.
    city = load_city(SAMPLE_CITY).model_copy(
        update={"quiet_hours": QuietHours(start="00:00", end="00:00")}
    )
    return await start_on_fake_api(api, settings, handlers.install, city=city), api


async def add_subscribers(app: ShaoziApp, count: int) -> Account:
    services = app.bot_data.services
    languages = ("zh_Hans", "zh_Hant", "en")
    async with services.db.transaction() as tx:
        await tx.users.add_subscribers(
            ((10_000 + n, languages[n % 3]) for n in range(count)), services.clock.now()
        )
        await tx.users.touch(1, "en", services.clock.now())
        await tx.users.add_membership(1, "admin", None, None, None, services.clock.now())
        row = await tx.users.get(1)
        memberships = await tx.users.memberships(1)
    assert row is not None
    return Account(row, memberships)


def count_uploads(api: FakeBotAPI) -> list[int]:
    """A counter (in a one-item list) of the calls that upload a file to the fake API."""
    counter = [0]
    handle = api.handle

    def counting(method: str, params: Any, files: Any = None) -> tuple[int, Any]:
        if files:
            counter[0] += 1
        return handle(method, params, files)

    api.handle = counting  # type: ignore[method-assign]  # instrumented: counts uploads
    return counter


async def run(mode: str, subscribers: int, with_photo: bool, database: str | None) -> None:
    _count, rate = MODES[mode]
    with tempfile.TemporaryDirectory() as folder:
        app, api = await build(Path(folder), rate, database)
        services = app.bot_data.services
        admin = await add_subscribers(app, subscribers)
        photo = None
        if with_photo:
            now = services.clock.now()
            stored = await store_photo(
                services.db, services.settings.photos_dir, jpeg(1600, 1200), now
            )
            photo = stored.sha256
        uploads = count_uploads(api)
        start = time.perf_counter()
        draft = await create_draft(services, admin, "Typhoon warning: secure loose objects.", photo)
        broadcast = await confirm(services, admin, draft.id, None)
        await queue_broadcast(services, broadcast, services.clock.now())
        queue_s = time.perf_counter() - start
        pending = await services.db.read.outbox.pending_count()
        print(
            f"mode {mode}: {subscribers} subscribers, {pending} messages queued in {queue_s:.1f} s"
        )
        worker = outbox_worker(app)
        sending = asyncio.create_task(worker.run_forever(idle=0.01))
        start = time.perf_counter()
        while await services.db.read.outbox.pending_count() > 0:  # noqa: ASYNC110 - polls a table
            await asyncio.sleep(0.2)
        elapsed = time.perf_counter() - start
        sending.cancel()
        sent = (await services.db.read.outbox.status_counts()).get("sent", 0)
        await shutdown(app)
        await app.shutdown()
    achieved = sent / elapsed
    print(
        f"sent {sent} (the fake Bot API received {api.sent_total}) in {elapsed:.1f} s:"
        f" {achieved:.0f} messages/s"
    )
    figures = (
        f"mode={mode} subscribers={subscribers} sent={sent} seconds={elapsed:.1f}"
        f" rate={achieved:.0f}"
    )
    if rate is not None:
        print(f"limit {rate:.0f} messages/s: achieved {achieved / rate:.3f} of it")
        figures += f" limit={rate:.0f} fraction={achieved / rate:.3f}"
    figures += f" queue_s={queue_s:.1f} peak_mb={peak_mb():.0f}"
    if with_photo:
        print(f"the photo was uploaded {uploads[0]} time(s), then sent by its file id")
        figures += f" photo=1 uploads={uploads[0]}"
    print(f"peak memory of the process: {peak_mb():.0f} MB")
    print(figures)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mode", choices=list(MODES), default="limited")
    parser.add_argument("--subscribers", type=int, default=None)
    parser.add_argument("--photo", action="store_true", help="a photo with the broadcast")
    parser.add_argument(
        "--database",
        metavar="URL",
        help="an empty, or new, PostgreSQL database (postgresql://…; default: SQLite)",
    )
    args = parser.parse_args()
    asyncio.run(run(args.mode, args.subscribers or MODES[args.mode][0], args.photo, args.database))


if __name__ == "__main__":
    main()
