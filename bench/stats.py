#!/usr/bin/env python3
"""The supervisor's /stats and the reminder sweep on a million cases.

Seeds 1,000,000 cases spread over three years into a fresh SQLite database (plain executemany),
then times, in the same run:
  - a bare ``SELECT count(*) FROM cases`` (the floor: one pass over an index);
  - the /stats figures for the last year over the whole city (bot/stats.py, one SQL statement);
  - the reminder sweep (bot/reminders.py: sweep_deadlines + sweep_triage), once to catch up
    (every rung due since the cases were made is recorded) and then in its steady state, which
    is what runs every minute;
  - /export of this month's ledger over the whole city (XLSX and CSV, streamed).
Targets: stats under 0.5 s, the steady sweep under 0.05 s. Each timing is the best of 3 runs.
The database is not ANALYZEd, as in production (SQLite). --profile prints where the steady
sweep's time goes.

With --database postgresql://…/DB the same runs on PostgreSQL: DB must exist and hold no cases
(it is migrated here); the cases are loaded with COPY, and the tables ANALYZEd once after it, as
autovacuum would do after such a load.
Run from the repository root: python bench/stats.py [--cases N] [--profile] [--database URL]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import datetime as dt
import io
import pstats
import random
import sqlite3
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import handlers
from bot import ledger, reminders, stats
from bot.cards import Cards
from bot.city import CityConfig, load_city
from bot.clock import ManualClock
from bot.services import Services
from bot.settings import SAMPLE_CITY
from bot.tg.app import ShaoziApp, shutdown
from bot.vocabulary.grading import Colour
from fakebotapi import FakeBotAPI
from sandbox.core import offline_settings, start_on_fake_api

TOKEN = "123456:BENCH"
NOW = dt.datetime(2026, 11, 22, 2, 0, tzinfo=dt.UTC)
YEARS = 3
ENTERPRISES = 2_000
DAY = dt.timedelta(days=1)
COLOURS = (("blue", 0.40), ("yellow", 0.35), ("orange", 0.18), ("red", 0.07))


def stamp(seconds: float | None) -> str | None:
    """Epoch seconds as the database's UTC text (storage.db.to_db), a lot faster."""
    if seconds is None:
        return None
    whole = int(seconds)
    micro = int((seconds - whole) * 1_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + f".{micro:06d}Z"


def seed_rows(
    city: CityConfig, count: int, rng: random.Random, at: dt.datetime = NOW
) -> Iterator[tuple[Any, ...]]:
    """Cases as a city makes them: a report, acceptance within hours, an order with the
    colour's deadline, a fix (a fifth of them late, a few never), verification a day or so
    later. Whatever lies after ``at`` has not happened yet, so the recent cases are the open ones.
    Times are epoch seconds here: a million datetimes would make seeding slow."""
    categories = [c.code for c in city.categories]
    districts = [d.code for d in city.districts]
    route = {(c, d): city.route(c, d) for c in categories for d in districts}
    deadline_days = {c.value: city.deadlines.days(c) for c in Colour}
    colour_codes = [c for c, _w in COLOURS]
    colour_weights = [w for _c, w in COLOURS]
    now = at.timestamp()
    day, hour = 86400.0, 3600.0
    span = YEARS * 365 * day
    start = now - span
    for n in range(1, count + 1):
        # Reports grow a little year on year: recent seconds are a little likelier.
        created = start + span * rng.random() ** 0.9
        category = rng.choice(categories)
        district = rng.choice(districts)
        self_reported = rng.random() < 0.1
        status, colour, level = "submitted", None, None
        accepted = assigned = deadline = fixed = closed = escalated = None
        decided = created + rng.expovariate(1 / 8) * hour  # triage takes ~8 hours
        fate = rng.random()
        if decided <= now:
            if fate < 0.04 and not self_reported:
                status = "rejected"
            elif fate < 0.06 and not self_reported:
                status = "merged"
            else:
                colour = rng.choices(colour_codes, colour_weights)[0]
                level = "major" if colour == "red" else "general"
                status = "accepted"
                accepted = None if self_reported else decided
                assigned = decided + rng.expovariate(1 / 4) * hour
                if assigned > now:
                    assigned = None
                else:
                    status = "assigned"
                    deadline = assigned + deadline_days[colour] * day
                    if colour == "red":
                        escalated = assigned  # 挂牌督办 at once
                    if fate < 0.99:  # the rest are never fixed: the long-overdue stragglers
                        fixed = assigned + deadline_days[colour] * day * rng.uniform(0.2, 1.15)
                    if fixed is not None and fixed <= now:
                        status = "fix_submitted"
                        closed = fixed + rng.expovariate(1.0) * day
                        if closed <= now:
                            status = "closed"
                        else:
                            closed = None
                    else:
                        fixed = None
                    late = deadline + day
                    if escalated is None and late <= now and (closed is None or closed > late):
                        escalated = late
        updated = max(t for t in (created, decided, assigned, fixed, closed) if t and t <= now)
        yield (
            n,
            f"YH-{time.strftime('%Y%m%d', time.gmtime(created))}-{n:07d}",
            category,
            district,
            f"{rng.randint(1, 999)} Renmin Road",
            "A hazard seen on the way to work.",
            1,
            route[category, district],
            status,
            stamp(created),
            stamp(updated),
            colour,
            level,
            rng.randint(1, ENTERPRISES) if assigned is not None else None,
            stamp(deadline),
            stamp(accepted),
            stamp(assigned),
            stamp(fixed),
            stamp(closed),
            int(self_reported),
            stamp(escalated),
            stamp(created),
            stamp(assigned),
        )


CASE_COLUMNS = (
    "id, number, category, district, address, description, anonymous, department,"
    " status, created_at, updated_at, colour, level, enterprise_id, deadline, accepted_at,"
    " assigned_at, fix_submitted_at, closed_at, self_reported, escalated_at, routed_at,"
    " deadline_set_at"
)


async def seed_postgres(url: str, city: CityConfig, count: int, at: dt.datetime = NOW) -> float:
    """``seed`` for PostgreSQL: the same rows, loaded with COPY."""
    began = time.perf_counter()
    rng = random.Random(20261122)
    first = stamp((at - YEARS * 365 * DAY).timestamp())
    conn = await asyncpg.connect(url)
    try:
        if await conn.fetchval("SELECT COUNT(*) FROM cases"):
            raise SystemExit(f"{url} holds cases already: give the benchmark an empty database")
        async with conn.transaction():
            await conn.execute(
                "INSERT INTO users (id, created_at, last_seen_at) VALUES (1, $1, $1)", first
            )
            await conn.copy_records_to_table(
                "enterprises",
                records=[
                    (n, f"Enterprise {n}", "laocheng", first) for n in range(1, ENTERPRISES + 1)
                ],
                columns=["id", "name", "district", "created_at"],
            )
            await conn.copy_records_to_table(
                "cases",
                records=seed_rows(city, count, rng, at),
                columns=[c.strip() for c in CASE_COLUMNS.split(",")],
            )
            await conn.execute(
                "INSERT INTO case_reporters (case_id, user_id, created_at)"
                " SELECT id, 1, created_at FROM cases"
            )
            for table in ("users", "enterprises", "cases"):
                await conn.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                    f" (SELECT MAX(id) FROM {table}))"
                )
        # COPY leaves the visibility map unset (autovacuum would set it on a live database):
        # without it an index-only scan reads the table too.
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()
    return time.perf_counter() - began


