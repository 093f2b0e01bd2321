#!/usr/bin/env python3
"""A city month: the whole loop at a real city's volume, through the real Application.

Builds a city from the sample configuration (all departments, 8 districts, 500 enterprises imported
with the real import command, staff bound through invites and /join), then runs N simulated days on
a ManualClock moved in steps, with the sweep and the outbox drain at each step. Citizens report
with photos and locations (some duplicates, some anonymous, some stickers first), officers triage
after a random delay (some past the acceptance limit), enterprises fix on time (70%), late (20%)
or ask for more time (10%), officers sometimes return fixes, reporters sometimes say "not fixed".
At the end the loop's invariants are checked; the exit status is 1 when one fails.
Run from the repository root: python bench/city_month.py [--days 30] [--reports 100] [--seed 1]

--workers N runs the city on N workers sharing the database (bench/workers.py: whole
Applications in this process, each with its own connections, as run_bot.py runs them with
SHAOZI_WORKER set), updates spread over them at random, the leader sweeping, all sending within
one bot-wide budget; every --kill-days simulated days a random worker is killed at one of its
Bot API calls and started again. Its last line adds workers, kills, lost, duplicates (what
was handled or sent twice; reports merged into another case are "merged") and max_send_rate
(notifications in the busiest second). The run fails when an update is lost or handled twice
beyond the one a kill interrupted, when more was done twice than there were kills, or when a
second saw more notifications than the limit. --database names the database (SHAOZI_DATABASE):
an SQLite file, or a postgresql://…/DB URL; DB is created afresh for the run (dropped first if
a run left it) and dropped after it (--keep leaves it).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import datetime as dt
import heapq
import itertools
import os
import random
import re
import resource
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("PTB_TIMEDELTA", "1")

from telegram import Update

import handlers
from bench.workers import Pool
from bot.city import CityConfig, load_city
from bot.clock import ManualClock
from bot.commands import import_enterprises
from bot.enterprises import check_character
from bot.invites import InviteSpec, create_invite
from bot.schedule import run_sweeps
from bot.settings import SAMPLE_CITY
from bot.tg.app import ShaoziApp, outbox_worker, shutdown
from bot.vocabulary.roles import Role
from fakebotapi import FakeBotAPI, FakeUser, SentMessage
from sandbox.core import offline_settings, start_on_fake_api
from storage.db import from_db, hide_password, is_url
from tests.support import tables
from tests.support.images import jpeg

TOKEN = "123456:CITY-MONTH"
NUMBER = re.compile(r"YH-\d{8}-\d{4}")
HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)
ENTERPRISES = 500


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def default_deadline(message: SentMessage) -> str:
    """The label of the starred (default) deadline button, or the first dated one."""
    labels = [text for row in message.buttons for text, _ in row if " by 20" in text]
    assert labels, f"no deadline buttons: {message.buttons}"
    return next((t for t in labels if "⭐" in t), labels[0])


@dataclass
class Case:
    number: str
    reporter: FakeUser
    department: str
    category: str
    where: tuple[float, float]
    duplicate_of: str | None = None
    fate: str = ""  # ontime, late, extend
    enterprise: int = -1
    card_waits: int = 0
    state: str = "submitted"  # the simulation's own view
    returned: int = 0
    complained: bool = False
    accepted: bool = False


@dataclass(order=True)
class Event:
    at: dt.datetime
    seq: int
    act: Callable[[], Awaitable[None]] = field(compare=False)


class City:
    def __init__(
        self,
        folder: Path,
        seed: int,
        step: dt.timedelta,
        workers: int = 0,
        database: Path | str | None = None,
    ) -> None:
        self.rng = random.Random(seed)
        self.folder, self.step = folder, step
        self.clock = ManualClock()
        self.api = FakeBotAPI(token=TOKEN, now=self.clock.now)
        self.api.history_limit = 20_000
        self.settings = offline_settings(folder, TOKEN)
        if database is not None:
            self.settings = self.settings.model_copy(update={"database": database})
        self.city: CityConfig = load_city(SAMPLE_CITY)
        self.app: ShaoziApp | None = None
        self.pool = (
            Pool(self.api, self.settings, self.city, self.clock, random.Random(seed + 1), workers)
            if workers
            else None
        )
        self.events: list[Event] = []
        self.seq = itertools.count()
        self.next_user = itertools.count(100_000)
        self.cases: dict[str, Case] = {}
        self.officers: dict[str, FakeUser] = {}
        self.contacts: dict[int, FakeUser] = {}
        self.enterprises: list[tuple[int, str]] = []
        self.errors: list[str] = []
        self.photos = [jpeg(160, 120, seed=s, gps=s % 2 == 0) for s in range(1, 9)]
        self.fix_photos = [jpeg(160, 120, seed=s) for s in range(500, 506)]
        self.figures: dict[str, int] = dict.fromkeys(
            ("reports", "anonymous", "merged", "rejected", "stickers", "late_triage",
             "ordered", "extensions", "returns", "not_fixed", "rewards", "fixes"), 0)  # fmt: skip

    # --- plumbing -----------------------------------------------------------------------------

    async def deliver(self, update: dict[str, Any]) -> None:
        if self.pool is not None:
            await self.pool.deliver(update)
            return
        assert self.app is not None
        await self.app.process_update(Update.de_json(update, self.app.bot))

    def user(self, language: str = "en", **kwargs: Any) -> FakeUser:
        user_id = next(self.next_user)
        return FakeUser(self.api, user_id, language_code=language, deliver=self.deliver, **kwargs)

    def at(self, moment: dt.datetime, act: Callable[[], Awaitable[None]]) -> None:
        heapq.heappush(self.events, Event(moment, next(self.seq), act))

    async def tick(self) -> None:
        if self.pool is not None:
            await self.pool.tick()
            return
        assert self.app is not None
        await run_sweeps(self.app.bot_data.services)
        await outbox_worker(self.app).drain()

    @property
    def db(self) -> Any:
        if self.pool is not None:
            return self.pool.any().app.bot_data.services.db
        assert self.app is not None
        return self.app.bot_data.services.db

    async def start(self) -> None:
        csv_path = self.folder / "enterprises.csv"
        districts = [d.code for d in self.city.districts]
        with csv_path.open("w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out)
            writer.writerow(["name", "credit_code", "district", "address"])
            for n in range(ENTERPRISES):
                code = f"91330100MA{n:07d}"
                writer.writerow(
                    [
                        f"Works E{n:04d} Ltd",
                        code + check_character(code),
                        districts[n % len(districts)],
                        f"{n} Factory Road",
                    ]
                )
        result = await asyncio.to_thread(import_enterprises, self.settings, self.city, csv_path)
        self.enterprises = [(e.id, e.name) for e in result.enterprises]
        if self.pool is not None:
            await self.pool.start_all()
        else:
            self.app = await start_on_fake_api(
                self.api, self.settings, handlers.install, city=self.city, clock=self.clock
            )
        for department in self.city.departments:
            self.officers[department.code] = await self.staff(
                InviteSpec(Role.OFFICER, department.code)
            )
        self.supervisor = await self.staff(InviteSpec(Role.SUPERVISOR))
        self.admin = await self.staff(InviteSpec(Role.ADMIN))

    async def staff(self, spec: InviteSpec) -> FakeUser:
        user = self.user()
        code = await create_invite(self.db, spec, self.clock.now())
        await user.send(f"/join {code}")
        # A worker killed at its answer leaves /join to be handled again (the one in flight),
        # which then says the user joined already: the first answer is the one that counts.
        if not any(m.plain.startswith("You are now") for m in user.transcript):
            raise RuntimeError(f"/join failed: {user.last.plain}")
        return user

    async def contact(self, enterprise_id: int) -> FakeUser:
        """The enterprise's contact, bound through an invite when it first gets an order."""
        if enterprise_id not in self.contacts:
            spec = InviteSpec(Role.ENTERPRISE, enterprise_id=enterprise_id)
            self.contacts[enterprise_id] = await self.staff(spec)
        return self.contacts[enterprise_id]

    async def stop(self) -> None:
        if self.pool is not None:
            await self.pool.close()
        if self.app is not None:
            await shutdown(self.app)
            await self.app.shutdown()
            self.app = None

    @staticmethod
    def find(
        user: FakeUser, text: str, button: str, *, headline: bool = False
    ) -> SentMessage | None:
        """The newest message with ``text`` (in its first line only, with ``headline``: a card
        may name other cases further down) and a button labelled ``button``."""
        for sent in user.newest_first():
            where = sent.plain.partition("\n")[0] if headline else sent.plain
            if not sent.deleted and text in where and sent.has_button(button):
                return sent
        return None

    @staticmethod
    def answer_to(user: FakeUser, pressed: SentMessage, number: str) -> SentMessage:
        """Where the bot's answer to a press on ``pressed`` (a card of case ``number``) is, as the
        person reads it: in place, or, when the card with a question under it outgrew its
        photo's caption (1,024 characters), in a new message of the case after it, the photo
        left without buttons (handlers/department.py ``put``)."""
        if pressed.buttons:
            return pressed
        for sent in user.newest_first():
            if sent.message_id <= pressed.message_id:
                break
            if not sent.deleted and sent.buttons and number in sent.plain.partition("\n")[0]:
                return sent
        return pressed

    async def open_order(self, contact: FakeUser, number: str, button: str) -> SentMessage | None:
        """The order card of case ``number`` through /tasks: shown at once when it is the only
        order, else opened from the list, turning its pages until the case's button is there."""
        await contact.send("/tasks")
        listing = contact.last
        while not listing.has_button(button):
            if any(label == number for row in listing.buttons for label, _data in row):
                await contact.press(number, message=listing)
                break
            if not listing.has_button("Next »"):
                return None
            await contact.press("Next »", message=listing)
        return self.find(contact, number, button)

    async def guarded(self, what: str, act: Callable[[], Awaitable[None]]) -> None:
        try:
            await act()
        except AssertionError as exc:
            self.errors.append(f"{what}: {str(exc)[:200]}")

    # --- citizens -----------------------------------------------------------------------------

    def place(self) -> tuple[float, float]:
        district = self.rng.choice(self.city.districts)
        xs = [p[0] for p in district.boundary]
        ys = [p[1] for p in district.boundary]
        return (
            round(self.rng.uniform(min(ys) + 0.002, max(ys) - 0.002), 5),
            round(self.rng.uniform(min(xs) + 0.002, max(xs) - 0.002), 5),
        )

    async def report(self) -> None:
        rng = self.rng
        open_cases = [c for c in self.cases.values() if c.state in ("submitted", "accepted")]
        duplicate = rng.random() < 0.05 and open_cases
        if duplicate:
            original = rng.choice(open_cases)
            category = next(c for c in self.city.categories if c.code == original.category)
            lat, lon = original.where
            where = (lat + 0.0001, lon + 0.0001)
        else:
            category = rng.choice(self.city.categories)
            where = self.place()
        citizen = self.user(first_name="Citizen")
        if rng.random() < 0.05:
            await citizen.send_sticker()  # off-flow: a sticker before anything
            self.figures["stickers"] += 1
        await citizen.send("/report")
        await citizen.press(category.name.en)
        await citizen.send_location(*where)
        if rng.random() < 0.05:
            await citizen.send_sticker()  # off-flow: a sticker instead of the description
            self.figures["stickers"] += 1
        await citizen.send("Blocked emergency exit and stacked gas cylinders by the stairs.")
        await citizen.send_photo(rng.choice(self.photos))
        await citizen.press("Done")
        if rng.random() < 0.3:
            await citizen.press("Anonymous")
            self.figures["anonymous"] += 1
        else:
            await citizen.press("Real name")
            await citizen.send("Wang Fang")
            await citizen.send_contact(f"1391234{rng.randrange(10_000):04d}")
        if citizen.last.has_button("Mine is different"):
            await citizen.press("Mine is different")
        await citizen.press("Submit")
        match = NUMBER.search(citizen.last.plain)
        assert match, f"no case number in {citizen.last.plain!r}"
        number = match.group(0)
        department = category.district_departments.get("", category.department)
        row = await self.db.read.cases.by_number(number)
        assert row is not None
        case = Case(number, citizen, row.department, category.code, where)
        if duplicate:
            case.duplicate_of = original.number
        self.cases[number] = case
        self.figures["reports"] += 1
        del department
        # The officer triages after a random delay; some are late, past the acceptance limit.
        limit = self.city.limits.acceptance_hours if hasattr(self.city, "limits") else 24
        if rng.random() < 0.1:
            delay = dt.timedelta(hours=rng.uniform(limit + 1, 2.5 * limit))
            self.figures["late_triage"] += 1
        else:
            delay = dt.timedelta(hours=rng.uniform(0.2, 0.8 * limit))
        self.at(self.clock.now() + delay, lambda: self.guarded(number, lambda: self.triage(case)))

    # --- officers -----------------------------------------------------------------------------

    async def triage(self, case: Case) -> None:
        rng = self.rng
        officer = self.officers[case.department]
        card = self.find(officer, f"New report {case.number}", "Accept")
        assert card is not None, f"no card for {case.number}"
        original = self.cases.get(case.duplicate_of or "")
        if original is not None and original.state in ("submitted", "accepted", "assigned"):
            await officer.press("Duplicate", message=card)
            await officer.send(original.number)
            case.state = "merged"
            self.figures["merged"] += 1
            return
        if rng.random() < 0.05:
            await officer.press("Reject", message=card)
            await officer.press("not a safety hazard", message=card)
            card = self.answer_to(officer, card, case.number)
            await officer.press("Yes, do not accept it", message=card)  # asked once more
            case.state = "rejected"
            self.figures["rejected"] += 1
            return
        await officer.press("Accept", message=card)
        await officer.press(rng.choice(["orange", "yellow", "blue"]), message=card)
        await officer.press("general hazard", message=card)
        card = self.answer_to(officer, card, case.number)
        case.state, case.accepted = "accepted", True
        await officer.press("Order an enterprise to fix it", message=card)
        enterprise_id, name = rng.choice(self.enterprises)
        await self.contact(enterprise_id)  # bound before the order goes out
        await officer.send(name)
        # The list with the enterprise's button (after a kill, an answer given twice may
        # follow it: the officer presses in the list, as a person would).
        choice = self.find(officer, "", name) or officer.last
        await officer.press(name, message=choice)
        await officer.press(default_deadline(choice), message=choice)
        assert "Status: being rectified" in choice.plain, choice.plain
        case.state, case.enterprise = "assigned", enterprise_id
        self.figures["ordered"] += 1
        roll = rng.random()
        case.fate = "ontime" if roll < 0.7 else "late" if roll < 0.9 else "extend"
        await self.plan_fix(case)

    async def deadline(self, case: Case) -> dt.datetime:
        row = await self.db.read.cases.by_number(case.number)
        assert row is not None
        assert row.deadline is not None
        deadline = row.deadline
        return deadline if isinstance(deadline, dt.datetime) else from_db(deadline)

    async def plan_fix(self, case: Case) -> None:
        now = self.clock.now()
        deadline = await self.deadline(case)
        if case.fate == "extend":
            when = now + (deadline - now) * self.rng.uniform(0.2, 0.6)
            self.at(when, lambda: self.guarded(case.number, lambda: self.extend(case)))
            return
        if case.fate == "late":
            when = deadline + dt.timedelta(hours=self.rng.uniform(2, 80))
        else:
            when = now + (deadline - now) * self.rng.uniform(0.1, 0.9)
        self.at(when, lambda: self.guarded(case.number, lambda: self.fix(case)))

    async def extend(self, case: Case) -> None:
        contact = self.contacts[case.enterprise]
        order = self.find(contact, case.number, "Ask for more time")
        if order is None:  # the order has scrolled out of the chat: the contact asks /tasks
            order = await self.open_order(contact, case.number, "Ask for more time")
        assert order is not None, f"no order for {case.number}"
        deadline = await self.deadline(case)
        await contact.press("Ask for more time", message=order)
        local = (deadline + 7 * DAY).astimezone(self.settings.zone).date()
        await contact.send(local.isoformat())
        await contact.send("The replacement part must be ordered from the factory.")
        self.figures["extensions"] += 1
        case.fate = "ontime"
        self.at(
            self.clock.now() + dt.timedelta(hours=self.rng.uniform(1, 20)),
            lambda: self.guarded(case.number, lambda: self.grant(case)),
        )

    async def grant(self, case: Case) -> None:
        officer = self.officers[case.department]
        request = self.find(officer, f"Extension requested for case {case.number}", "Grant")
        assert request is not None, f"no extension request for {case.number}"
        await officer.press("Grant the extension", message=request)
        await self.plan_fix(case)

    # --- enterprises --------------------------------------------------------------------------

    async def fix(self, case: Case) -> None:
        contact = self.contacts[case.enterprise]
        task = await self.open_order(contact, case.number, "Submit the fix")
        assert task is not None, f"no task for {case.number}"
        rows = (task.reply_markup or {}).get("inline_keyboard", [])
        data = [
            b["callback_data"]
            for row in rows
            for b in row
            if "Submit the fix" in b.get("text", "") and "callback_data" in b
        ]
        target = next((d for d in data if case.number in d), None)
        if target is None and len(data) == 1:
            target = data[0]
        assert target is not None, f"no fix button for {case.number}: {rows}"
        await contact.press_data(target, task)
        await contact.send_photo(self.rng.choice(self.fix_photos))
        await contact.send("Cleared the exit and moved the cylinders to the store.")
        case.state = "fix_submitted"
        self.figures["fixes"] += 1
        self.at(
            self.clock.now() + dt.timedelta(hours=self.rng.uniform(0.5, 20)),
            lambda: self.guarded(case.number, lambda: self.verify(case)),
        )

    async def verify(self, case: Case) -> None:
        officer = self.officers[case.department]
        row = await self.db.read.cases.by_number(case.number)
        assert row is not None
        if str(row.status) != "fix_submitted":
            return  # verified already (two visits scheduled): nothing awaits review
        # The card of a submitted fix, or of a reporter's "not fixed" after a close.
        card = self.find(officer, case.number, "Verified", headline=True)
        if card is None and case.card_waits < 24:
            # Not in the officer's chat yet (sent at night, it waits for the morning): the
            # officer verifies once it has come.
            case.card_waits += 1
            self.at(
                self.clock.now() + HOUR,
                lambda: self.guarded(case.number, lambda: self.verify(case)),
            )
            return
        assert card is not None, f"no fix card for {case.number}"
        if case.returned == 0 and self.rng.random() < 0.1:
            await officer.press("Not fixed: return it", message=card)
            await officer.send("The exit is still blocked in the photo.")
            last = officer.last
            await officer.press(default_deadline(last), message=last)
            case.returned += 1
            case.state = "assigned"
            case.fate = "ontime"
            self.figures["returns"] += 1
            await self.plan_fix(case)
            return
        # Each answer comes in place, but the question before closing may come anew (answer_to).
        await officer.press("Verified: close the case", message=card)
        card = self.answer_to(officer, card, case.number)
        if card.has_button("Genuine"):
            await officer.press("Genuine", message=card)
            self.figures["rewards"] += 1
        if card.has_button("No fine"):
            await officer.press("No fine", message=card)
            card = self.answer_to(officer, card, case.number)
        await officer.press("Yes, close it", message=card)  # asked once more
        case.state = "closed"
        if not case.complained and self.rng.random() < 0.05:
            self.at(
                self.clock.now() + dt.timedelta(hours=self.rng.uniform(2, 30)),
                lambda: self.guarded(case.number, lambda: self.complain(case)),
            )

    # --- reporters ----------------------------------------------------------------------------

    async def complain(self, case: Case) -> None:
        message = self.find(case.reporter, case.number, "No, it is not fixed")
        if message is None:
            return  # an anonymous reporter may not be asked
        await case.reporter.press("No, it is not fixed", message=message)
        await case.reporter.send_photo(self.rng.choice(self.photos), caption="Still blocked")
        case.complained = True
        self.figures["not_fixed"] += 1
        row = await self.db.read.cases.by_number(case.number)
        assert row is not None
        case.state = str(row.status)
        if case.state == "fix_submitted":
            self.at(
                self.clock.now() + dt.timedelta(hours=self.rng.uniform(1, 20)),
                lambda: self.guarded(case.number, lambda: self.verify(case)),
            )
        elif case.state in ("assigned", "accepted"):
            case.fate = "ontime"
            await self.plan_fix(case)

    # --- the run ------------------------------------------------------------------------------

    def schedule_day(self, day_start: dt.datetime, reports: int) -> None:
        for _ in range(max(0, round(self.rng.gauss(reports, reports**0.5)))):
            # 07:00 to 22:00 city time (UTC+8): 23:00 to 14:00 UTC.
            offset = dt.timedelta(hours=self.rng.uniform(-1, 14))
            self.at(day_start + offset, lambda: self.guarded("report", self.report))

    async def run(
        self, days: int, reports: int, kill_days: float = 3.0, stop_after: int | None = None
    ) -> None:
        """Run the ``days`` of the city; ``stop_after``: only its first days (the same city cut
        short: the days are all planned first, with the random numbers they take)."""
        start = self.clock.now()
        end = start + min(days, stop_after or days) * DAY
        # Several workers: the moments a random worker is killed (at one of its next calls).
        kills = []
        if self.pool is not None and kill_days > 0:
            # The pool's own random numbers: the city is the one the one-process run sees.
            rng = self.pool.rng
            moment = start + rng.uniform(0.5, 1.5) * kill_days * DAY
            while moment < end:
                kills.append(moment)
                moment += rng.uniform(0.5, 1.5) * kill_days * DAY
        for day in range(days):
            base = dt.datetime.combine((start + day * DAY).date(), dt.time(0), tzinfo=dt.UTC)
            self.schedule_day(base + DAY if base + DAY > start else base, reports)
        began, day_done = time.perf_counter(), 0
        while self.clock.now() < end:
            self.clock.advance(self.step)
            now = self.clock.now()
            if (now - start) // DAY > day_done:
                day_done = (now - start) // DAY
                print(  # progress, for a long run: one line a simulated day
                    f"day {day_done}/{days}: cases={len(self.cases)}"
                    f" wall_s={time.perf_counter() - began:.1f}",
                    file=sys.stderr,
                    flush=True,
                )
            if self.pool is not None:
                await self.pool.restart_dead()  # systemd starts a killed worker again
                while kills and kills[0] <= now:
                    kills.pop(0)
                    self.pool.doom()
            while self.events and self.events[0].at <= now:
                event = heapq.heappop(self.events)
                if event.at <= end:
                    await event.act()
                    await self.tick()
            await self.tick()


