"""An officer corrects a mistake (#16 item 7): the order passed to another enterprise, another
deadline, another category, each with a reason in the history; and what ends a case asks once
more (#16 item 8). The races of each are in tests/test_races.py."""

from __future__ import annotations

import datetime as dt

import pytest

from bot import dates, rectification, triage
from bot.buttons import case_data, decode_case
from bot.invites import InviteSpec
from bot.vocabulary.grading import Colour
from bot.vocabulary.lifecycle import Level, Status
from bot.vocabulary.models import Case
from bot.vocabulary.roles import Role
from fakebotapi import FakeUser, SentMessage
from tests.support import tables
from tests.support.cases import (
    accepted_and_ordered,
    assigned_case,
    credit_code,
    enterprise_named,
    plan_if_owed,
    report,
)
from tests.support.chat import Bot, since, texts
from tests.support.moments import SHANGHAI
from tests.support.people import account, staff

LANGUAGE_BUTTON = {"zh-hans": "简体中文", "zh-hant": "繁體中文", "en": "English"}


async def speaks(user: FakeUser, language: str) -> None:
    await user.send("/language")
    await user.press(LANGUAGE_BUTTON[language])


async def case_by_id(bot: Bot, case_id: int) -> Case:
    case = await bot.db.read.cases.get(case_id)
    assert case is not None
    return case


def acts_on(message: SentMessage, case: Case, action: str) -> bool:
    """Whether the message has a button for ``action`` on this case."""
    pressed = [decode_case(data) for row in message.buttons for _label, data in row]
    return any(p is not None and p.case_id == case.id and p.action == action for p in pressed)


async def status_of(bot: Bot, number: str) -> Status:
    case = await bot.db.read.cases.by_number(number)
    assert case is not None
    return case.status


async def history(bot: Bot, case: Case) -> list[tuple[str, str | None]]:
    return [(e.kind, e.note) for e in await bot.db.read.cases.events(case.id)]


# Another enterprise ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "asked", "why", "done", "withdrawn"),
    [
        (
            "zh-hans",
            "改由哪家企业整改？",
            "整改通知将改交Silver Phoenix Hotel，并从原企业撤回。\n原因是什么？",
            "已完成：整改通知已改交Silver Phoenix Hotel，并已通知原企业撤回整改通知。",
            "案件 {number} 的整改通知已由主管部门撤回，贵单位无需再就此案件做任何处理。",
        ),
        (
            "zh-hant",
            "改由哪家企業整改？",
            "整改通知將改交Silver Phoenix Hotel，並從原企業撤回。\n原因為何？",
            "已完成：整改通知已改交Silver Phoenix Hotel，並已通知原企業撤回整改通知。",
            "案件 {number} 的整改通知已由主管部門撤回，貴單位無需再就此案件做任何處理。",
        ),
        (
            "en",
            "Which enterprise must fix it instead?",
            "The order goes to Silver Phoenix Hotel, and is withdrawn from the enterprise that "
            "has it.\nWhy?",
            "Done: Silver Phoenix Hotel has the order now; the enterprise it was withdrawn from "
            "is told.",
            "The rectification order for case {number} was withdrawn by the department: you "
            "need do nothing more for it.",
        ),
    ],
)
async def test_an_order_passed_to_another_enterprise(
    bot: Bot, language: str, asked: str, why: str, done: str, withdrawn: str
) -> None:
    officer, old, supervisor, case_id = await assigned_case(bot, contact_language=language)
    other = await enterprise_named(bot, "Silver Phoenix Hotel", credit_code(5))
    new = await staff(bot, InviteSpec(Role.ENTERPRISE, enterprise_id=other), language=language)
    await speaks(officer, language)
    case = await case_by_id(bot, case_id)
    old_order = old.last
    await officer.send(f"/case {case.number}")
    card = officer.last
    await officer.press(case_data("rea", case.id, case.version), message=card)
    assert asked in officer.last.plain
    await officer.send("Golden Dragon")  # the enterprise that has it is no choice
    assert "Golden Dragon" in officer.last.plain
    assert not officer.last.buttons
    await officer.send("Silver")
    choice = officer.last
    await officer.press("Silver Phoenix Hotel", message=choice)
    assert why in officer.last.plain
    mark_old, mark_new = len(old.transcript), len(new.transcript)
    await officer.send("The hotel runs these premises.")
    assert done in since(officer, len(officer.transcript) - 2)[0].plain
    assert "Silver Phoenix Hotel" in officer.last.plain  # the card, as it is now
    await bot.drain()
    assert texts(since(old, mark_old)) == withdrawn.format(number=case.number)
    [order] = since(new, mark_new)
    assert case.number in order.plain
    moved = await case_by_id(bot, case_id)
    assert (moved.status, moved.enterprise_id, moved.deadline) == (
        Status.ASSIGNED,
        other,
        case.deadline,
    )
    assert acts_on(order, moved, "fix")
    assert (await history(bot, moved))[-1] == (
        "reassign",
        "Golden Dragon Restaurant → Silver Phoenix Hotel: The hotel runs these premises.",
    )
    # The old order acts no more; the new contact's /tasks has the case, the old one's not.
    await old.press_data(case_data("fix", moved.id, moved.version), old_order)
    assert await bot.db.read.inputs.newest(old.user_id) is None
    await old.send("/tasks")
    assert case.number not in old.last.plain
    await new.send("/tasks")
    assert case.number in new.last.plain
    await supervisor.send(f"/case {case.number}")
    assert "Golden Dragon Restaurant → Silver Phoenix Hotel" in supervisor.last.plain