def seed(path: Path, city: CityConfig, count: int, at: dt.datetime = NOW) -> float:
    """Fill the migrated database at ``path`` with ``count`` cases of the three years before
    ``at``; return the seconds it took."""
    began = time.perf_counter()
    rng = random.Random(20261122)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("PRAGMA cache_size = -1000000")  # 1 GB: the indexes stay in memory
    first = stamp((at - YEARS * 365 * DAY).timestamp())
    with conn:
        conn.execute(
            "INSERT INTO users (id, created_at, last_seen_at) VALUES (1, ?, ?)", (first, first)
        )
        conn.executemany(
            "INSERT INTO enterprises (id, name, district, created_at) VALUES (?, ?, ?, ?)",
            ((n, f"Enterprise {n}", "laocheng", first) for n in range(1, ENTERPRISES + 1)),
        )
        conn.executemany(
            "INSERT INTO cases (id, number, category, district, address,"
            " description, anonymous, department, status, created_at, updated_at, colour, level,"
            " enterprise_id, deadline, accepted_at, assigned_at, fix_submitted_at, closed_at,"
            " self_reported, escalated_at, routed_at, deadline_set_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            seed_rows(city, count, rng, at),
        )
        conn.execute(
            "INSERT INTO case_reporters (case_id, user_id, created_at)"
            " SELECT id, 1, created_at FROM cases"
        )
    conn.close()
    return time.perf_counter() - began