async def invariants(city: City, started: dt.datetime) -> dict[str, Any]:
    # The invariants are checks, as the test suite's: they read the tables on their own
    # connection (tests/support/tables.py), not through the product.
    db = city.db
    now = city.clock.now()
    step = city.step
    rows = tables.rows(
        db,
        "SELECT number, status, deadline, escalated_at,"
        " (SELECT MAX(at) FROM case_events e WHERE e.case_id = c.id AND e.kind = 'submit_fix')"
        " FROM cases c",
    )
    bad_state = unescalated = late_escalation = 0
    for _number, status, deadline, escalated, fixed_at in rows:
        if status not in ("closed", "rejected", "merged", "submitted", "accepted", "assigned",
                          "fix_submitted"):  # fmt: skip
            bad_state += 1
        if status in ("accepted", "assigned", "fix_submitted") and deadline:
            due = from_db(deadline)
            # Overdue while the fix was awaited: until now, or until the fix came in (a fix
            # within the day after the deadline comes before the escalation, which is right).
            waited_until = from_db(fixed_at) if status == "fix_submitted" and fixed_at else now
            if waited_until - due > DAY + step:
                if escalated is None:
                    unescalated += 1
                elif from_db(escalated) > due + DAY + step:
                    late_escalation += 1
    duplicates = tables.value(
        db,
        "SELECT COUNT(*) FROM (SELECT dedupe_key FROM outbox GROUP BY dedupe_key"
        " HAVING COUNT(*) > 1) AS twice",
    )
    pending_due = tables.value(
        db,
        "SELECT COUNT(*) FROM outbox WHERE status = 'pending' AND not_before <= ?",
        (now.isoformat(),),
    )
    reminders_unsent = tables.value(
        db,
        "SELECT COUNT(*) FROM case_reminders WHERE superseded = 0 AND due_at <= ?"
        " AND queued_at IS NULL",
        (now.isoformat(),),
    )
    integrity = await db.integrity_check()
    zone = city.settings.zone
    first = started.astimezone(zone).date()
    last = now.astimezone(zone).date()
    await city.supervisor.send(f"/stats {first.isoformat()}..{last.isoformat()}")
    text = next(m.plain for m in city.supervisor.newest_first() if "Found:" in m.plain)
    match = re.search(r"Found: ([\d,]+) · rectified: ([\d,]+)", text)
    assert match, text
    stats_found, stats_rectified = (int(g.replace(",", "")) for g in match.groups())
    truth_found = sum(1 for c in city.cases.values() if c.accepted)
    truth_rectified = sum(1 for c in city.cases.values() if c.state == "closed")
    on_time = tables.value(
        db, "SELECT COUNT(*) FROM cases WHERE status = 'closed' AND closed_at <= deadline"
    )
    closed = tables.value(db, "SELECT COUNT(*) FROM cases WHERE status = 'closed'")
    return {
        "cases": len(rows),
        "bad_state": bad_state,
        "unescalated": unescalated,
        "escalated": sum(1 for row in rows if row[3] is not None),
        "late_escalation": late_escalation,
        "dup_reminders": duplicates,
        "pending_due": pending_due,
        "reminders_unsent": reminders_unsent,
        "integrity": integrity,
        "stats_found": stats_found,
        "truth_found": truth_found,
        "stats_rectified": stats_rectified,
        "truth_rectified": truth_rectified,
        "rect_rate": truth_rectified / truth_found if truth_found else 1.0,
        "on_time_rate": on_time / closed if closed else 1.0,
    }


