#!/usr/bin/env python3
"""/case search and /queue pages on a city's years of cases.

Seeds the cases of bench/stats.py (100,000 by default: Karamay's three years are ~90,000) into
a fresh SQLite database, then times, each the best of 3 runs:
  - /case with words every case has (the worst: all are counted, the first ten read), with a
    part of a number, with a word no case has, with a district's name, for an officer of the
    busiest department and for a city-wide supervisor;
  - /queue's first page for that officer, unfiltered and through each kind of filter.
Target: each under 0.3 s (an officer waits for it). The database is not ANALYZEd.
Run from the repository root: python bench/find.py [--cases N]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.stats import NOW, best_of, build, seed
from bot import queue, search
from bot.accounts import Account
from bot.clock import ManualClock
from bot.tg.app import shutdown
from bot.vocabulary.grading import Colour
from bot.vocabulary.models import Membership, User
from bot.vocabulary.roles import Role


def account(role: Role, department: str | None) -> Account:
    user = User(
        id=1,
        language="en",
        telegram_language=None,
        subscribed=False,
        subscription_asked=False,
        blocked_at=None,
        created_at=NOW,
        last_seen_at=NOW,
    )
    member = Membership(
        id=1, user_id=1, role=role, department=department, enterprise_id=None, created_at=NOW
    )
    return Account(user, [member])


async def run(count: int) -> None:
    clock = ManualClock(NOW)
    with tempfile.TemporaryDirectory() as folder:
        app = await build(Path(folder), clock)
        services = app.bot_data.services
        assert isinstance(services.settings.database, Path)  # an SQLite file
        seed_s = seed(services.settings.database, services.city, count)
        print(f"seeded {count:,} cases in {seed_s:.1f} s")
        busiest = "emergency"  # the most categories route to it
        officer = account(Role.OFFICER, busiest)
        supervisor = account(Role.SUPERVISOR, None)
        timings: dict[str, float] = {}
        for who, actor in (("officer", officer), ("city supervisor", supervisor)):
            for words in ("renmin road", "0004217", "nothing-has-this", "laocheng"):

                async def find(actor: Account = actor, words: str = words) -> object:
                    try:
                        return await search.find(services, actor, words)
                    except search.NothingMatches:
                        return None

                found = await find()
                total = found.total if isinstance(found, search.Matches) else int(bool(found))
                seconds = await best_of(3, find)
                timings[f"case:{who}:{words}"] = seconds
                print(f"/case {words!r} ({who}): {seconds:.3f} s, {total:,} match")
        filters = {
            "": queue.QueueFilter(),
            "action": queue.QueueFilter(action=True),
            "overdue": queue.QueueFilter(overdue=True),
            "supervised": queue.QueueFilter(supervised=True),
            "red": queue.QueueFilter(colour=Colour.RED),
            "laocheng": queue.QueueFilter(district="laocheng"),
        }
        for name, chosen in filters.items():

            async def page(chosen: queue.QueueFilter = chosen) -> queue.QueuePage:
                return await queue.queue_page(services, officer, 0, chosen)

            listed = await page()
            seconds = await best_of(3, page)
            timings[f"queue:{name}"] = seconds
            waiting = sum(s.waiting for s in listed.sections)
            print(f"/queue {name} ({busiest}): {seconds:.3f} s, {waiting:,} cases listed")
        await shutdown(app)
        await app.shutdown()
    worst = max(timings, key=lambda k: timings[k])
    print(f"cases={count} worst={worst} worst_s={timings[worst]:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cases", type=int, default=100_000)
    args = parser.parse_args()
    asyncio.run(run(args.cases))


if __name__ == "__main__":
    main()