async def test_a_case_the_department_fixes_itself_has_no_order_to_pass_on(bot: Bot) -> None:
    officer = await staff(bot, InviteSpec(Role.OFFICER, "fire"))
    other = await enterprise_named(bot, "Silver Phoenix Hotel", credit_code(5))
    number = await report(bot.user(language="en"))
    case = await bot.db.read.cases.by_number(number)
    assert case is not None
    actor = await account(bot, officer)
    case = await triage.accept(
        bot.services, actor, case.id, case.version, Colour.BLUE, Level.GENERAL
    )
    deadline = dates.end_of_day(bot.services, 3)
    case = await triage.assign(bot.services, actor, case.id, case.version, None, deadline)
    await officer.send(f"/case {number}")
    card = officer.last
    assert acts_on(card, case, "rdl")
    assert acts_on(card, case, "rct")
    assert not acts_on(card, case, "rea")
    # A forged press is told why, and changes nothing.
    await officer.press_data(case_data("rea", case.id, case.version, other), card)
    await officer.send("Because.")
    assert officer.last.plain == (
        f"Case {number} is fixed by the department itself: it has no order to pass on."
    )
    assert (await case_by_id(bot, case.id)).version == case.version


# Another deadline --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "question", "changed"),
    [
        (
            "zh-hans",
            "当前整改期限为 2026-11-25。请选择新的整改期限：",
            "主管部门已调整案件 {number} 的整改期限，请于 2026-12-10 前整改完毕。",
        ),
        (
            "zh-hant",
            "目前整改期限為 2026-11-25。請選擇新的整改期限：",
            "主管部門已調整案件 {number} 的整改期限，請於 2026-12-10 前整改完畢。",
        ),
        (
            "en",
            "The deadline is 2026-11-25. What is the new one?",
            "The department changed the deadline of case {number}: it must now be fixed by "
            "2026-12-10.",
        ),
    ],
)
async def test_a_new_deadline_is_told_and_restarts_the_reminders(
    bot: Bot, language: str, question: str, changed: str
) -> None:
    officer, contact, _supervisor, case_id = await assigned_case(
        bot, Colour.BLUE, days=3, contact_language=language
    )
    await speaks(officer, language)
    services = bot.services
    # The old ladder has begun: a day before the deadline of 2026-11-25, one reminder.
    bot.clock.set(dt.datetime(2026, 11, 24, 9, 30, tzinfo=SHANGHAI))
    await bot.sweep()
    await bot.drain()
    assert "2026-11-25" in contact.last.plain
    # The enterprise asks for more time; the officer's new deadline answers it.
    until = dates.end_of_day(services, 30)
    await rectification.request_extension(
        services, await account(bot, contact), case_id, until, "Parts are on order."
    )
    case = await case_by_id(bot, case_id)
    await officer.send(f"/case {case.number}")
    card = officer.last
    await officer.press(case_data("rdl", case.id, case.version), message=card)
    assert officer.callback_answers[-1]["text"] == question
    await officer.press(case_data("rdl", case.id, case.version, "other"), message=card)
    await officer.send("2026-11-20")  # past: asked again
    await officer.send("2026-12-10")
    assert "2026-12-10" in officer.last.plain
    mark = len(contact.transcript)
    await officer.send("The inspection found more work to do.")
    await bot.drain()
    [told] = since(contact, mark)
    assert told.plain == changed.format(number=case.number)
    moved = await case_by_id(bot, case_id)
    assert acts_on(told, moved, "fix")
    assert moved.deadline is not None
    assert moved.deadline.astimezone(SHANGHAI).date() == dt.date(2026, 12, 10)
    assert moved.extension_until is None
    assert (await history(bot, moved))[-1] == (
        "change_deadline",
        "2026-11-25 → 2026-12-10: The inspection found more work to do.",
    )
    # The old deadline's day and the day after pass without a word; the new ladder counts
    # down to 2026-12-10.
    for day, hour in ((25, 9.5), (26, 12)):
        mark = len(contact.transcript)
        at = dt.datetime(2026, 11, day, tzinfo=SHANGHAI) + dt.timedelta(hours=hour)
        bot.clock.set(at)
        await bot.sweep()
        await bot.drain()
        assert since(contact, mark) == []
    bot.clock.set(dt.datetime(2026, 12, 7, 9, 30, tzinfo=SHANGHAI))
    await bot.sweep()
    await bot.drain()
    assert "2026-12-10" in contact.last.plain
    assert acts_on(contact.last, moved, "fix")