def failures(figures: dict[str, Any]) -> list[str]:
    out = []
    # An action the simulation could not take (a card it did not find) means the loop it checks
    # is not the one it meant to run: that fails the run too.
    for key in ("action_errors", "bad_state", "unescalated", "late_escalation", "dup_reminders",
                "pending_due", "reminders_unsent"):  # fmt: skip
        if figures[key]:
            out.append(f"{key}={figures[key]}")
    if figures["integrity"] != "ok":
        out.append(f"integrity={figures['integrity']}")
    if figures["stats_found"] != figures["truth_found"]:
        out.append("stats_found != truth_found")
    if figures["stats_rectified"] != figures["truth_rectified"]:
        out.append("stats_rectified != truth_rectified")
    if "workers" in figures:
        if figures["lost"] or figures["handled_twice"]:
            out.append(f"lost={figures['lost']} handled_twice={figures['handled_twice']}")
        if figures["duplicates"] > figures["kills"]:
            out.append(f"duplicates={figures['duplicates']} > kills={figures['kills']}")
        if figures["max_send_rate"] > figures["send_limit"]:
            out.append(f"max_send_rate={figures['max_send_rate']}")
    return out


async def simulate(
    days: int = 30,
    reports: int = 100,
    seed: int = 1,
    step_minutes: int = 15,
    workers: int = 0,
    kill_days: float = 3.0,
    database: Path | str | None = None,
    stop_after: int | None = None,
) -> dict[str, Any]:
    """Run the city; return its figures, with "failures" listing every broken invariant.
    ``workers``: on that many workers, one killed every ``kill_days`` simulated days;
    ``stop_after``: the first days only of the ``days`` planned."""
    with tempfile.TemporaryDirectory() as folder:
        city = City(Path(folder), seed, dt.timedelta(minutes=step_minutes), workers, database)
        wall = time.perf_counter()
        await city.start()
        started = city.clock.now()
        try:
            await city.run(days, reports, kill_days, stop_after)
            if city.pool is not None:
                await city.pool.restart_dead()
            await city.tick()
            figures = await invariants(city, started)
            if city.pool is not None:
                figures.update(city.pool.figures())
                figures["kill_log"] = city.pool.kill_log
                figures["send_limit"] = city.settings.send_rate
        finally:
            await city.stop()
        elapsed = time.perf_counter() - wall
    figures.update(city.figures)
    figures["action_errors"] = len(city.errors)
    figures["wall_s"] = elapsed
    figures["cases_per_s"] = figures["cases"] / elapsed if elapsed else 0.0
    figures["peak_mb"] = peak_mb()
    figures["failures"] = failures(figures)
    figures["errors"] = city.errors[:10]
    return figures


