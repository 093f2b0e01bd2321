"""What enterprises and followers receive never identifies the reporter (DESIGN.md,
"Confidentiality"; #20).

The same check runs after every chat-level test (tests/conftest.py); here it is run on the
whole-loop scenario explicitly, and shown to catch a leak.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest

from bot import dates, triage
from bot.invites import InviteSpec
from bot.orders import Order
from bot.photos import photo_path
from bot.vocabulary.grading import Colour
from bot.vocabulary.lifecycle import Level
from bot.vocabulary.roles import Role
from tests.support import tables
from tests.support.cases import DESCRIPTION, enterprise_named, report
from tests.support.chat import Bot
from tests.support.confidentiality import check_confidentiality
from tests.support.moments import at
from tests.support.people import account, staff
from tests.support.scenarios import a_case_from_report_to_closing, an_enterprise_self_report


async def test_enterprise_messages_of_the_loop_are_clean(bot: Bot) -> None:
    await a_case_from_report_to_closing(bot)
    messages, photos = await check_confidentiality(bot)
    assert messages >= 10
    assert photos >= 2


async def test_self_report_is_not_a_leak(bot: Bot) -> None:
    # The enterprise's own contact reported it; their own words come back to them.
    await an_enterprise_self_report(bot)
    messages, _photos = await check_confidentiality(bot)
    assert messages >= 3


async def test_the_check_catches_a_leak(bot: Bot) -> None:
    await a_case_from_report_to_closing(bot)
    contact = next(
        row[0]
        for row in tables.rows(bot.db, "SELECT user_id FROM memberships WHERE role = 'enterprise'")
    )
    assert bot.app is not None
    await bot.app.bot.send_message(contact, "FYI the reporter is Chen Jing.")
    with pytest.raises(AssertionError, match="Chen Jing"):
        await check_confidentiality(bot)
    bot.api.sent.pop()  # leave the fixture's own check a clean transcript


async def test_the_check_catches_an_identity_shown_without_its_log(bot: Bot) -> None:
    # Staff are not checked for the reporter's traces, but their identity reaches nobody
    # unlogged: not the officers of another department, not the case's own officers either.
    await a_case_from_report_to_closing(bot)
    housing = tables.value(
        bot.db, "SELECT user_id FROM memberships WHERE role = 'officer' AND department = 'housing'"
    )
    assert bot.app is not None
    await bot.app.bot.send_message(housing, "Call 13912345678 about it.")
    with pytest.raises(AssertionError, match=r"13912345678' reached .* unlogged"):
        await check_confidentiality(bot)
    bot.api.sent.pop()


async def ordered_at_night(bot: Bot) -> tuple[int, int, str]:
    """A real-name report at 22:10 with two photos, followed by a neighbour, ordered the next
    morning with the second photo left out; the contact's and the follower's ids, the number."""
    enterprise_id = await enterprise_named(bot, "Golden Dragon Restaurant", "91330100MA27XL0T4C")
    officer = await staff(bot, InviteSpec(Role.OFFICER, "fire"))
    contact = await staff(bot, InviteSpec(Role.ENTERPRISE, enterprise_id=enterprise_id))
    follower = bot.user(language="en")
    await follower.send("/start")
    bot.clock.set(at(dt.date(2026, 12, 6), 22, 10))
    number = await report(bot.user(language="en"), photos=2, photo_seed=601)
    case = await bot.db.read.cases.by_number(number)
    assert case is not None
    bot.clock.set(at(dt.date(2026, 12, 7), 9, 30))
    async with bot.db.transaction() as tx:
        await tx.cases.add_follower(case.id, follower.user_id, bot.clock.now())
        await tx.cases.add_event(case.id, bot.clock.now(), follower.user_id, "follow")
    actor = await account(bot, officer)
    grade = (Colour.BLUE, Level.GENERAL)
    case = await triage.accept(bot.services, actor, case.id, case.version, *grade)
    order = Order(template="blocked_exit", left_out=frozenset({1}))
    deadline = dates.end_of_day(bot.services, 3)
    await triage.assign(bot.services, actor, case.id, case.version, enterprise_id, deadline, order)
    await bot.drain()
    assert (await check_confidentiality(bot))[1] == 1  # the order's one photo
    return contact.user_id, follower.user_id, number


@pytest.mark.parametrize(
    ("to_contact", "leak", "caught"),
    [
        (True, DESCRIPTION, DESCRIPTION),
        (True, "Reported: 2026-12-06 22:10", "2026-12-06 22:10"),
        (True, "提交时间：2026-12-07 09:30", "提交时间："),
        (False, "2026-12-07 09:30 · 其他举报人也反映了此隐患", "其他举报人也反映了此隐患"),
        (False, "Place: 30.28000, 120.19000", "30.28000, 120.19000"),
    ],
)
async def test_the_check_catches_a_reporters_traces(
    bot: Bot, to_contact: bool, leak: str, caught: str
) -> None:
    contact, follower, number = await ordered_at_night(bot)
    assert bot.app is not None
    await bot.app.bot.send_message(contact if to_contact else follower, f"{number}\n{leak}")
    with pytest.raises(AssertionError, match=re.escape(caught)):
        await check_confidentiality(bot)
    bot.api.sent.pop()


async def test_the_check_catches_a_photo_left_out_of_the_order(bot: Bot) -> None:
    contact, _follower, number = await ordered_at_night(bot)
    case = await bot.db.read.cases.by_number(number)
    assert case is not None
    left_out = (await bot.db.read.cases.photo_hashes(case.id))[1]
    assert bot.app is not None
    data = photo_path(bot.settings.photos_dir, left_out).read_bytes()
    await bot.app.bot.send_photo(contact, data)
    with pytest.raises(AssertionError, match="a reporter's photo reached"):
        await check_confidentiality(bot)
    bot.api.sent.pop()