# Another category --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "told"),
    [
        ("zh-hans", "您的举报 {number} 的隐患类别已更正为燃气安全，现由住房和城乡建设局办理。"),
        ("zh-hant", "您的檢舉 {number} 的隱患類別已更正為燃氣安全，現由住房和城鄉建設局辦理。"),
        (
            "en",
            "The category of your report {number} was corrected to Gas safety; it is now "
            "handled by Housing and Urban-Rural Development Bureau.",
        ),
    ],
)
async def test_a_corrected_category_is_routed_and_the_reporter_is_told(
    bot: Bot, language: str, told: str
) -> None:
    fire = await staff(bot, InviteSpec(Role.OFFICER, "fire"))
    housing = await staff(bot, InviteSpec(Role.OFFICER, "housing"))
    citizen = bot.user(language="en")
    number = await report(citizen)
    await speaks(citizen, language)
    await bot.drain()
    card = fire.last
    await fire.press("Change the category", message=card)
    assert fire.callback_answers[-1]["text"] == "Which category is it?"
    await fire.press("Gas safety", message=card)
    assert (
        "The category becomes Gas safety; the case then goes to Housing and Urban-Rural "
        "Development Bureau.\nWhy? Type the reason"
    ) in fire.last.plain
    mark_c, mark_h = len(citizen.transcript), len(housing.transcript)
    await fire.send("A leaking gas pipe, not a fire exit.")
    assert fire.last.plain == (
        "Done: the category is Gas safety now, and the case went to Housing and Urban-Rural "
        "Development Bureau; the reporter is told."
    )
    await bot.drain()
    assert texts(since(citizen, mark_c)) == told.format(number=number)
    [passed] = since(housing, mark_h)
    assert f"Case {number} was passed to your department" in passed.plain
    assert "Passed on by Fire and Rescue Detachment: A leaking gas pipe, not a fire exit." in (
        passed.plain
    )
    assert passed.has_button("Accept")
    case = await bot.db.read.cases.by_number(number)
    assert case is not None
    assert (case.category, case.department, case.status) == ("gas", "housing", Status.SUBMITTED)
    assert case.routed_at == bot.clock.now()  # the acceptance limit starts again
    assert (await history(bot, case))[-1] == (
        "change_category",
        "A leaking gas pipe, not a fire exit.",
    )
    await fire.send(f"/case {number}")
    assert fire.last.plain == f"There is no case {number} that you can see."


