"""Cases written straight into the database, as a test knows them: chosen statuses, times,
deadlines, departments, categories, districts, colours and self-reported flags."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from storage.db import to_db
from tests.support import tables
from tests.support.chat import Bot
from tests.support.moments import SHANGHAI, local

DAY = dt.timedelta(days=1)
REPORTER = 777_000_001
REPORTER_NAME = "Wang Mingzhu"
REPORTER_PHONE = "13800138000"
OPEN = ("accepted", "assigned", "fix_submitted")
FOUND = ("accepted", "assigned", "fix_submitted", "closed")
STATUSES = (
    ("closed", 55),
    ("assigned", 12),
    ("fix_submitted", 6),
    ("accepted", 5),
    ("submitted", 8),
    ("rejected", 9),
    ("merged", 5),
)
COLOURS = ("red", "orange", "yellow", "blue")
FIRST_DAY = dt.date(2025, 6, 1)


@dataclass(frozen=True)
class Made:
    """A generated case, as the test knows it."""

    id: int
    number: str
    department: str
    category: str
    district: str | None
    colour: str | None
    status: str
    self_reported: bool
    created_at: dt.datetime
    accepted_at: dt.datetime | None
    assigned_at: dt.datetime | None
    deadline: dt.datetime | None
    closed_at: dt.datetime | None
    escalated_at: dt.datetime | None
    enterprise_id: int | None

    @property
    def local_day(self) -> dt.date:
        return self.created_at.astimezone(SHANGHAI).date()


def make_cases(bot: Bot, count: int, enterprises: list[int], seed: int = 7) -> list[Made]:
    """Cases spread from FIRST_DAY to now: the times follow the status, a few sit just either
    side of a city midnight (UTC 16:00), some have no deadline or no district."""
    rng = random.Random(seed)
    now = bot.clock.now()
    today = now.astimezone(SHANGHAI).date()
    span = (today - FIRST_DAY).days
    city = bot.city
    categories = [c.code for c in city.categories]
    districts = [d.code for d in city.districts]
    names, weights = zip(*STATUSES, strict=True)
    made = []
    for n in range(1, count + 1):
        day = FIRST_DAY + dt.timedelta(days=rng.randrange(span + 1))
        # Every 25th case is reported in the first or last minute of a city day.
        hour = rng.choice((0.01, 23.99)) if n % 25 == 0 else rng.uniform(0, 24)
        created = min(local(day, hour), now - dt.timedelta(minutes=5))
        category = rng.choice(categories)
        district = None if n % 40 == 0 else rng.choice(districts)
        department = city.route(category, district)
        self_reported = rng.random() < 0.12
        status = rng.choices(names, weights)[0]
        if self_reported and status in ("rejected", "merged"):
            status = "assigned"
        colour = rng.choice(COLOURS) if status in FOUND else None
        accepted = assigned = deadline = closed = escalated = None
        if status in FOUND and not self_reported:
            accepted = created + dt.timedelta(hours=rng.uniform(0.5, 60))
        if status in ("assigned", "fix_submitted", "closed"):
            assigned = (accepted or created) + dt.timedelta(hours=rng.uniform(1, 30))
            if n % 17:  # a few were never given a deadline
                deadline = assigned + DAY * rng.choice((3, 7, 15, 30))
        if status == "accepted" and n % 3 == 0:
            deadline = created + DAY * rng.choice((3, 7))  # rare, but it can be overdue
        if status == "closed":
            start = assigned or created
            closed = start + DAY * rng.uniform(0.2, 40)
            closed = min(closed, now - dt.timedelta(minutes=1))
        if deadline is not None and rng.random() < 0.3:
            escalated = deadline + DAY
        elif status == "submitted" and rng.random() < 0.1:
            escalated = created + DAY * 2
        if escalated is not None and escalated > now:
            escalated = None
        enterprise = rng.choice(enterprises) if assigned is not None and n % 5 else None
        made.append(
            Made(
                n,
                f"YH-{day:%Y%m%d}-{n:05d}",
                department,
                category,
                district,
                colour,
                status,
                self_reported,
                created,
                accepted,
                assigned,
                deadline,
                closed,
                escalated,
                enterprise,
            )
        )
    return made


async def insert_cases(bot: Bot, made: list[Made]) -> None:
    """One executemany, as fast as a migration."""

    def db(moment: dt.datetime | None) -> str | None:
        return None if moment is None else to_db(moment)

    stamp = to_db(bot.clock.now())
    with tables.writing(bot.db) as conn:
        conn.execute(
            "INSERT OR IGNORE INTO users (id, created_at, last_seen_at) VALUES (?, ?, ?)",
            (REPORTER, stamp, stamp),
        )
        conn.executemany(
            "INSERT INTO cases (id, number, category, district, address,"
            " description, anonymous, department, status,"
            " created_at, updated_at, colour, level, enterprise_id, deadline, accepted_at,"
            " assigned_at, closed_at, escalated_at, self_reported, routed_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    c.id,
                    c.number,
                    c.category,
                    c.district,
                    f"{c.id} Jiefang Road",
                    "A hazard.",
                    0,
                    c.department,
                    c.status,
                    to_db(c.created_at),
                    stamp,
                    c.colour,
                    "major" if c.colour == "red" else ("general" if c.colour else None),
                    c.enterprise_id,
                    db(c.deadline),
                    db(c.accepted_at),
                    db(c.assigned_at),
                    db(c.closed_at),
                    db(c.escalated_at),
                    int(c.self_reported),
                    to_db(c.created_at),
                )
                for c in made
            ],
        )
        conn.executemany(
            "INSERT INTO case_reporters (case_id, user_id, name, phone, created_at)"
            " VALUES (?, ?, ?, ?, ?)",
            [(c.id, REPORTER, REPORTER_NAME, REPORTER_PHONE, to_db(c.created_at)) for c in made],
        )


def chosen(
    made: list[Made], first: dt.date, last: dt.date, departments: set[str] | None
) -> list[Made]:
    return [
        c
        for c in made
        if first <= c.local_day <= last and (departments is None or c.department in departments)
    ]
