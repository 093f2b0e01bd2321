"""The weekly digest: each department's week in figures, to its officers and its supervisors.

On Monday from 09:00 (city time) the week that just ended (Monday 00:00 to Sunday 24:00) is
counted per department: new cases, accepted, closed, escalated (挂牌督办) in the week, and those
overdue now. Each department gets its figures in its group chat, or (without one) its officers
get them; a department with nothing at all gets a one-line "quiet week", so officers see the bot
is alive. City-wide supervisors get one line per department that had anything; a department's
supervisors get that department's figures. If the bot was down on Monday, the digest goes out
when it is back, until the week is over; a week that ended before anyone used the bot has
none. Everything is queued in one transaction under keys ``dg:{week}:…``, so a week's digest
goes out once. What it says is bot/digest_notices.py's.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from bot.digest_notices import city_digest, department_digest
from bot.notify import Notifier
from bot.services import Services
from bot.vocabulary.roles import Role
from storage.cases import WeekCounts

SEND_FROM = dt.time(9, 0)  # Monday, city time
WEEK = dt.timedelta(days=7)


@dataclass(frozen=True)
class Week:
    """A Monday-to-Sunday week of the city: [start, end) in UTC, and its local first day."""

    monday: dt.date
    start: dt.datetime
    end: dt.datetime

    @property
    def label(self) -> str:
        year, week, _weekday = self.monday.isocalendar()
        return f"{year}-W{week:02d}"

    @property
    def sunday(self) -> dt.date:
        return self.monday + dt.timedelta(days=6)

    @property
    def key(self) -> str:
        return f"dg:{self.label}"


def due_week(services: Services, now: dt.datetime) -> Week | None:
    """The week whose digest is due now: last week, from this Monday 09:00; else None."""
    zone = services.settings.zone
    today = now.astimezone(zone).date()
    this_monday = today - dt.timedelta(days=today.weekday())
    if now < dt.datetime.combine(this_monday, SEND_FROM, tzinfo=zone):
        return None
    monday = this_monday - WEEK
    start = dt.datetime.combine(monday, dt.time(0, 0), tzinfo=zone).astimezone(dt.UTC)
    end = dt.datetime.combine(this_monday, dt.time(0, 0), tzinfo=zone).astimezone(dt.UTC)
    return Week(monday, start, end)


async def sweep_digest(services: Services, now: dt.datetime) -> int:
    """Queue last week's digest once, from Monday 09:00 until the week is over."""
    week = due_week(services, now)
    if week is None:
        return 0
    read = services.db.read
    if await read.broadcasts.any_queued(week.key + ":"):
        return 0  # this week's digest went out already
    first = await read.users.first_seen()
    if first is None or first >= week.end:
        return 0  # a new installation: no digest of a week the bot never saw
    counted = {c.department: c for c in await read.cases.week_counts(week.start, week.end, now)}
    codes = [d.code for d in services.city.departments]
    codes += sorted(set(counted) - set(codes))  # a department since removed from the city file
    rows = [counted.get(code, WeekCounts(department=code)) for code in codes]
    queued = 0
    async with services.db.transaction(bulk=True) as tx:
        if await tx.broadcasts.any_queued(week.key + ":"):
            return 0
        notifier = Notifier(tx, services, now)
        told: set[tuple[int, str]] = set()  # (officer, department): a supervisor too needs one
        for counts in rows:
            render = department_digest(services, week.monday, week.sunday, counts)
            key = f"{week.key}:dep:{counts.department}"
            group = await notifier.department_group(counts.department)
            if group is not None:
                await notifier.group(group, key, render, quiet=True)
                queued += 1
            else:
                for user_id in await tx.users.members(
                    Role.OFFICER.value, department=counts.department
                ):
                    queued += await notifier.user(user_id, key, render, quiet=True)
                    told.add((user_id, counts.department))
        scopes = await tx.users.supervisor_scopes()
        city_wide = {user_id for user_id, scope in scopes if scope is None}
        by_code = {r.department: r for r in rows}
        for user_id, scope in scopes:
            if scope is None:
                render = city_digest(services, week.monday, week.sunday, rows)
                queued += await notifier.user(user_id, f"{week.key}:sup", render, quiet=True)
            elif user_id not in city_wide and (user_id, scope) not in told:
                # (The city-wide summary has their department; as its officer they have it.)
                counts = by_code.get(scope, WeekCounts(department=scope))
                render = department_digest(services, week.monday, week.sunday, counts)
                key = f"{week.key}:sup:{scope}"
                queued += await notifier.user(user_id, key, render, quiet=True)
    return queued