async def test_a_category_of_the_same_department_keeps_the_case_where_it_is(bot: Bot) -> None:
    officer, contact, _supervisor, case_id = await assigned_case(bot)
    tables.execute(bot.db, "UPDATE cases SET district = 'dongpo' WHERE id = ?", (case_id,))
    case = await case_by_id(bot, case_id)
    mark_e = len(contact.transcript)
    await officer.send(f"/case {case.number}")
    card = officer.last
    await officer.press(case_data("rct", case.id, case.version), message=card)
    assert not card.has_button("Fire safety")  # the category it has
    # In Dongpo, crowded venues are the fire service's too.
    await officer.press("Crowded venues", message=card)
    assert "The category becomes Crowded venues, small premises.\nWhy?" in officer.last.plain
    await officer.send("A karaoke bar, not a restaurant kitchen.")
    assert officer.transcript[-2].plain == (
        "Done: the category is Crowded venues, small premises now; the reporter is told."
    )
    assert "Crowded venues, small premises" in officer.last.plain  # the card, still theirs
    moved = await case_by_id(bot, case_id)
    assert (moved.category, moved.department) == ("crowded_venues", "fire")
    await bot.drain()
    assert len(contact.transcript) == mark_e
    said = [m.plain for m in bot.api.messages_to(tables.reporter_of(bot.db, case.id)["user_id"])]
    assert said[-1] == (
        f"The category of your report {case.number} was corrected to Crowded venues, small "
        "premises."
    )


# Asking once more --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "question", "yes", "no"),
    [
        (
            "zh-hans",
            "确定吗？案件 {number} 将不予受理，办理就此结束，并告知举报人原因："
            "所反映的情况不属于安全隐患。",
            "✅ 确定不予受理",
            "« 不，返回",
        ),
        (
            "zh-hant",
            "確定嗎？案件 {number} 將不予受理，辦理就此結束，並告知檢舉人原因："
            "所反映的情況不屬於安全隱患。",
            "✅ 確定不予受理",
            "« 不，返回",
        ),
        (
            "en",
            "Are you sure? Case {number} will not be accepted: it ends here, and the reporter "
            "is told the reason: This is not a safety hazard.",
            "✅ Yes, do not accept it",
            "« No, back",
        ),
    ],
)
async def test_not_accepting_asks_once_more(
    bot: Bot, language: str, question: str, yes: str, no: str
) -> None:
    officer = await staff(bot, InviteSpec(Role.OFFICER, "fire"), language=language)
    citizen = bot.user(language="en")
    number = await report(citizen)
    await bot.drain()
    card = officer.last
    case = await bot.db.read.cases.by_number(number)
    assert case is not None
    await officer.press(case_data("rej", case.id, case.version), message=card)
    await officer.press(case_data("rej", case.id, case.version, "not_hazard"), message=card)
    assert question.format(number=number) in card.plain
    assert [label for row in card.buttons for label, _data in row] == [yes, no]
    # "No, back": the card as it was, nothing changed.
    await officer.press(no, message=card)
    assert question.format(number=number) not in card.plain
    assert acts_on(card, case, "acc")
    assert (await case_by_id(bot, case.id)).status is Status.SUBMITTED
    await officer.press(case_data("rej", case.id, case.version), message=card)
    await officer.press(case_data("rej", case.id, case.version, "not_hazard"), message=card)
    mark = len(citizen.transcript)
    await officer.press(yes, message=card)
    assert (await case_by_id(bot, case.id)).status is Status.REJECTED
    await bot.drain()
    assert "This is not a safety hazard." in texts(since(citizen, mark))


