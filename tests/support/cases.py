"""Cases of a chat test: enterprises, a citizen's report through the chat, an order through
the core."""

from __future__ import annotations

from bot import dates, rectification, triage
from bot.accounts import Account
from bot.enterprises import check_character
from bot.invites import InviteSpec
from bot.plans import owes_plan
from bot.vocabulary.grading import Colour
from bot.vocabulary.lifecycle import Level
from bot.vocabulary.models import Case
from bot.vocabulary.roles import Role
from fakebotapi import FakeUser
from tests.support.chat import NUMBER, Bot
from tests.support.images import jpeg
from tests.support.people import account, staff

LAOCHENG = (30.28, 120.19)  # inside 老城区 of the sample city
DESCRIPTION = "The emergency exit of the Golden Dragon restaurant is locked."


def credit_code(n: int) -> str:
    """A valid credit code, different for each n."""
    first17 = f"91330100MA2{n:06d}"
    return first17 + check_character(first17)


async def enterprise_named(bot: Bot, name: str, code: str) -> int:
    async with bot.db.transaction() as tx:
        return await tx.enterprises.add(name, code, "laocheng", "8 Market Lane", bot.clock.now())


async def report(
    citizen: FakeUser,
    *,
    photo_seed: int = 1,
    description: str = DESCRIPTION,
    anonymous: bool = False,
    photos: int = 1,
) -> str:
    """A fire-safety report in Laocheng, with one photo (or ``photos``), in the citizen's name
    unless ``anonymous``; its case number. An enterprise's contact reports as a citizen."""
    await citizen.send("/report")
    if citizen.last.has_button("Somewhere else"):
        await citizen.press("Somewhere else")
    await citizen.press("Fire safety")
    await citizen.send_location(*LAOCHENG)
    await citizen.send(description)
    for n in range(photos):
        await citizen.send_photo(jpeg(seed=photo_seed + n))
    await citizen.press("Done")
    if anonymous:
        await citizen.press("Anonymous")
    else:
        await citizen.press("Real name")
        await citizen.send("Chen Jing")
        await citizen.send_contact("13912345678")
    if citizen.last.has_button("Mine is different"):
        await citizen.press("Mine is different")
    await citizen.press("Submit")
    match = NUMBER.search(citizen.last.plain)
    assert match
    return match.group(0)


async def accepted_and_ordered(
    bot: Bot,
    officer: FakeUser,
    number: str,
    enterprise_id: int,
    *,
    colour: Colour,
    days: int,
    level: Level = Level.GENERAL,
) -> Case:
    """Accept the case and order the enterprise to fix it in ``days``, through the core (the
    chat of it is tested elsewhere)."""
    case = await bot.db.read.cases.by_number(number)
    assert case is not None
    actor = await account(bot, officer)
    case = await triage.accept(bot.services, actor, case.id, case.version, colour, level)
    deadline = dates.end_of_day(bot.services, days)
    return await triage.assign(bot.services, actor, case.id, case.version, enterprise_id, deadline)


async def assigned_case(
    bot: Bot, colour: Colour = Colour.ORANGE, days: int = 15, *, contact_language: str = "en"
) -> tuple[FakeUser, FakeUser, FakeUser, int]:
    """A case ordered to an enterprise at 10:00 on 2026-11-22 (city time): deadline in ``days``.

    Returns its officer, the enterprise's contact, a city supervisor and the case's id.
    """
    enterprise_id = await enterprise_named(bot, "Golden Dragon Restaurant", "91330100MA27XL0T4C")
    officer = await staff(bot, InviteSpec(Role.OFFICER, "fire"))
    contact = await staff(
        bot, InviteSpec(Role.ENTERPRISE, enterprise_id=enterprise_id), language=contact_language
    )
    supervisor = await staff(bot, InviteSpec(Role.SUPERVISOR))
    number = await report(bot.user(language="en"))
    case = await accepted_and_ordered(bot, officer, number, enterprise_id, colour=colour, days=days)
    await bot.drain()
    return officer, contact, supervisor, case.id


PLAN = "Goal: a safe place again. Measures, money and people agreed, done by the deadline."


async def plan_if_owed(bot: Bot, contact: Account, case: Case) -> Case:
    """A major hazard's rectification plan (治理方案), which its fix must follow, through the
    core (the chat of it is tested elsewhere)."""
    if not owes_plan(case):
        return case
    return await rectification.submit_plan(bot.services, contact, case.id, PLAN)
