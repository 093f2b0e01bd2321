"""Dates typed by staff: the forms Chinese users type, and the example the bot suggests."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from bot.dates import parse_deadline
from bot.errors import DateUnreadable
from bot.invites import InviteSpec
from bot.vocabulary.roles import Role
from fakebotapi import FakeUser, SentMessage
from tests.support.cases import enterprise_named, report
from tests.support.chat import Bot
from tests.support.people import staff


def local_date(bot: Bot, moment: dt.datetime) -> dt.date:
    return moment.astimezone(bot.settings.zone).date()


# The tests' clock stands at 2026-11-22, 10:00 in the city.
@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("12月20日", dt.date(2026, 12, 20)),
        ("2026年12月20日", dt.date(2026, 12, 20)),
        ("12月20号", dt.date(2026, 12, 20)),
        ("１２月２０日", dt.date(2026, 12, 20)),
        ("２０２６年１２月２０日", dt.date(2026, 12, 20)),
        # 2026/12/20 and 12/20 in ASCII were read before; typed full-width they were not.
        ("2026／12／20", dt.date(2026, 12, 20)),
        ("１２／２０", dt.date(2026, 12, 20)),
        ("1月5日", dt.date(2027, 1, 5)),  # no year: the next 5 January
        ("2027年1月5号", dt.date(2027, 1, 5)),
        ("2027/1/5", dt.date(2027, 1, 5)),
        (" 12 月 20 日 ", dt.date(2026, 12, 20)),
    ],
)
async def test_the_forms_chinese_staff_type_are_read(
    bot: Bot, typed: str, expected: dt.date
) -> None:
    deadline = parse_deadline(bot.services, typed)
    assert local_date(bot, deadline) == expected
    local = deadline.astimezone(bot.settings.zone)
    assert (local.hour, local.minute) == (23, 59)  # the end of that day in the city


@pytest.mark.parametrize("typed", ["next week", "下周五", "12月", "2月30日", "13/20", ""])
async def test_a_text_that_is_not_a_date_is_told_to_type_a_date(bot: Bot, typed: str) -> None:
    with pytest.raises(DateUnreadable) as raised:
        parse_deadline(bot.services, typed)
    assert raised.value.render(lambda text: text) == "Type the date, like 2026-11-29."


# The chat: an officer orders an enterprise, whose contact asks for more time in Chinese. ---------


async def ordered_case(bot: Bot, *, photo_seed: int) -> tuple[FakeUser, FakeUser, str, SentMessage]:
    """A fire case accepted and ordered to the Golden Dragon; its zh-hans contact and card."""
    enterprise_id = await enterprise_named(bot, "Golden Dragon Restaurant", "91330100MA27XL0T4C")
    officer = await staff(bot, InviteSpec(Role.OFFICER, "fire"))
    contact = await staff(
        bot, InviteSpec(Role.ENTERPRISE, enterprise_id=enterprise_id), language="zh-hans"
    )
    number = await report(bot.user(language="en"), photo_seed=photo_seed)
    await bot.drain()
    card = officer.last
    await officer.press("Accept", message=card)
    await officer.press("blue", message=card)
    await officer.press("general hazard", message=card)
    await officer.press("Order an enterprise", message=card)
    await officer.send("91330100MA27XL0T4C")
    await officer.press("Golden Dragon", message=officer.last)
    return officer, contact, number, card


async def test_an_enterprise_asks_for_more_time_typing_a_chinese_date(bot: Bot) -> None:
    officer, contact, number, _ = await ordered_case(bot, photo_seed=71)
    await officer.press("3 days", message=officer.last)
    await bot.drain()
    await contact.press("申请延期", message=contact.last)
    assert "整改期限为 2026-11-25" in contact.last.plain
    await contact.send("12月20日")
    assert "请说明申请延期的原因" in contact.last.plain, contact.last.plain
    await contact.send("等待配件到货。")
    assert f"案件 {number} 的延期申请已提交" in contact.last.plain
    await bot.drain()
    request = officer.last
    assert f"Extension requested for case {number}" in request.plain
    assert "Extension requested until 2026-12-20: 等待配件到货。" in request.plain
    assert request.has_button("Grant the extension")


async def test_the_example_date_for_more_time_is_after_the_deadline(bot: Bot) -> None:
    officer, contact, _, _ = await ordered_case(bot, photo_seed=72)
    await officer.press("Another date", message=officer.last)
    await officer.send("2026-12-31")  # later than today + 14 days
    await bot.drain()
    await contact.press("申请延期", message=contact.last)
    prompt = contact.last.plain
    assert "整改期限为 2026-12-31" in prompt
    example = re.search(r"例如 (\d{4}-\d{2}-\d{2})", prompt)
    assert example is not None, prompt
    assert example.group(1) == "2027-01-14"
    await contact.send(example.group(1))  # doing as the example says is accepted
    assert "请说明申请延期的原因" in contact.last.plain, contact.last.plain
