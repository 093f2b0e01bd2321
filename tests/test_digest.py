"""The weekly digest: a known week's figures to a department and to supervisors, once a week."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from bot.digest import sweep_digest
from bot.invites import InviteSpec, create_invite
from bot.vocabulary.lifecycle import Status
from bot.vocabulary.models import NewReporter
from bot.vocabulary.roles import Role
from fakebotapi import FakeUser
from storage.db import to_db
from tests.support.chat import Bot
from tests.support.moments import SHANGHAI, at
from tests.support.people import staff

# The week counted: Monday 23 November to Sunday 29 November 2026; sent Monday 30 November.
MONDAY = dt.date(2026, 11, 30)
GROUP = -1001234
NUMBERS = itertools.count(1)


def nov(day: int, hour: int = 10, minute: int = 0) -> dt.datetime:
    return at(dt.date(2026, 11, day), hour, minute)


async def sweep(bot: Bot) -> int:
    return await sweep_digest(bot.services, bot.clock.now())


async def add_case(
    bot: Bot, reporter: int, department: str, status: Status, created: dt.datetime, **times: Any
) -> None:
    values: dict[str, Any] = {
        "number": f"YH-{created.astimezone(SHANGHAI):%Y%m%d}-{next(NUMBERS):04d}",
        "category": "other",
        "description": "A hazard of the test week.",
        "anonymous": 1,
        "department": department,
        "status": status.value,
        "created_at": to_db(created),
        "updated_at": to_db(created),
    }
    values.update({k: to_db(v) for k, v in times.items()})
    async with bot.db.transaction() as tx:
        case_id = await tx.cases.insert(values)
        await tx.reporters.add(case_id, NewReporter(user_id=reporter), created)


async def known_week(bot: Bot) -> None:
    """Fire: 2 new, 1 accepted, 1 closed, 1 overdue, 1 escalated. Emergency: 1 overdue."""
    reporter = bot.user(language="en")
    await reporter.send("/start")
    rid = reporter.user_id
    # New, accepted, overdue (deadline Friday) and escalated on Saturday.
    await add_case(
        bot,
        rid,
        "fire",
        Status.ASSIGNED,
        nov(23),
        accepted_at=nov(24),
        assigned_at=nov(24),
        deadline=nov(27, 23, 59),
        escalated_at=nov(28, 9),
    )
    # Reported the week before, closed this week.
    await add_case(bot, rid, "fire", Status.CLOSED, nov(20), accepted_at=nov(20),
                   deadline=nov(28), closed_at=nov(25))  # fmt: skip
    # Sunday night, just inside the week.
    await add_case(bot, rid, "fire", Status.SUBMITTED, nov(29, 23, 30))
    # Monday 00:30: next week's.
    await add_case(bot, rid, "fire", Status.SUBMITTED, nov(30, 0, 30))
    # Closed in the week before: not this week's.
    await add_case(bot, rid, "fire", Status.CLOSED, nov(10), accepted_at=nov(10),
                   closed_at=nov(20))  # fmt: skip
    # Long overdue at the emergency bureau, nothing else happened to it.
    await add_case(bot, rid, "emergency", Status.ACCEPTED, nov(2), accepted_at=nov(3),
                   deadline=nov(12))  # fmt: skip
    # A rejected case is never overdue.
    await add_case(bot, rid, "emergency", Status.REJECTED, nov(2), deadline=nov(12))


def digests(user: FakeUser) -> list[str]:
    return [m.plain for m in user.transcript if "Weekly digest" in m.plain]


async def test_a_known_week_reaches_the_department_and_the_supervisors(bot: Bot) -> None:
    fire = await staff(bot, InviteSpec(Role.OFFICER, "fire"))
    housing = await staff(bot, InviteSpec(Role.OFFICER, "housing"))
    chief = await staff(bot, InviteSpec(Role.SUPERVISOR))
    fire_head = await staff(bot, InviteSpec(Role.SUPERVISOR, "fire"))
    # An officer who also supervises the department gets its digest once.
    code = await create_invite(bot.db, InviteSpec(Role.SUPERVISOR, "fire"), bot.clock.now())
    await fire.send(f"/join {code}")
    await known_week(bot)

    bot.clock.set(at(MONDAY, 8, 59))
    assert await sweep(bot) == 0  # not before 09:00
    bot.clock.set(at(MONDAY, 9))
    assert await sweep(bot) == 4
    await bot.drain()

    period = "2026-11-23 – 2026-11-29"
    assert digests(fire) == [
        "📊 Weekly digest: Fire and Rescue Detachment\n"
        f"{period}\n\n"
        "New reports: 2\nAccepted: 1\nClosed (销号): 1\nOverdue now: 1\nEscalated (挂牌督办): 1"
    ]
    assert digests(housing) == [
        "📊 Weekly digest: Housing and Urban-Rural Development Bureau\n"
        f"{period}\n\n"
        "A quiet week: no new, accepted, closed, overdue or escalated cases."
    ]
    assert digests(fire_head) == digests(fire)
    assert digests(chief) == [
        "📊 Weekly digest: Sample City\n"
        f"{period}\n\n"
        "• Fire and Rescue Detachment: 2 new, 1 accepted, 1 closed, 1 overdue, 1 escalated\n"
        "• Emergency Management Bureau: 0 new, 0 accepted, 0 closed, 1 overdue, 0 escalated\n"
        "Whole city: 2 new, 1 accepted, 1 closed, 2 overdue, 1 escalated\n"
        "6 other departments had a quiet week."
    ]

    # Once a week: again now, later that week, and on Sunday night — nothing more.
    for moment in (at(MONDAY, 9, 1), at(MONDAY + dt.timedelta(days=2), 15),
                   at(MONDAY + dt.timedelta(days=6), 20)):  # fmt: skip
        bot.clock.set(moment)
        assert await sweep(bot) == 0
    # The next Monday brings the next week's digest.
    bot.clock.set(at(MONDAY + dt.timedelta(days=7), 9))
    assert await sweep(bot) == 4
    await bot.drain()
    assert len(digests(fire)) == 2
    assert "2026-11-30 – 2026-12-06" in digests(fire)[-1]
    assert "New reports: 1" in digests(fire)[-1]  # Monday 00:30's case


async def test_the_department_group_gets_it_instead_of_the_officers(bot: Bot) -> None:
    fire = next(d for d in bot.city.departments if d.code == "fire")
    departments = [
        d.model_copy(update={"group_chat_id": GROUP}) if d is fire else d
        for d in bot.city.departments
    ]
    bot.city = bot.city.model_copy(update={"departments": departments})
    await bot.restart()
    officer = await staff(bot, InviteSpec(Role.OFFICER, "fire"))
    officer.join_group(GROUP, title="消防 duty group")
    await known_week(bot)

    bot.clock.set(at(MONDAY, 9))
    assert await sweep(bot) == 1
    await bot.drain()
    assert not digests(officer)
    [posted] = [m.plain for m in bot.api.messages_to(GROUP)]
    # A group reads the city's default language; the department's name comes from the city file.
    assert "消防救援支队" in posted
    assert "2026-11-23 – 2026-11-29" in posted


async def test_a_missed_monday_is_caught_up_later_in_the_week(bot: Bot) -> None:
    officer = await staff(bot, InviteSpec(Role.OFFICER, "fire"))
    await known_week(bot)
    bot.clock.set(at(MONDAY + dt.timedelta(days=3), 16))  # the bot was down until Thursday
    assert await sweep(bot) == 1
    await bot.drain()
    assert "New reports: 2" in digests(officer)[0]
    # Quiet hours apply: a catch-up at night waits for the morning.
    bot.clock.set(at(MONDAY + dt.timedelta(days=7), 23))
    assert await sweep(bot) == 1
    assert (await bot.drain()).sent == 0
    bot.clock.set(at(MONDAY + dt.timedelta(days=8), 8))
    assert (await bot.drain()).sent == 1


async def test_no_digest_of_a_week_before_the_bot_was_used(bot: Bot) -> None:
    # The bot starts on Sunday 22 November; the week before it had nobody to count for.
    officer = await staff(bot, InviteSpec(Role.OFFICER, "fire"))
    assert await sweep(bot) == 0
    bot.clock.set(at(dt.date(2026, 11, 23), 9))  # its first Monday: the week it began in
    assert await sweep(bot) == 1
    await bot.drain()
    assert "2026-11-16 – 2026-11-22" in digests(officer)[0]
    assert "A quiet week" in digests(officer)[0]


async def test_the_digest_sweep_runs_with_the_others(bot: Bot) -> None:
    await staff(bot, InviteSpec(Role.OFFICER, "fire"))
    bot.clock.set(at(dt.date(2026, 11, 23), 9))
    queued = await bot.sweep()
    assert queued["sweep_digest"] == 1
