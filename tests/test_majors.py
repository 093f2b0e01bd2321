"""A major hazard (red, or 重大) ordered to an enterprise: interim control measures (临时管控措施)
within a day and the rectification plan (治理方案) before the fix, each with its reminders."""

from __future__ import annotations

import datetime as dt

import pytest

from bot import rectification
from bot.invites import InviteSpec
from bot.plans import PlanFirst
from bot.vocabulary.grading import Colour
from bot.vocabulary.lifecycle import Level
from bot.vocabulary.roles import Role
from tests.support.cases import accepted_and_ordered, assigned_case, enterprise_named, report
from tests.support.chat import Bot, since
from tests.support.images import jpeg
from tests.support.moments import SHANGHAI
from tests.support.people import account, staff
from tests.support.running import run_until, when

NUMBER = "YH-20261122-0001"
MEASURES = "Exit area cordoned off, warning signs up, a guard on watch day and night."
PLAN = "Goal: a working exit. New door, 8000 yuan, Manager Li, by 12-20; a guard meanwhile."


async def test_measures_within_a_day_and_the_plan_before_the_fix(bot: Bot) -> None:
    officer, contact, _supervisor, case_id = await assigned_case(bot, Colour.RED, days=30)
    order = next(m for m in contact.transcript if "Rectification order" in m.plain)
    assert (
        "send the department your interim control measures (临时管控措施) within 24 hours, and "
        "your rectification plan (治理方案) by 2026-11-29; the fix comes after the plan."
    ) in order.plain
    assert order.has_button("Send the interim control measures")
    assert order.has_button("Send the rectification plan")
    assert not order.has_button("Submit the fix")

    mark = len(contact.transcript)
    await run_until(bot, dt.datetime(2026, 11, 24, 12, tzinfo=SHANGHAI), dt.timedelta(minutes=30))
    asked = [m for m in since(contact, mark) if "interim control measures" in m.plain]
    # A day after the order, then every morning (the city file) until they come.
    assert [when(m) for m in asked] == ["11-23 10:00", "11-24 09:00"]
    assert "due 2026-11-23 10:00" in asked[0].plain
    await contact.press("Send the interim control measures", message=asked[-1])
    assert "Type what is done now to keep people safe" in contact.last.plain
    await contact.send("Closed.")  # too short: asked again, nothing sent
    assert "at least 10 characters" in contact.last.plain
    await contact.send(MEASURES)
    assert "The interim control measures of case" in contact.last.plain
    mark_o = len(officer.transcript)
    await bot.drain()
    [card] = since(officer, mark_o)  # one message: the case's card
    assert card.plain.startswith(f"Interim control measures (临时管控措施) for case {NUMBER}")
    assert f"Interim control measures: {MEASURES}" in card.plain
    await contact.press("Send the interim control measures", message=asked[-1])
    assert "have been sent already" in contact.callback_answers[-1]["text"]

    # No fix before the plan: not from the core, not from an old button.
    with pytest.raises(PlanFirst):
        await rectification.submit_fix(
            bot.services, await account(bot, contact), case_id, [], "Done."
        )
    mark = len(contact.transcript)
    await run_until(bot, dt.datetime(2026, 11, 30, 12, tzinfo=SHANGHAI), dt.timedelta(hours=1))
    said = [m for m in since(contact, mark) if NUMBER in m.plain]
    assert not any("interim control measures" in m.plain for m in said)
    plans = [m for m in said if "rectification plan" in m.plain]
    assert [when(m) for m in plans] == ["11-29 09:00", "11-30 09:00"]
    assert "due 2026-11-29. The fix can be submitted only after it." in plans[0].plain
    assert not plans[0].has_button("Submit the fix")
    await contact.press("Send the rectification plan", message=plans[-1])
    await contact.send(PLAN)
    assert "The rectification plan of case" in contact.last.plain

    # Now the fix can go, and nothing more is asked for.
    await contact.send("/tasks")
    tasks = contact.last  # the one order's card
    assert tasks.has_button("Submit the fix")
    assert not tasks.has_button("Send the")
    mark = len(contact.transcript)
    await run_until(bot, dt.datetime(2026, 12, 3, 12, tzinfo=SHANGHAI), dt.timedelta(hours=2))
    assert not [m for m in since(contact, mark) if NUMBER in m.plain]
    await contact.press("Submit the fix", message=tasks)
    await contact.send_photo(jpeg(seed=321))
    await contact.send("New door fitted.")
    case = await bot.db.read.cases.get(case_id)
    assert case is not None
    assert case.status == "fix_submitted"
    assert (case.measures, case.plan) == (MEASURES, PLAN)


@pytest.mark.parametrize(
    ("language", "measures", "plan"),
    [
        (
            "zh-hans",
            f"提醒：主管部门正在等待案件 {NUMBER} 的临时管控措施（应于 2026-11-23 10:00 前报送）："
            "整改完成前如何保障现场安全。",
            f"提醒：主管部门正在等待案件 {NUMBER} 的治理方案（应于 2026-11-29 前报送）。"
            "报送治理方案后方可提交整改结果。",
        ),
        (
            "zh-hant",
            f"提醒：主管部門正在等待案件 {NUMBER} 的臨時管控措施（應於 2026-11-23 10:00 前報送）："
            "整改完成前如何保障現場安全。",
            f"提醒：主管部門正在等待案件 {NUMBER} 的治理方案（應於 2026-11-29 前報送）。"
            "報送治理方案後方可提交整改結果。",
        ),
        (
            "en",
            "Reminder: the department is waiting for the interim control measures (临时管控措施) "
            f"of case {NUMBER}, due 2026-11-23 10:00: how the place is kept safe until it is "
            "fixed.",
            "Reminder: the department is waiting for the rectification plan (治理方案) of case "
            f"{NUMBER}, due 2026-11-29. The fix can be submitted only after it.",
        ),
    ],
)
async def test_a_major_hazards_reminders_speak_the_contacts_language(
    bot: Bot, language: str, measures: str, plan: str
) -> None:
    """An orange case of level 重大 owes both, like a red one; until they come, every day."""
    enterprise_id = await enterprise_named(bot, "Golden Dragon Restaurant", "91330100MA27XL0T4C")
    officer = await staff(bot, InviteSpec(Role.OFFICER, "fire"))
    contact = await staff(
        bot, InviteSpec(Role.ENTERPRISE, enterprise_id=enterprise_id), language=language
    )
    number = await report(bot.user(language="en"))
    await accepted_and_ordered(
        bot, officer, number, enterprise_id, colour=Colour.ORANGE, days=15, level=Level.MAJOR
    )
    await bot.drain()
    mark = len(contact.transcript)
    await run_until(bot, dt.datetime(2026, 11, 30, 12, tzinfo=SHANGHAI), dt.timedelta(hours=1))
    said = since(contact, mark)
    daily = ["11-23 10:00"] + [f"11-{day} 09:00" for day in range(24, 31)]
    assert [when(m) for m in said if m.plain == measures] == daily
    assert [when(m) for m in said if m.plain == plan] == ["11-29 09:00", "11-30 09:00"]