async def build(folder: Path, clock: ManualClock, database: str | None = None) -> ShaoziApp:
    api = FakeBotAPI(token=TOKEN)
    api.any_private_chat = True
    settings = offline_settings(folder, TOKEN, **({"database": database} if database else {}))
    city = load_city(SAMPLE_CITY)
    return await start_on_fake_api(api, settings, handlers.install, city=city, clock=clock)


async def best_of(runs: int, work: Callable[[], Awaitable[object]]) -> float:
    best = float("inf")
    for _ in range(runs):
        began = time.perf_counter()
        await work()
        best = min(best, time.perf_counter() - began)
    return best


async def sweep(services: Services) -> int:
    now = services.clock.now()
    return await reminders.sweep_deadlines(services, now) + await reminders.sweep_triage(
        services, now
    )


async def profile_sweep(services: Services) -> str:
    """Where the steady sweep spends its time: the top functions by own time."""
    profiler = cProfile.Profile()
    profiler.enable()
    await sweep(services)
    profiler.disable()
    out = io.StringIO()
    report = pstats.Stats(profiler, stream=out)
    report.sort_stats("cumulative").print_stats(r"(bot|storage)/", 14)
    report.sort_stats("tottime").print_stats(10)
    return out.getvalue()


async def run(count: int, profile: bool, database: str | None) -> None:
    clock = ManualClock(NOW)
    with tempfile.TemporaryDirectory() as folder:
        app = await build(Path(folder), clock, database)
        services = app.bot_data.services
        where = services.settings.database
        if isinstance(where, Path):
            seed_s = seed(where, services.city, count)
        else:
            seed_s = await seed_postgres(where, services.city, count)
        db = services.db
        read = db.read
        print(f"seeded {count:,} cases in {seed_s:.1f} s")
        by_status = await read.cases.status_counts()
        for status, n in sorted(by_status.items(), key=lambda item: item[1], reverse=True):
            print(f"  {status:<14} {n:>9,}")

        count_s = await best_of(3, read.cases.count)
        print(f"SELECT count(*) FROM cases: {count_s:.3f} s")

        period = stats.parse_period("year", NOW, services.settings.zone)
        scope = stats.Scope(None)
        figures = await stats.compute(services, scope, period)
        stats_s = await best_of(3, lambda: stats.compute(services, scope, period))
        total = figures.total
        print(
            f"/stats year, whole city: {stats_s:.3f} s"
            f" (found {total.found:,}, rectified {total.rectified:,},"
            f" overdue {total.overdue:,}, {len(figures.by_department)} departments)"
        )

        began = time.perf_counter()
        await sweep(services)
        catchup_s = time.perf_counter() - began
        rungs = await read.reminders.count()
        print(
            f"reminder sweep, first run (catch-up): {catchup_s:.2f} s, {rungs:,} rungs recorded"
            " (no staff in this city, so no message is queued)"
        )
        sweep_s = await best_of(3, lambda: sweep(services))
        ladder = await read.cases.count("assigned", with_deadline=True)
        waiting = await read.cases.count("submitted")
        print(
            f"reminder sweep, steady state: {sweep_s:.3f} s"
            f" ({ladder:,} assigned cases with a deadline, {waiting:,} awaiting acceptance)"
        )
        if profile:
            print(await profile_sweep(services))

        month = stats.parse_period("month", NOW, services.settings.zone)
        book = ledger.Ledger(
            services.translator_for("zh_Hans"), Cards(services.city, services.settings.zone), NOW
        )
        reader = services.db.ledger_reader()
        began = time.perf_counter()
        exported = await asyncio.to_thread(
            ledger.write,
            book,
            reader.rows(month.start, month.end, None),
            Path(folder) / "ledger.csv",
            Path(folder) / "ledger.xlsx",
        )
        export_s = time.perf_counter() - began
        print(f"/export month, whole city: {export_s:.2f} s for {exported:,} cases")
        await shutdown(app)
        await app.shutdown()
    print(
        f"cases={count} stats_s={stats_s:.3f} sweep_s={sweep_s:.3f} count_s={count_s:.3f}"
        f" catchup_s={catchup_s:.1f} export_month_s={export_s:.1f} seed_s={seed_s:.0f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--profile", action="store_true", help="profile the steady sweep")
    parser.add_argument(
        "--database", metavar="URL", help="an empty PostgreSQL database (default: SQLite)"
    )
    args = parser.parse_args()
    asyncio.run(run(args.cases, args.profile, args.database))


if __name__ == "__main__":
    main()
