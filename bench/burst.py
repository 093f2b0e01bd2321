#!/usr/bin/env python3
"""A burst of new cases to one department: what each costs in messages, and how long Telegram's
pacing (one message a second to a private chat, twenty a minute to a group) makes the officer
and the department's group wait for the last card.

The real Application on the fake Bot API, on a ManualClock: N citizens file complete reports (a
photo, a place, real name) at the same moment; then the outbox worker runs at Telegram's limits,
a pass every tenth of a simulated second, until everything is delivered. For the officer (and the
group) it prints the messages per case and, from submission to the card with its buttons, the
p50, p99 and last arrival in simulated seconds.
Run from the repository root: python bench/burst.py [--cases 100]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import datetime as dt
import os
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("PTB_TIMEDELTA", "1")

from telegram import Update

import handlers
from bot.city import load_city
from bot.clock import ManualClock
from bot.invites import InviteSpec, create_invite
from bot.settings import SAMPLE_CITY
from bot.tg.app import outbox_worker, shutdown
from bot.tg.delivery import Limits
from bot.vocabulary.roles import Role
from fakebotapi import FakeBotAPI, FakeUser, SentMessage
from sandbox.core import offline_settings, start_on_fake_api
from tests.support.cases import report

TOKEN = "123456:BURST"
GROUP = -100_555
# 10:00 in Shanghai: inside the sending window, nothing waits for the morning.
MORNING = dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.UTC)
CARD = re.compile(r"YH-\d{8}-\d{4}")  # a case number, in any language


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def figures(messages: list[SentMessage], start: dt.datetime, cases: int) -> dict[str, Any]:
    """Messages per case, and when each case's card (the message with its buttons) arrived."""
    arrived = [
        (m.date - start).total_seconds() for m in messages if m.buttons and CARD.search(m.plain)
    ]
    if len(arrived) != cases:
        raise RuntimeError(f"{len(arrived)} cards arrived for {cases} cases")
    return {
        "messages": len(messages),
        "per_case": len(messages) / cases,
        "p50_s": quantile(arrived, 0.5),
        "p99_s": quantile(arrived, 0.99),
        "last_s": max(arrived),
    }


async def burst(cases: int) -> dict[str, dict[str, Any]]:
    with tempfile.TemporaryDirectory() as folder:
        clock = ManualClock(MORNING)
        api = FakeBotAPI(token=TOKEN, now=clock.now)
        settings = offline_settings(Path(folder), TOKEN)
        app = await start_on_fake_api(
            api, settings, handlers.install, city=load_city(SAMPLE_CITY), clock=clock
        )
        db = app.bot_data.services.db
        next_id = iter(range(200_000, 300_000))

        async def deliver(update: dict[str, Any]) -> None:
            await app.process_update(Update.de_json(update, app.bot))

        def user() -> FakeUser:
            return FakeUser(api, next(next_id), language_code="en", deliver=deliver)

        try:
            officer = user()
            code = await create_invite(db, InviteSpec(Role.OFFICER, "fire"), clock.now())
            await officer.send(f"/join {code}")
            api.add_chat({"id": GROUP, "type": "supergroup", "title": "Fire department"})
            async with db.transaction() as tx:
                await tx.departments.bind_group("fire", GROUP, officer.user_id, clock.now())
            mark = len(api.messages_to(officer.user_id))
            for n in range(cases):  # all at the same moment: the clock stands still
                await report(user(), photo_seed=n + 1)
            start = clock.now()
            worker = dataclasses.replace(outbox_worker(app), limits=Limits())
            while await db.read.outbox.pending_count():
                await worker.run_once()
                clock.advance(seconds=0.1)
            return {
                "officer": figures(api.messages_to(officer.user_id)[mark:], start, cases),
                "group": figures(api.messages_to(GROUP), start, cases),
            }
        finally:
            await shutdown(app)
            await app.shutdown()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cases", type=int, default=100)
    args = parser.parse_args()
    result = asyncio.run(burst(args.cases))
    pairs = [f"cases={args.cases}"]
    for who, values in result.items():
        pairs += [
            f"{who}_{key}={value:.2f}" if isinstance(value, float) else f"{who}_{key}={value}"
            for key, value in values.items()
        ]
    print(" ".join(pairs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
