"""What enterprises receive never identifies the reporter (DESIGN.md, "Confidentiality").

The same check runs after every chat-level test (tests/conftest.py); here it is run on the
whole-loop scenario explicitly, and shown to catch a leak.
"""

from __future__ import annotations

import pytest

from tests.support import tables
from tests.support.chat import Bot
from tests.support.confidentiality import check_confidentiality
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
