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
--workers N sends from N worker processes, each as run_bot.py's worker with SHAOZI_WORKER set
(claimed rows, Telegram's limits kept bot-wide in the database), each on a fake Bot API of its
own; the messages each took are counted by whole second together. Every mode prints the busiest
second (max_per_second: never above the limit is the target).
Run from the repository root: python bench/broadcast.py [--mode M] [--subscribers N] [--photo]
  [--database URL] [--workers N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sys
import tempfile
import time
from asyncio.subprocess import PIPE
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import handlers
from bot.accounts import Account
from bot.broadcasts import confirm, create_draft, queue_broadcast
from bot.city import QuietHours, load_city
from bot.reports import store_photo
from bot.settings import SAMPLE_CITY
from bot.tg.app import ShaoziApp, build_application, outbox_worker, shutdown
from bot.tg.delivery import stop_task
from fakebotapi import FakeBotAPI, FakeRequest
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


def count_seconds(api: FakeBotAPI) -> Counter[int]:
    """Messages sent, by the whole second (UTC) the fake Bot API took them in."""
    counter: Counter[int] = Counter()
    handle = api.handle

    def counting(method: str, params: Any, files: Any = None) -> tuple[int, Any]:
        answer = handle(method, params, files)
        if method.startswith("send") and answer[0] == 200:
            counter[int(time.time())] += 1
        return answer

    api.handle = counting  # type: ignore[method-assign]  # instrumented: counts by second
    return counter


async def run(
    mode: str, subscribers: int, with_photo: bool, database: str | None, workers: int = 0
) -> None:
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
        seconds = count_seconds(api)
        start = time.perf_counter()
        draft = await create_draft(services, admin, "Typhoon warning: secure loose objects.", photo)
        broadcast = await confirm(services, admin, draft.id, None)
        await queue_broadcast(services, broadcast, services.clock.now())
        queue_s = time.perf_counter() - start
        pending = await services.db.read.outbox.pending_count()
        print(
            f"mode {mode}: {subscribers} subscribers, {pending} messages queued in {queue_s:.1f} s"
        )
        children: list[asyncio.subprocess.Process] = []
        sending: list[asyncio.Task[None]] = []
        if workers:
            children = await start_senders(workers, mode, folder, database)
        else:
            sending = [asyncio.create_task(outbox_worker(app).run_forever(idle=0.01))]
        start = time.perf_counter()
        for child in children:
            assert child.stdin is not None
            child.stdin.write(b"go\n")
            await child.stdin.drain()
        while await services.db.read.outbox.pending_count() > 0:  # noqa: ASYNC110 - polls a table
            await asyncio.sleep(0.2)
        elapsed = time.perf_counter() - start
        for task in sending:
            task.cancel()
        await asyncio.gather(*sending, return_exceptions=True)
        for child in children:
            # Each sender's messages by second, and its uploads, on its last line.
            out, _ = await child.communicate()
            theirs = json.loads(out.decode().strip().splitlines()[-1])
            seconds.update({int(k): v for k, v in theirs["seconds"].items()})
            uploads[0] += theirs["uploads"]
            api.sent_total += theirs["sent"]
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
    # Messages the fake Bot API took in each whole second of the clock the budget counts by.
    busiest = max(seconds.values(), default=0)
    senders = f"{workers} worker processes" if workers else "the one-process bot"
    print(f"busiest second: {busiest} messages, sent by {senders}")
    figures += f" workers={workers or 1} max_per_second={busiest}"
    figures += f" queue_s={queue_s:.1f} peak_mb={peak_mb():.0f}"
    if with_photo:
        print(f"the photo was uploaded {uploads[0]} time(s), then sent by its file id")
        figures += f" photo=1 uploads={uploads[0]}"
    print(f"peak memory of the process: {peak_mb():.0f} MB")
    print(figures)


async def start_senders(
    count: int, mode: str, folder: str, database: str | None
) -> list[asyncio.subprocess.Process]:
    """Worker processes 1..count, each as run_bot.py's worker would send (SHAOZI_WORKER set:
    claims, one bot-wide budget), each on a Telegram of its own (the fake, in its process;
    the seconds are counted together here); returned once every one is ready."""
    children = []
    for n in range(1, count + 1):
        argv = [__file__, "--sender", str(n), "--mode", mode, "--folder", folder]
        if database:
            argv += ["--database", database]
        child = await asyncio.create_subprocess_exec(sys.executable, *argv, stdin=PIPE, stdout=PIPE)
        children.append(child)
    for child in children:
        assert child.stdout is not None
        line = await child.stdout.readline()
        if line.strip() != b"ready":
            raise RuntimeError(f"a sender did not start: {line!r}")
    return children


async def sender(name: str, mode: str, folder: Path, database: str | None) -> None:
    """One worker process's outbox sender: ready, then on "go" it sends until nothing is
    pending, and prints what its Telegram took, by second, as JSON."""
    _count, rate = MODES[mode]
    api = FakeBotAPI(token=TOKEN)
    api.any_private_chat = True
    api.history_limit = 1000
    where: dict[str, Any] = {"database": database} if database else {}
    settings = offline_settings(
        folder, TOKEN, rate_limit=rate is not None, send_rate=rate or 30.0, worker=name, **where
    )
    city = load_city(SAMPLE_CITY).model_copy(
        update={"quiet_hours": QuietHours(start="00:00", end="00:00")}
    )
    app = build_application(settings, handlers.install, city=city, request=FakeRequest(api))
    await app.initialize()
    await app.bot_data.services.db.connect()
    uploads, seconds = count_uploads(api), count_seconds(api)
    print("ready", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    db = app.bot_data.services.db
    task = asyncio.create_task(outbox_worker(app).run_forever(idle=0.01))
    while await db.read.outbox.pending_count() > 0:  # noqa: ASYNC110 - polls a table
        await asyncio.sleep(0.1)
    await stop_task(task)
    await db.close()
    await app.shutdown()
    print(json.dumps({"seconds": seconds, "uploads": uploads[0], "sent": api.sent_total}))


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
    parser.add_argument(
        "--workers",
        type=int,
        default=0,
        help="N worker processes sending (SHAOZI_WORKER: claims, one bot-wide budget);"
        " default: the one-process bot",
    )
    parser.add_argument("--sender", help=argparse.SUPPRESS)  # a worker process of --workers
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.sender:
        asyncio.run(sender(args.sender, args.mode, Path(args.folder), args.database))
        return
    count = args.subscribers or MODES[args.mode][0]
    asyncio.run(run(args.mode, count, args.photo, args.database, args.workers))


if __name__ == "__main__":
    main()