async def test_a_typed_reason_is_shown_before_it_is_final(bot: Bot) -> None:
    officer = await staff(bot, InviteSpec(Role.OFFICER, "fire"))
    citizen = bot.user(language="en")
    number = await report(citizen)
    await bot.drain()
    card = officer.last
    await officer.press("Reject", message=card)
    await officer.press("Another reason", message=card)
    await officer.send("Reported twice by phone.")
    sure = officer.last
    assert "the reporter is told the reason: Reported twice by phone." in sure.plain
    assert await status_of(bot, number) is Status.SUBMITTED
    # Typed again instead of confirming: the new words are asked about.
    await officer.send("Already handled as case YH-20261101-0001.")
    sure = officer.last
    assert "the reporter is told the reason: Already handled as case YH-20261101-0001." in (
        sure.plain
    )
    mark = len(citizen.transcript)
    await officer.press("Yes, do not accept it", message=sure)
    assert "Status: not accepted" in sure.plain
    await bot.drain()
    said = texts(since(citizen, mark))
    assert "Already handled as case YH-20261101-0001." in said
    assert "Reported twice by phone." not in said
    # A correction of an ended case is refused at once, before anything is asked.
    rejected = await bot.db.read.cases.by_number(number)
    assert rejected is not None
    await officer.press_data(case_data("rct", rejected.id, rejected.version), sure)
    assert officer.callback_answers[-1]["text"] == (
        "This cannot be done while the case is not accepted."
    )
    # "No, back" on a typed reason lets it go: what is typed next is no reason.
    number = await report(citizen, photo_seed=5, description="Another locked exit.")
    await bot.drain()
    card = officer.last
    await officer.press("Reject", message=card)
    await officer.press("Another reason", message=card)
    await officer.send("Not ours.")
    await officer.press("No, back", message=officer.last)
    await officer.send("hello")
    assert "I was not expecting that" in officer.last.plain
    assert await status_of(bot, number) is Status.SUBMITTED


@pytest.mark.parametrize(
    ("language", "not_genuine", "genuine"),
    [
        (
            "zh-hans",
            "确定吗？案件 {number} 将予以结案，举报记为不属实，举报人将不会获得奖励。",
            "确定吗？案件 {number} 将作为整改完成予以销号，举报记为属实，罚款 20,000 元。",
        ),
        (
            "zh-hant",
            "確定嗎？案件 {number} 將予以結案，檢舉記為不屬實，檢舉人將不會獲得獎勵。",
            "確定嗎？案件 {number} 將作為整改完成予以銷號，檢舉記為屬實，罰款 20,000 元。",
        ),
        (
            "en",
            "Are you sure? Case {number} will be closed and its report recorded as not genuine "
            "(不属实): its reporter will get no reward.",
            "Are you sure? Case {number} will be closed (销号) as fixed, and its report recorded "
            "as genuine, with a fine of 20,000 yuan.",
        ),
    ],
)
async def test_closing_asks_once_more_before_it_ends_the_case_and_its_reward(
    bot: Bot, language: str, not_genuine: str, genuine: str
) -> None:
    enterprise_id = await enterprise_named(bot, "Golden Dragon Restaurant", credit_code(1))
    officer = await staff(bot, InviteSpec(Role.OFFICER, "fire"), language=language)
    contact = await staff(bot, InviteSpec(Role.ENTERPRISE, enterprise_id=enterprise_id))
    number = await report(bot.user(language="en"), anonymous=True)
    case = await accepted_and_ordered(
        bot, officer, number, enterprise_id, colour=Colour.ORANGE, days=15, level=Level.MAJOR
    )
    contact_account = await account(bot, contact)
    case = await plan_if_owed(bot, contact_account, case)
    await rectification.submit_fix(bot.services, contact_account, case.id, [], "Done.")
    await bot.drain()
    card = officer.last
    case = await case_by_id(bot, case.id)
    await officer.press(case_data("cls", case.id, case.version), message=card)
    await officer.press(case_data("cls", case.id, case.version, "g0"), message=card)
    assert not_genuine.format(number=number) in card.plain
    await officer.press(case_data("open", case.id, case.version), message=card)  # no, back
    assert not_genuine.format(number=number) not in card.plain
    await officer.press(case_data("cls", case.id, case.version), message=card)
    await officer.press(case_data("cls", case.id, case.version, "g1"), message=card)
    await officer.send("2万")
    sure = officer.last
    assert genuine.format(number=number) in sure.plain
    assert (await case_by_id(bot, case.id)).status is Status.FIX_SUBMITTED
    await officer.press(case_data("cls", case.id, case.version, "g1", "20000", "y"), message=sure)
    assert (await case_by_id(bot, case.id)).status is Status.CLOSED
    reward = await bot.db.read.rewards.for_case(case.id)
    assert reward is not None
    assert (reward.genuine, reward.fine, reward.amount_proposed) == (True, 20_000, 3_000)
    # A forged fine on a Yes button is refused.
    answers = len(officer.callback_answers)
    await officer.press_data(case_data("cls", case.id, case.version + 1, "g1", "9" * 15, "y"), sure)
    assert officer.callback_answers[answers]["text"] != ""