async def postgres_database(url: str, create: bool) -> None:
    """Drop the URL's database (``create``: and create it empty), through the server's
    ``postgres`` database."""
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if not name or name == "postgres":
        raise SystemExit(f"{hide_password(url)}: name a database of the benchmark's own")
    conn = await asyncpg.connect(urlunsplit(parts._replace(path="/postgres")))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if create:
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--reports", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--step", type=int, default=15, help="clock step in minutes")
    parser.add_argument("--workers", type=int, default=0, help="workers on one database")
    parser.add_argument(
        "--kill-days", type=float, default=3.0, help="with --workers: days between kills"
    )
    parser.add_argument(
        "--database",
        help="SHAOZI_DATABASE for the run: an SQLite file or a PostgreSQL URL, whose database"
        " is created for the run (default: a temporary SQLite file)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the PostgreSQL database")
    parser.add_argument(
        "--stop-after",
        type=int,
        help="run only the first DAYS of the --days city, the same city (--days changes it), to"
        " see what happens on a late day sooner",
    )
    args = parser.parse_args()
    database = args.database or os.environ.get("SHAOZI_DATABASE")
    where: Path | str | None = None
    if database:
        where = database if is_url(database) else Path(database)
    if isinstance(where, str):
        asyncio.run(postgres_database(where, create=True))
    try:
        figures = asyncio.run(
            simulate(
                args.days,
                args.reports,
                args.seed,
                args.step,
                args.workers,
                args.kill_days,
                where,
                args.stop_after,
            )
        )
    finally:
        if isinstance(where, str) and not args.keep:
            asyncio.run(postgres_database(where, create=False))
    for kill in figures.get("kill_log", []):
        print(f"kill: {kill}")
    for error in figures["errors"]:
        print(f"action error: {error}")
    for failure in figures["failures"]:
        print(f"INVARIANT FAILED: {failure}")
    keys = ("cases", "reports", "anonymous", "merged", "rejected", "stickers", "late_triage",
            "ordered", "extensions", "returns", "not_fixed", "rewards", "action_errors",
            "bad_state", "escalated", "unescalated", "late_escalation", "dup_reminders",
            "pending_due", "reminders_unsent", "integrity", "stats_found",
            "truth_found", "stats_rectified", "truth_rectified")  # fmt: skip
    line = " ".join(f"{k}={figures[k]}" for k in keys)
    line += (
        f" rect_rate={figures['rect_rate']:.3f} on_time_rate={figures['on_time_rate']:.3f}"
        f" wall_s={figures['wall_s']:.1f} cases_per_s={figures['cases_per_s']:.2f}"
        f" peak_mb={figures['peak_mb']:.0f}"
    )
    if "workers" in figures:
        line += "".join(
            f" {k}={figures[k]}"
            for k in ("workers", "kills", "lost", "duplicates", "max_send_rate")
        )
    line += f" ok={int(not figures['failures'])}"
    print(line)
    return 1 if figures["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
